//! Activation statistics for conversion, computed on the GPU: for every
//! threshold-ReLU, its pre-activation min/max (pass 1), then a fine histogram
//! over [min, max] (pass 2), the exact percentiles (counted by key in both
//! passes, `exact`), and the mean post-activation, overall and per channel (for
//! the bias correction). Only reductions and counts are read back, never whole
//! activations.

use super::exact::RankCounter;
use super::layer_stats::layer_stats;
pub use super::layer_stats::{percentile_from_hist, LayerStats};
use crate::data::Dataset;
use crate::dnn::DnnNet;
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Op, Tensor};
use crate::models::params::{neuron_biases, ParamKind};
use crate::nn::linear::bias_backward;
use crate::nn::reduce::{histogram, reduce_max, reduce_min, reduce_sum, Histogram};

/// Histogram resolution (the walkthrough's plot, K(mu) and h(T, mu); the percentiles are exact).
pub const BINS: usize = 16_384;

/// Per-layer GPU ops of the two passes, built once.
struct LayerOps {
    name: String,
    /// Index of the layer's mu among the net's parameters.
    mu_param: usize,
    min_max: Vec<Op>,
    sum_post: Vec<Op>,
    hist: Histogram,
    /// [min, max, post sum] written by the reductions.
    scalars: [Tensor; 3],
    counts: Tensor,
    /// Post-activation sums per channel [C] of one batch, and C's spatial extent.
    sum_channels: Op,
    channel_sums: Tensor,
    spatial: usize,
    ranks: RankCounter,
}

/// Calibration as resumable work: `2 x batches` steps (pass 1 gathers each
/// layer's range and post-activation sum, pass 2 its histogram over that range),
/// one batch per `step`, so a page can interleave it with its event loop. It
/// owns the inference net it runs; the dataset is passed to every step.
pub struct Calibrator {
    net: DnnNet,
    layers: Vec<LayerOps>,
    /// Pass 1's per-batch read-back: [min, max, post sum] of every layer, then every
    /// layer's channel sums, read in one map.
    gathered: Tensor,
    batches: usize,
    done: usize,
    /// (min, max, post sum) per layer over pass 1.
    range: Vec<(f32, f32, f64)>,
    /// Post-activation sums per layer and channel over pass 1.
    channel_acc: Vec<Vec<f64>>,
    /// Each histogram's top edge (max nudged up so that max lands in the last bin).
    tops: Vec<f32>,
    x: Vec<f32>,
}

impl Calibrator {
    /// Statistics of every threshold-ReLU of `net` over the first `batches` full batches of `ds`.
    pub fn new(gpu: &Gpu, net: DnnNet, ds: &Dataset, batches: usize) -> Result<Calibrator> {
        let batches = batches.min(ds.n / net.batch);
        if batches == 0 {
            return Err(Error::Data(format!(
                "calibration needs at least one full batch of {} images, the set has {}",
                net.batch, ds.n
            )));
        }
        let mut layers = Vec::new();
        let mus = net
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.spec.kind == ParamKind::Mu);
        let biases = neuron_biases(&net.cfg)?;
        for (((pre, post), (mu_param, mu)), bias) in net.pre_acts.iter().zip(&net.post_acts).zip(mus).zip(&biases) {
            let name = mu.spec.name.trim_end_matches(".mu").to_string();
            let channels = bias.as_ref().map_or(1, |b| b.1);
            layers.push(layer_ops(gpu, name, mu_param, pre, post, net.batch, channels)?);
        }
        let channels: usize = layers.iter().map(|l| l.channel_sums.len()).sum();
        let gathered = gpu.tensor("calib.gathered", &[3 * layers.len() + channels.max(1)])?;
        let x = vec![0.0; net.batch * net.image_len()];
        let range = vec![(f32::INFINITY, f32::NEG_INFINITY, 0f64); layers.len()];
        let channel_acc = layers.iter().map(|l| vec![0f64; l.channel_sums.len()]).collect();
        Ok(Calibrator {
            net,
            layers,
            gathered,
            batches,
            done: 0,
            range,
            channel_acc,
            tops: Vec::new(),
            x,
        })
    }

    /// Steps in all: one per batch and pass.
    pub fn total_steps(&self) -> usize {
        2 * self.batches
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    pub fn is_done(&self) -> bool {
        self.done >= self.total_steps()
    }

    /// Run the next batch of pass 1 or pass 2 (a no-op once done).
    pub async fn step(&mut self, gpu: &Gpu, ds: &Dataset) -> Result<()> {
        if self.is_done() {
            return Ok(());
        }
        let b = self.done % self.batches;
        self.forward_batch(gpu, ds, b)?;
        if self.done < self.batches {
            self.pass1_batch(gpu).await?;
        } else {
            if self.done == self.batches {
                self.set_hist_ranges(gpu)?;
                let high: Vec<&Tensor> = self.layers.iter().map(|l| l.ranks.high_counts()).collect();
                let high = gpu.read_many_u32(&high).await?;
                for (l, high) in self.layers.iter_mut().zip(&high) {
                    l.ranks.plan(gpu, high)?;
                }
            }
            let mut enc = Encoder::new(gpu, "calib.pass2");
            for l in &self.layers {
                enc.dispatch(&l.hist.op);
                enc.dispatch(l.ranks.op());
            }
            enc.submit(gpu)?;
        }
        self.done += 1;
        Ok(())
    }

    fn forward_batch(&mut self, gpu: &Gpu, ds: &Dataset, b: usize) -> Result<()> {
        let (n, img) = (self.net.batch, self.net.image_len());
        if (b + 1) * n > ds.n {
            return Err(Error::Data(format!(
                "calibration batch {b} is past the {} images of the set",
                ds.n
            )));
        }
        for i in 0..n {
            ds.normalized_into(b * n + i, &mut self.x[i * img..(i + 1) * img]);
        }
        self.net.forward(gpu, &self.x, n)
    }

    /// Range and post-activation sum of every layer on the batch just run: one submission, one map.
    async fn pass1_batch(&mut self, gpu: &Gpu) -> Result<()> {
        let mut enc = Encoder::new(gpu, "calib.pass1");
        let mut at = 3 * self.layers.len();
        for (l, ops) in self.layers.iter().enumerate() {
            for op in ops
                .min_max
                .iter()
                .chain(&ops.sum_post)
                .chain([&ops.sum_channels, ops.ranks.op()])
            {
                enc.dispatch(op);
            }
            for (k, t) in ops.scalars.iter().enumerate() {
                enc.copy_at(t.bind(), 0, self.gathered.bind(), (4 * (3 * l + k)) as u64, 4);
            }
            let c = ops.channel_sums.len();
            enc.copy_at(
                ops.channel_sums.bind(),
                0,
                self.gathered.bind(),
                (4 * at) as u64,
                (4 * c) as u64,
            );
            at += c;
        }
        enc.submit(gpu)?;
        let v = gpu.read(&self.gathered).await?;
        for (l, r) in self.range.iter_mut().enumerate() {
            let (mn, mx, sm) = (v[3 * l], v[3 * l + 1], v[3 * l + 2]);
            *r = (r.0.min(mn), r.1.max(mx), r.2 + sm as f64);
        }
        let mut at = 3 * self.layers.len();
        for acc in &mut self.channel_acc {
            for (a, &x) in acc.iter_mut().zip(&v[at..]) {
                *a += x as f64;
            }
            at += acc.len();
        }
        Ok(())
    }

    /// Between the passes: histogram each layer over [min, max] and clear the counts.
    fn set_hist_ranges(&mut self, gpu: &Gpu) -> Result<()> {
        self.tops.clear();
        for (ops, &(lo, hi, _)) in self.layers.iter().zip(&self.range) {
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::Diverged(format!(
                    "{}: pre-activations are not finite (min {lo}, max {hi})",
                    ops.name
                )));
            }
            let top = if hi > lo { hi + (hi - lo) * 1e-5 } else { lo + 1e-3 };
            ops.hist.set_range(gpu, lo, top)?;
            self.tops.push(top);
        }
        let mut enc = Encoder::new(gpu, "calib.clear");
        for ops in &self.layers {
            enc.clear(ops.counts.bind());
        }
        enc.submit(gpu)
    }

    /// Read the histograms and the mus and compute every layer's statistics.
    pub async fn finish(self, gpu: &Gpu) -> Result<Vec<LayerStats>> {
        if !self.is_done() {
            return Err(Error::Config(format!(
                "calibration finished after {} of {} steps",
                self.done,
                self.total_steps()
            )));
        }
        // Two maps in all (counts, then mus), not two per layer.
        let counts = gpu
            .read_many_u32(&self.layers.iter().map(|l| &l.counts).collect::<Vec<_>>())
            .await?;
        let mus = gpu
            .read_many(
                &self
                    .layers
                    .iter()
                    .map(|l| &self.net.params[l.mu_param].value)
                    .collect::<Vec<_>>(),
            )
            .await?;
        let low: Vec<&Tensor> = self.layers.iter().filter_map(|l| l.ranks.low_counts()).collect();
        let low = gpu.read_many_u32(&low).await?;
        let images = (self.batches * self.net.batch) as u64;
        let stats = self.layers.iter().zip(counts.iter().zip(&mus)).zip(&low).enumerate();
        stats
            .map(|(l, ((ops, (c, mu)), low))| {
                let per_channel = (images * ops.spatial as u64).max(1) as f64;
                let exact = ops
                    .ranks
                    .values(low)
                    .ok_or_else(|| Error::Config(format!("{}: the exact percentiles were never planned", ops.name)))?;
                Ok(LayerStats {
                    images,
                    channel_means: self.channel_acc[l].iter().map(|s| s / per_channel).collect(),
                    percentiles: exact[..99].to_vec(),
                    p99_9: exact[99],
                    p99_99: exact[100],
                    percentile_error: 0.0,
                    ..layer_stats(ops.name.clone(), mu[0], c, self.range[l], self.tops[l])
                })
            })
            .collect()
    }
}

fn layer_ops(
    gpu: &Gpu,
    name: String,
    mu_param: usize,
    pre: &Tensor,
    post: &Tensor,
    batch: usize,
    channels: usize,
) -> Result<LayerOps> {
    let scalars = [
        gpu.tensor("min", &[1])?,
        gpu.tensor("max", &[1])?,
        gpu.tensor("sum", &[1])?,
    ];
    let mut min_max = reduce_min(gpu, &format!("{name}.min"), pre.len(), pre, &scalars[0])?.ops;
    min_max.extend(reduce_max(gpu, &format!("{name}.max"), pre.len(), pre, &scalars[1])?.ops);
    let sum_post = reduce_sum(gpu, &format!("{name}.sum"), post.len(), post, &scalars[2])?.ops;
    let counts = gpu.tensor(&format!("{name}.hist"), &[BINS + 2])?;
    let hist = histogram(gpu, &format!("{name}.hist"), pre.len(), BINS, 0.0, 1.0, pre, &counts)?;
    let per_image = post.len() / batch.max(1);
    if channels == 0 || !per_image.is_multiple_of(channels) {
        return Err(Error::Config(format!(
            "{name}: {per_image} values per image do not split into {channels} channels"
        )));
    }
    let spatial = per_image / channels;
    let channel_sums = gpu.tensor(&format!("{name}.channel_sums"), &[channels])?;
    let sum_channels = bias_backward(
        gpu,
        &format!("{name}.channels"),
        batch,
        channels,
        spatial,
        post,
        &channel_sums,
    )?;
    let ranks = RankCounter::new(gpu, &name, pre)?;
    Ok(LayerOps {
        name,
        mu_param,
        min_max,
        sum_post,
        hist,
        scalars,
        counts,
        sum_channels,
        channel_sums,
        spatial,
        ranks,
    })
}

/// Run `batches` full batches of `ds` through `net` (no dropout) and gather
/// each threshold-ReLU's statistics, start to finish.
pub async fn calibrate(gpu: &Gpu, net: DnnNet, ds: &Dataset, batches: usize) -> Result<Vec<LayerStats>> {
    let mut c = Calibrator::new(gpu, net, ds, batches)?;
    while !c.is_done() {
        c.step(gpu, ds).await?;
    }
    c.finish(gpu).await
}
