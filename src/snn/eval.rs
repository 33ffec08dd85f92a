//! Evaluating an SNN over a dataset: accuracy, spikes and spiking activity per
//! layer, synaptic operations and energy against the DNN.

use serde::{Deserialize, Serialize};

use super::energy::{energy_report, EnergyModel, EnergyReport};
use super::net::SnnNet;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::Gpu;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerSpikes {
    pub name: String,
    pub neurons: usize,
    /// Spikes per image, over all T steps.
    pub spikes_per_image: f64,
    /// Spikes / (neurons x images), over all T (paper's spiking activity).
    pub activity: f64,
    /// Mean output per neuron and step: the SNN post-activation the DNN's clip approximates.
    pub mean_output: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SnnEvaluation {
    pub t: usize,
    pub images: usize,
    pub accuracy: f32,
    pub loss: f32,
    pub layers: Vec<LayerSpikes>,
    pub total_spikes_per_image: f64,
    pub energy: Option<EnergyReport>,
}

/// Run `ds` (all of it, in batches) through `net`; with `energy` also count
/// synaptic operations.
pub async fn evaluate_snn(gpu: &Gpu, net: &SnnNet, ds: &Dataset, energy: Option<EnergyModel>) -> Result<SnnEvaluation> {
    let img = net.image_len();
    let b = net.opts.batch;
    let (mut x, mut y) = (vec![0.0; b * img], vec![0u32; b]);
    net.reset_counters(gpu)?;
    let (loss, correct) = queued_batches(gpu, net, ds, &mut x, &mut y, energy.is_some()).await?;
    // Counts and (for energy) maps of every layer: one readback for the whole evaluation.
    let (counts, maps) = net.read_spikes(gpu, energy.is_some()).await?;
    let n = ds.n.max(1) as f64;
    let t = net.opts.t as f64;
    let layers: Vec<LayerSpikes> = net
        .neurons
        .iter()
        .zip(&counts)
        .map(|(nr, &c)| {
            let per_image = c as f64 / n;
            let height = (nr.params.beta * nr.params.vth * nr.cfg.out_scale) as f64;
            LayerSpikes {
                name: nr.name.clone(),
                neurons: nr.per_sample,
                spikes_per_image: per_image,
                activity: per_image / nr.per_sample as f64,
                mean_output: per_image * height / (nr.per_sample as f64 * t),
            }
        })
        .collect();
    let energy = energy.map(|m| energy_report(&net.synapses, &maps, ds.n as u64, net.opts.t, m));
    Ok(SnnEvaluation {
        t: net.opts.t,
        images: ds.n,
        accuracy: (correct / n) as f32,
        loss: (loss / n) as f32,
        total_spikes_per_image: layers.iter().map(|l| l.spikes_per_image).sum(),
        layers,
        energy,
    })
}

/// `build(b)` for the first batch `b <= max` (and <= `n_images`, no padding to
/// spare) that the device takes: halved while the net is over its buffer limits
/// (`Error::TooLarge`, e.g. a large T x batch).
pub fn shrink_until_fits<T>(max: usize, n_images: usize, mut build: impl FnMut(usize) -> Result<T>) -> Result<T> {
    let mut b = max.min(n_images).max(1);
    loop {
        match build(b) {
            Err(Error::TooLarge { .. }) if b > 1 => b /= 2,
            r => return r,
        }
    }
}

/// Loss and accuracy only (partial last batches allowed: padded rows are masked in the loss).
pub async fn evaluate_accuracy(
    gpu: &Gpu,
    net: &SnnNet,
    ds: &Dataset,
    x: &mut [f32],
    y: &mut [u32],
) -> Result<crate::spec::Evaluation> {
    let (loss, correct) = queued_batches(gpu, net, ds, x, y, false).await?;
    let n = ds.n.max(1) as f64;
    Ok(crate::spec::Evaluation {
        loss: (loss / n) as f32,
        accuracy: (correct / n) as f32,
        images: ds.n,
    })
}

/// Inference over all of `ds` in batches, queued (`SnnNet::queue_eval_step`) and read every
/// `LOG_SLOTS` batches; the summed loss and correct count, added in batch order in f64 as when
/// each batch was read on its own.
async fn queued_batches(
    gpu: &Gpu,
    net: &SnnNet,
    ds: &Dataset,
    x: &mut [f32],
    y: &mut [u32],
    count_ops: bool,
) -> Result<(f64, f64)> {
    let img = net.image_len();
    let b = net.opts.batch;
    let (mut loss, mut correct) = (0f64, 0f64);
    let mut add = |steps: Vec<crate::spec::StepStats>| {
        for s in steps {
            loss += s.loss_sum as f64;
            correct += s.correct as f64;
        }
    };
    add(net.drain_eval(gpu).await?);
    let mut start = 0;
    while start < ds.n {
        let valid = b.min(ds.n - start);
        for i in 0..valid {
            ds.normalized_into(start + i, &mut x[i * img..(i + 1) * img]);
            y[i] = ds.labels[start + i] as u32;
        }
        if net.eval_log_full() {
            add(net.drain_eval(gpu).await?);
        }
        net.queue_eval_step(gpu, x, y, valid, count_ops)?;
        start += valid;
    }
    add(net.drain_eval(gpu).await?);
    Ok((loss, correct))
}
