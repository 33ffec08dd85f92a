//! Activation statistics for conversion, computed on the GPU: for every
//! threshold-ReLU, its pre-activation min/max (pass 1), then a fine histogram
//! over [min, max] (pass 2), and the mean post-activation. Only the
//! reductions and the histograms are read back, never whole activations.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Op, Tensor};
use crate::dnn::DnnNet;
use crate::models::params::ParamKind;
use crate::nn::reduce::{histogram, reduce_max, reduce_min, reduce_sum, Histogram};

/// Histogram resolution: percentiles are exact to within (max - min) / BINS.
pub const BINS: usize = 16_384;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    pub name: String,
    /// The trained threshold-ReLU ceiling.
    pub mu: f32,
    /// Pre-activation values seen.
    pub count: u64,
    pub min: f32,
    pub max: f32,
    /// Histogram over [min, hist_top) (`BINS` bins); hist_top is max nudged up
    /// so that the max lands in the last bin.
    pub hist: Vec<u32>,
    pub hist_top: f32,
    /// Percentiles q = 1..=99 (index q-1) of the pre-activation, before the clip.
    pub percentiles: Vec<f64>,
    pub p99_9: f64,
    pub p99_99: f64,
    /// Upper bound of every percentile's error (one bin width).
    pub percentile_error: f64,
    /// Mean DNN post-activation clip(x, 0, mu).
    pub mean_post: f64,
}

impl LayerStats {
    fn bin_width(&self) -> f64 {
        (self.hist_top as f64 - self.min as f64) / BINS as f64
    }

    /// (bin centre, count) pairs, for K(mu), h(T, mu) and plots.
    pub fn weighted_values(&self) -> Vec<(f64, f64)> {
        let w = self.bin_width();
        self.hist.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (self.min as f64 + (i as f64 + 0.5) * w, c as f64)).collect()
    }

    /// The k-th smallest value (1-based) with k = 1 + round_half_even(q/100 * (n-1)),
    /// linearly interpolated inside its histogram bin.
    pub fn percentile(&self, q: f64) -> f64 {
        percentile_from_hist(&self.hist, self.min as f64, self.hist_top as f64, self.count, q)
    }
}

pub fn percentile_from_hist(hist: &[u32], lo: f64, hi: f64, count: u64, q: f64) -> f64 {
    if count == 0 || hist.is_empty() {
        return lo;
    }
    let k = 1 + ((q / 100.0) * (count - 1) as f64).round_ties_even() as u64;
    let w = (hi - lo) / hist.len() as f64;
    let mut cum = 0u64;
    for (i, &c) in hist.iter().enumerate() {
        if c > 0 && cum + c as u64 >= k {
            let frac = ((k - cum) as f64 - 0.5) / c as f64;
            return lo + (i as f64 + frac) * w;
        }
        cum += c as u64;
    }
    hi
}

/// Per-layer GPU ops of the two passes, built once.
struct LayerOps {
    min_max: Vec<Op>,
    sum_post: Vec<Op>,
    hist: Histogram,
    lo_hi_sum: Tensor, // [min, max, post sum] written by the reductions
    counts: Tensor,
}

/// Run `batches` full batches of `ds` through `net` (no dropout) and gather
/// each threshold-ReLU's statistics.
pub async fn calibrate(gpu: &Gpu, net: &DnnNet, ds: &Dataset, batches: usize) -> Result<Vec<LayerStats>> {
    let batches = batches.min(ds.n / net.batch);
    if batches == 0 {
        return Err(Error::Data(format!("calibration needs at least one full batch of {} images, the set has {}", net.batch, ds.n)));
    }
    let mut layers = Vec::new();
    let mus = net.params.iter().filter(|p| p.spec.kind == ParamKind::Mu);
    for ((pre, post), mu) in net.pre_acts.iter().zip(&net.post_acts).zip(mus) {
        let name = mu.spec.name.trim_end_matches(".mu").to_string();
        let out = gpu.tensor(&format!("{name}.calib"), &[3])?;
        let (mn, mx, sm) = (gpu.tensor("min", &[1])?, gpu.tensor("max", &[1])?, gpu.tensor("sum", &[1])?);
        let mut min_max = reduce_min(gpu, &format!("{name}.min"), pre.len(), pre, &mn)?.ops;
        min_max.extend(reduce_max(gpu, &format!("{name}.max"), pre.len(), pre, &mx)?.ops);
        let sum_post = reduce_sum(gpu, &format!("{name}.sum"), post.len(), post, &sm)?.ops;
        let counts = gpu.tensor(&format!("{name}.hist"), &[BINS + 2])?;
        let hist = histogram(gpu, &format!("{name}.hist"), pre.len(), BINS, 0.0, 1.0, pre, &counts)?;
        layers.push((name, mu, LayerOps { min_max, sum_post, hist, lo_hi_sum: out, counts }, [mn, mx, sm]));
    }
    let img = net.image_len();
    let mut x = vec![0.0; net.batch * img];
    let load = |b: usize, x: &mut [f32]| -> Result<()> {
        for i in 0..net.batch {
            ds.normalized_into(b * net.batch + i, &mut x[i * img..(i + 1) * img]);
        }
        net.forward(gpu, x, net.batch)
    };
    // Pass 1: range and post-activation mean.
    let mut range = vec![(f32::INFINITY, f32::NEG_INFINITY, 0f64); layers.len()];
    for b in 0..batches {
        load(b, &mut x)?;
        let mut enc = Encoder::new(gpu, "calib.pass1");
        for (_, _, ops, [mn, mx, sm]) in &layers {
            for op in ops.min_max.iter().chain(&ops.sum_post) {
                enc.dispatch(op);
            }
            enc.copy_at(&mn.buffer, 0, &ops.lo_hi_sum.buffer, 0, 4);
            enc.copy_at(&mx.buffer, 0, &ops.lo_hi_sum.buffer, 4, 4);
            enc.copy_at(&sm.buffer, 0, &ops.lo_hi_sum.buffer, 8, 4);
        }
        enc.submit(gpu)?;
        for (l, (_, _, ops, _)) in layers.iter().enumerate() {
            let v = gpu.read(&ops.lo_hi_sum).await?;
            range[l] = (range[l].0.min(v[0]), range[l].1.max(v[1]), range[l].2 + v[2] as f64);
        }
    }
    // Pass 2: histograms over [min, max] (the top edge nudged so max lands in the last bin).
    let mut tops = Vec::with_capacity(layers.len());
    for (l, (name, _, ops, _)) in layers.iter().enumerate() {
        let (lo, hi) = (range[l].0, range[l].1);
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(Error::Diverged(format!("{name}: pre-activations are not finite (min {lo}, max {hi})")));
        }
        let top = if hi > lo { hi + (hi - lo) * 1e-5 } else { lo + 1e-3 };
        ops.hist.set_range(gpu, lo, top)?;
        tops.push(top);
    }
    let mut enc = Encoder::new(gpu, "calib.clear");
    for (_, _, ops, _) in &layers {
        enc.clear(&ops.counts.buffer);
    }
    enc.submit(gpu)?;
    for b in 0..batches {
        load(b, &mut x)?;
        let mut enc = Encoder::new(gpu, "calib.pass2");
        for (_, _, ops, _) in &layers {
            enc.dispatch(&ops.hist.op);
        }
        enc.submit(gpu)?;
    }
    let mut out = Vec::with_capacity(layers.len());
    for (l, (name, mu, ops, _)) in layers.iter().enumerate() {
        let counts = gpu.read_u32(&ops.counts).await?;
        let mu_v = gpu.read(&mu.value).await?[0];
        // counts = [under, bins..., over]; under/over are empty by construction
        let mut hist = counts[1..=BINS].to_vec();
        hist[0] += counts[0];
        hist[BINS - 1] += counts[BINS + 1];
        let count: u64 = hist.iter().map(|&c| c as u64).sum();
        let (lo, hi) = (range[l].0 as f64, tops[l] as f64);
        let pct = |q: f64| percentile_from_hist(&hist, lo, hi, count, q);
        out.push(LayerStats {
            name: name.clone(),
            mu: mu_v,
            count,
            min: range[l].0,
            max: range[l].1,
            percentiles: (1..=99).map(|q| pct(q as f64)).collect(),
            p99_9: pct(99.9),
            p99_99: pct(99.99),
            percentile_error: (hi - lo) / BINS as f64,
            mean_post: range[l].2 / count.max(1) as f64,
            hist,
            hist_top: tops[l],
        });
    }
    Ok(out)
}
