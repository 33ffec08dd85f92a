//! Folding the spike height into the next layer's weights (paper section 2):
//! an IF emitting `beta*vth` into `W` acts as one emitting 1 into
//! `W * beta*vth`, so hardware only accumulates. Pooling, flatten and dropout
//! in between commute with a positive scale; the bias is not scaled (it is
//! added once per step, not per spike). A residual block's identity shortcut
//! has no weights to absorb the scale, so block models are refused.

use super::snn_param_specs;
use crate::error::{Error, Result};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::shape_err;
use crate::spec::NeuronParams;

/// `(params', neurons')` with every IF's `beta' = 1/vth` (emitted height 1,
/// times the global `out_scale`, which folding leaves alone) and each
/// following conv/linear weight multiplied by the original `beta*vth`.
/// `params` are in `snn_param_specs(cfg)` order; `vth` is read from them.
pub fn fold_spike_heights(
    cfg: &ModelConfig,
    params: &[Vec<f32>],
    neurons: &[NeuronParams],
) -> Result<(Vec<Vec<f32>>, Vec<NeuronParams>)> {
    let specs = snn_param_specs(cfg)?;
    if params.len() != specs.len() {
        return Err(shape_err!(
            "fold: {} parameter vectors for {} SNN parameters",
            params.len(),
            specs.len()
        ));
    }
    let mut out = params.to_vec();
    let mut folded = neurons.to_vec();
    let (mut pi, mut ni) = (0, 0);
    // Height of the last IF, waiting for the next synaptic layer.
    let mut pending: Option<f32> = None;
    for (i, layer) in cfg.layers.iter().enumerate() {
        match layer {
            LayerSpec::Conv { .. } | LayerSpec::Linear { .. } => {
                if let Some(h) = pending.take() {
                    out[pi].iter_mut().for_each(|w| *w *= h);
                }
                pi += 2;
            }
            LayerSpec::Act { .. } => {
                if pending.is_some() {
                    return Err(Error::Config(format!(
                        "fold: layer {i}: an IF fed directly by an IF has no weights to absorb the spike height"
                    )));
                }
                let np = folded.get_mut(ni).ok_or_else(|| {
                    Error::Config(format!(
                        "fold: {} neuron settings for more spiking layers",
                        neurons.len()
                    ))
                })?;
                let vth = params[pi][0];
                let h = np.beta * vth;
                if !(vth > 0.0 && h > 0.0 && h.is_finite()) {
                    return Err(Error::Config(format!(
                        "fold: layer {i}: spike height {h} (vth {vth}) must be positive to commute with pooling"
                    )));
                }
                np.beta = 1.0 / vth;
                pending = Some(h);
                pi += 2;
                ni += 1;
            }
            LayerSpec::Block { .. } => {
                return Err(Error::Config(format!(
                    "fold: layer {i}: a residual block's identity shortcut cannot absorb a spike height"
                )));
            }
            LayerSpec::Dropout { .. } | LayerSpec::MaxPool { .. } | LayerSpec::AvgPool { .. } | LayerSpec::Flatten => {}
        }
    }
    if ni != neurons.len() {
        return Err(Error::Config(format!(
            "fold: {} neuron settings for {ni} spiking layers",
            neurons.len()
        )));
    }
    Ok((out, folded))
}
