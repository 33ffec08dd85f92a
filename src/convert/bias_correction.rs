//! Bias correction after a conversion (in the spirit of Li et al., ICML 2021):
//! layer by layer, the SNN's mean output per channel (its spike heights summed
//! over T, over the calibration images and the channel's positions, / T) is
//! matched to the DNN's mean post-activation of that channel by adding the gap to
//! the bias that feeds the layer. Layers are corrected in order, each measured with
//! the corrections before it in place, because a correction changes what every
//! later layer receives. The output does not follow the bias one for one (the
//! staircase's slope is below 1 where few inputs sit near a step, 0 where they are
//! clipped), so each layer gets `ROUNDS` measure-and-add rounds: a fixed-point
//! iteration whose gap shrinks by (1 - slope) per round. The per-channel sums run on the GPU (`bias_backward`'s
//! reduction over rows and positions); only C numbers per batch are read back.

use serde::Serialize;

use super::stats::LayerStats;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Op, Tensor};
use crate::models::params::neuron_biases;
use crate::nn::linear::bias_backward;
use crate::snn::SnnNet;

/// Measure-and-add rounds per layer (one pass over the calibration images each).
pub const ROUNDS: usize = 3;

/// What the correction did to one spiking layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BiasCorrection {
    pub name: String,
    /// The bias that moved (None: the layer has no bias in front of it and is left as it is).
    pub bias: Option<String>,
    /// Mean |DNN - SNN| per channel before the correction, and the largest gap.
    pub mean_abs_gap: f64,
    pub max_abs_gap: f64,
    /// Mean |gap| measured in the last round (before its own addition).
    pub last_round_gap: f64,
}

/// Correct `snn`'s biases in place so that each spiking layer's per-channel mean
/// output matches the DNN's `stats[l].channel_means`, on the first `stats[l].images`
/// training images of `ds` (those the calibration saw; whole batches of the net).
pub async fn correct_biases(
    gpu: &Gpu,
    snn: &SnnNet,
    stats: &[LayerStats],
    ds: &Dataset,
) -> Result<Vec<BiasCorrection>> {
    let biases = neuron_biases(&snn.cfg)?;
    if biases.len() != snn.neurons.len() || stats.len() != snn.neurons.len() {
        return Err(Error::Config(format!(
            "bias correction: {} spiking layers, {} calibrated, {} biases found",
            snn.neurons.len(),
            stats.len(),
            biases.len()
        )));
    }
    if let Some(old) = stats.iter().find(|s| s.images == 0 || s.channel_means.is_empty()) {
        return Err(Error::Config(format!(
            "{}: the calibration has no per-channel DNN means (it predates bias correction): calibrate again",
            old.name
        )));
    }
    let batch = snn.opts.batch;
    let images = (stats.first().map_or(0, |s| s.images) as usize).min(ds.n);
    let batches = images / batch;
    if batches == 0 {
        return Err(Error::Config(format!(
            "bias correction needs the calibration's images ({images}) to fill one batch of {batch}: calibrate again"
        )));
    }
    let mut report = Vec::with_capacity(biases.len());
    for (l, bias) in biases.iter().enumerate() {
        let name = snn.neurons[l].name.clone();
        let Some((bias, channels)) = bias else {
            report.push(BiasCorrection {
                name,
                bias: None,
                mean_abs_gap: 0.0,
                max_abs_gap: 0.0,
                last_round_gap: 0.0,
            });
            continue;
        };
        let want = &stats[l].channel_means;
        if want.len() != *channels {
            return Err(Error::Config(format!(
                "{name}: the calibration has {} channel means, the bias `{bias}` {channels}: calibrate again",
                want.len()
            )));
        }
        let mean_abs = |gap: &[f64]| gap.iter().map(|g| g.abs()).sum::<f64>() / gap.len().max(1) as f64;
        // Built and read once per layer; the rounds only dispatch, read C sums and write the bias.
        let meter = ChannelMeter::new(gpu, snn, l, *channels)?;
        let (param, mut values) = bias_values(gpu, snn, bias).await?;
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..ROUNDS {
            let got = meter.means(gpu, snn, ds, batches).await?;
            let gap: Vec<f64> = want.iter().zip(&got).map(|(w, g)| w - g).collect();
            first.get_or_insert((mean_abs(&gap), gap.iter().fold(0.0f64, |m, g| m.max(g.abs()))));
            last = mean_abs(&gap);
            for (v, g) in values.iter_mut().zip(&gap) {
                *v += *g as f32;
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(Error::Diverged(format!("bias correction made `{bias}` non-finite")));
            }
            gpu.write(param, &values)?;
        }
        let (mean_abs_gap, max_abs_gap) = first.unwrap_or_default();
        report.push(BiasCorrection {
            name,
            bias: Some(bias.clone()),
            mean_abs_gap,
            max_abs_gap,
            last_round_gap: last,
        });
    }
    Ok(report)
}

/// The per-channel sum of one spiking layer's outputs (its op and result, built once).
struct ChannelMeter {
    op: Op,
    sums: Tensor,
    /// Values averaged per channel in one batch: T x batch x positions.
    per_batch: usize,
}

impl ChannelMeter {
    fn new(gpu: &Gpu, snn: &SnnNet, l: usize, channels: usize) -> Result<ChannelMeter> {
        let (batch, t) = (snn.opts.batch, snn.opts.t);
        let neuron = &snn.neurons[l];
        if channels == 0 || !neuron.per_sample.is_multiple_of(channels) {
            return Err(Error::Config(format!(
                "{}: {} outputs per image do not split into {channels} channels",
                neuron.name, neuron.per_sample
            )));
        }
        let spatial = neuron.per_sample / channels;
        let sums = gpu.tensor(&format!("{}.channel_sums", neuron.name), &[channels])?;
        let op = bias_backward(gpu, &neuron.name, t * batch, channels, spatial, &neuron.out, &sums)?;
        Ok(ChannelMeter {
            op,
            sums,
            per_batch: t * batch * spatial,
        })
    }

    /// The layer's mean output per channel over the first `batches` batches of `ds`.
    async fn means(&self, gpu: &Gpu, snn: &SnnNet, ds: &Dataset, batches: usize) -> Result<Vec<f64>> {
        let batch = snn.opts.batch;
        let img = ds.image_len();
        let (mut x, labels) = (vec![0.0; batch * img], vec![0u32; batch]);
        let mut acc = vec![0f64; self.sums.len()];
        for b in 0..batches {
            for i in 0..batch {
                ds.normalized_into(b * batch + i, &mut x[i * img..(i + 1) * img]);
            }
            snn.eval_step(gpu, &x, &labels, batch, false).await?;
            let mut enc = Encoder::new(gpu, "bias_correction.sums");
            enc.dispatch(&self.op);
            enc.submit(gpu)?;
            for (a, v) in acc.iter_mut().zip(gpu.read(&self.sums).await?) {
                *a += v as f64;
            }
        }
        let n = (batches * self.per_batch) as f64;
        Ok(acc.into_iter().map(|s| s / n).collect())
    }
}

/// The SNN's parameter named `name` and its current values.
async fn bias_values<'a>(gpu: &Gpu, snn: &'a SnnNet, name: &str) -> Result<(&'a Tensor, Vec<f32>)> {
    let param = &snn
        .params
        .iter()
        .find(|p| p.spec.name == name)
        .ok_or_else(|| Error::Config(format!("bias correction: the SNN has no parameter `{name}`")))?
        .value;
    Ok((param, gpu.read(param).await?))
}
