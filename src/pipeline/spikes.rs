//! The spike view of one image: every spiking layer's spike maps per time step
//! (channel x height x width, as the page draws them as tiles), one channel's
//! membrane potential per step, and the output scores as they accumulate over
//! T. The image is a test image or the user's own pixels (the page's drawing
//! pad), normalized as the test set is.
//!
//! One inference of batch 1 on the GPU, then one read-back of every layer's
//! outputs and input currents. The membrane potential is not kept by the
//! inference kernels (only BPTT needs it), so it is recomputed here for the one
//! channel asked for with the CPU twin of the IF kernel from the GPU's input
//! currents and the layer's own threshold and leak: the same arithmetic, on a
//! few hundred neurons.

use serde::Serialize;

use super::{no_data, no_snn, Pipeline};
use crate::cpu::spiking::if_forward;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::models::check_dataset;
use crate::models::config::{LayerSpec, ModelConfig};
use crate::snn::ckpt::snn_from_checkpoint;
use crate::snn::{SnnNet, SnnOptions};
use crate::spec::IfConfig;

/// Which image to show.
pub enum SpikeInput<'a> {
    Test(usize),
    /// u8 pixels, channel-major [C, H, W] of the test set's image size.
    Pixels(&'a [u8]),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpikeMaps {
    /// The test image's label (None for drawn pixels).
    pub label: Option<u32>,
    pub predicted: usize,
    pub t: usize,
    /// Output scores summed over steps 1..=t, per t: [T][classes].
    pub scores: Vec<Vec<f32>>,
    pub channel: usize,
    pub layers: Vec<SpikeLayer>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpikeLayer {
    pub name: String,
    /// [C, H, W] of a conv layer, [N] of a linear one.
    pub shape: Vec<usize>,
    /// 1 where a neuron spiked: [T, per_sample], t-major.
    pub spikes: Vec<u8>,
    /// The membrane potential of channel `min(channel, C-1)` before the reset,
    /// [T, H*W] (one value per step for a linear layer's neuron `channel`).
    pub membrane: Vec<f32>,
    /// The same channel's input current per step: what each step adds to the leaked membrane
    /// (the synaptic input, plus the method's shift), [T, H*W].
    pub current: Vec<f32>,
    /// The same channel's membrane after the reset (what the next step starts from), [T, H*W].
    pub after_reset: Vec<f32>,
    /// The membrane before the first step (0 or V_th/2, by the conversion's start).
    pub start: f32,
    pub vth: f32,
    pub leak: f32,
}

impl Pipeline {
    /// The spike maps of `input` through the current SNN at its own T.
    pub async fn spike_maps(&self, input: SpikeInput<'_>, channel: usize) -> Result<SpikeMaps> {
        let (net, ds) = self.single_image_snn()?;
        let t = net.opts.t;
        let mut x = vec![0.0; net.image_len()];
        let label = match input {
            SpikeInput::Test(i) => Some(load_test_image(ds, i, &mut x)?),
            SpikeInput::Pixels(px) if px.len() == ds.image_len() => {
                ds.norm.apply(px, ds.c, &mut x);
                None
            }
            SpikeInput::Pixels(px) => {
                return Err(Error::Config(format!(
                    "{} pixels given, the test images have {} ({}x{}x{})",
                    px.len(),
                    ds.image_len(),
                    ds.c,
                    ds.h,
                    ds.w
                )))
            }
        };
        net.eval_step(&self.gpu, &x, &[label.unwrap_or(0)], 1, false).await?;
        let (layers, output) = read_layers(self, &net, channel).await?;
        let scores = cumulative_scores(&output, t, net.cfg.classes);
        let last = scores.last().cloned().unwrap_or_default();
        let predicted = super::argmax(&last);
        Ok(SpikeMaps {
            label,
            predicted,
            t,
            scores,
            channel,
            layers,
        })
    }
}

impl Pipeline {
    /// The current SNN built for one image at its own T, with the test set it reads (shapes checked).
    pub(super) fn single_image_snn(&self) -> Result<(SnnNet, &Dataset)> {
        let saved = &self.snn.as_ref().ok_or_else(no_snn)?.saved;
        let ds = &self.data.as_ref().ok_or_else(no_data)?.test;
        check_dataset(&saved.meta.model, ds)?;
        let opts = SnnOptions::inference(1, saved.meta.timesteps);
        Ok((snn_from_checkpoint(&self.gpu, &saved.ck, opts)?.0, ds))
    }
}

/// Test image `i`, normalized into `x`; its label.
pub(super) fn load_test_image(ds: &Dataset, i: usize, x: &mut [f32]) -> Result<u32> {
    if i >= ds.n {
        return Err(Error::InvalidOption(format!(
            "test image {i} out of range (0..{})",
            ds.n
        )));
    }
    ds.normalized_into(i, x);
    Ok(ds.labels[i] as u32)
}

/// Every spiking layer's spikes and one channel's membrane, in one read-back.
/// Also returns the readout (the last layer's outputs per step) [T, classes].
async fn read_layers(p: &Pipeline, net: &SnnNet, channel: usize) -> Result<(Vec<SpikeLayer>, Vec<f32>)> {
    let t = net.opts.t;
    let mut tensors = Vec::new();
    for nr in &net.neurons {
        tensors.extend([
            &nr.out,
            &nr.input,
            &net.params[nr.vth].value,
            &net.params[nr.leak].value,
        ]);
    }
    tensors.push(&net.readout);
    let mut data = p.gpu.read_many(&tensors).await?;
    let output = data.pop().unwrap_or_default();
    let shapes = neuron_shapes(&net.cfg, net.neurons.len())?;
    let mut layers = Vec::new();
    for ((nr, d), shape) in net.neurons.iter().zip(data.chunks(4)).zip(shapes) {
        let [out, input, vth, leak] = d else {
            return Err(Error::Config("spike maps: a layer's read-back is incomplete".into()));
        };
        let per = nr.per_sample;
        let shape = if shape.iter().product::<usize>() == per {
            shape
        } else {
            vec![per]
        };
        let (vth, leak) = (
            vth.first().copied().unwrap_or(1.0),
            leak.first().copied().unwrap_or(1.0),
        );
        let trace = channel_trace(input, &shape, t, channel, &nr.cfg, (vth, leak));
        layers.push(SpikeLayer {
            name: nr.name.clone(),
            spikes: out.iter().take(t * per).map(|v| u8::from(*v != 0.0)).collect(),
            membrane: trace.before,
            current: trace.current,
            after_reset: trace.after,
            start: nr.cfg.init * vth,
            shape,
            vth,
            leak,
        });
    }
    Ok((layers, output))
}

/// One channel's neurons step by step: the current each step adds, the membrane before and after
/// the reset, [T, n] each (from the CPU twin of if_forward, so the page repeats no neuron rule).
struct ChannelTrace {
    current: Vec<f32>,
    before: Vec<f32>,
    after: Vec<f32>,
}

fn channel_trace(
    input: &[f32],
    shape: &[usize],
    t: usize,
    channel: usize,
    cfg: &IfConfig,
    (vth, leak): (f32, f32),
) -> ChannelTrace {
    let per: usize = shape.iter().product();
    let (first, n) = match shape {
        [c, h, w] => (channel.min(c.saturating_sub(1)) * h * w, h * w),
        _ => (channel.min(per.saturating_sub(1)), 1),
    };
    let steps = if input.len() >= t * per { t } else { 1 }; // a constant current is one step reused
    let current: Vec<f32> = (0..steps)
        .flat_map(|s| input[s * per + first..s * per + first + n].iter().copied())
        .collect();
    let cfg = IfConfig {
        save_trace: true,
        ..*cfg
    };
    let f = if_forward(t, n, &cfg, &current, vth, leak);
    // Per step, as the neuron adds it (a constant current repeats; the shift is part of it).
    let current = (0..t)
        .flat_map(|s| {
            current[(s % steps) * n..(s % steps) * n + n]
                .iter()
                .map(|&c| c + cfg.shift)
        })
        .collect();
    ChannelTrace {
        current,
        before: f.u_trace,
        after: f.u_after,
    }
}

/// The readout summed over steps 1..=t, for every t (the last is the logits).
fn cumulative_scores(output: &[f32], t: usize, classes: usize) -> Vec<Vec<f32>> {
    let mut acc = vec![0.0f32; classes];
    (0..t)
        .map(|s| {
            for (c, a) in acc.iter_mut().enumerate() {
                *a += output.get(s * classes + c).copied().unwrap_or(0.0);
            }
            acc.clone()
        })
        .collect()
}

/// [C, H, W] after every threshold-ReLU, then [classes] for the output neuron.
fn neuron_shapes(cfg: &ModelConfig, neurons: usize) -> Result<Vec<Vec<usize>>> {
    let mut shapes: Vec<Vec<usize>> = cfg
        .layers
        .iter()
        .zip(cfg.shapes()?)
        .filter(|(l, _)| matches!(l, LayerSpec::Act { .. }))
        .map(|(_, s)| s)
        .collect();
    shapes.push(vec![cfg.classes]);
    shapes.resize(neurons, Vec::new());
    Ok(shapes)
}
