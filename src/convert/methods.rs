//! Conversion methods: each maps a layer's statistics to the IF neuron's
//! threshold `vth`, spike height `beta*vth` and input shift; the recipe adds
//! where the membrane starts.

use super::algorithm1::{find_scaling_and_threshold, LossKind};
use super::stats::LayerStats;
use crate::error::{Error, Result};

pub use crate::spec::neuron::{ConversionMethod, NeuronParams};
pub use crate::spec::recipe::{InitialMembrane, Recipe};

/// Neuron constants for every layer, for `t` time steps (`recipe`: a method, or a
/// method with its options).
pub fn convert(recipe: impl Into<Recipe>, stats: &[LayerStats], t: usize) -> Result<Vec<NeuronParams>> {
    if t == 0 {
        return Err(Error::InvalidOption("time steps T must be >= 1".into()));
    }
    let recipe = recipe.into();
    stats
        .iter()
        .map(|s| {
            Ok(NeuronParams {
                init: recipe.init.fraction(),
                ..layer(recipe.method, s, t)?
            })
        })
        .collect()
}

fn layer(method: ConversionMethod, s: &LayerStats, t: usize) -> Result<NeuronParams> {
    let mu = s.mu;
    let base = NeuronParams {
        vth: mu,
        beta: 1.0,
        shift: 0.0,
        alpha: 1.0,
        leak: 1.0,
        mu,
        init: 0.0,
    };
    let p = match method {
        ConversionMethod::AlphaBeta | ConversionMethod::AlphaBetaMse => {
            let kind = if method == ConversionMethod::AlphaBeta {
                LossKind::Signed
            } else {
                LossKind::Squared
            };
            // The threshold is the chosen percentile itself (an f32 value), not alpha*mu rebuilt.
            let (sc, v) = find_scaling_and_threshold(&s.percentiles, mu as f64, t, kind);
            NeuronParams {
                vth: v as f32,
                beta: sc.beta as f32,
                alpha: sc.alpha as f32,
                ..base
            }
        }
        ConversionMethod::MaxNorm => NeuronParams {
            vth: s.max,
            alpha: s.max / mu,
            ..base
        },
        ConversionMethod::Percentile => NeuronParams {
            vth: s.p99_9 as f32,
            alpha: s.p99_9 as f32 / mu,
            ..base
        },
        ConversionMethod::Deng => NeuronParams {
            shift: mu / (2 * t) as f32,
            ..base
        },
        // The DNN's levels are mu / L: V_th = mu; the half start is the recipe's default.
        ConversionMethod::Qcfs => base,
    };
    if !(p.vth > 0.0 && p.vth.is_finite()) {
        return Err(Error::Config(format!(
            "{}: {method} gives threshold {} (the layer never activates on the calibration data?)",
            s.name, p.vth
        )));
    }
    Ok(p)
}
