//! Conversion methods: each maps a layer's statistics to the IF neuron's
//! threshold `vth`, spike height `beta*vth` and input shift.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::algorithm1::{find_scaling_factors, LossKind};
use super::stats::LayerStats;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConversionMethod {
    /// Algorithm 1 exactly as in the paper (signed loss, |loss| compared).
    AlphaBeta,
    /// Our variant: Algorithm 1's search minimizing the squared error.
    AlphaBetaMse,
    /// V_th = the largest pre-activation on the calibration data, beta 1.
    MaxNorm,
    /// V_th = the 99.9th percentile of the pre-activations, beta 1.
    Percentile,
    /// Deng et al. 2021: V_th = mu, beta 1, input shifted by V_th / 2T.
    Deng,
}

impl ConversionMethod {
    pub const ALL: [ConversionMethod; 5] = [Self::AlphaBeta, Self::AlphaBetaMse, Self::MaxNorm, Self::Percentile, Self::Deng];

    pub fn name(self) -> &'static str {
        match self {
            Self::AlphaBeta => "alpha-beta",
            Self::AlphaBetaMse => "alpha-beta-mse",
            Self::MaxNorm => "max-norm",
            Self::Percentile => "percentile",
            Self::Deng => "deng",
        }
    }
}

impl fmt::Display for ConversionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConversionMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            Error::Config(format!("unknown conversion method `{s}` (alpha-beta, alpha-beta-mse, max-norm, percentile, deng)"))
        })
    }
}

/// One spiking layer's neuron constants (one per threshold-ReLU of the DNN).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronParams {
    pub vth: f32,
    pub beta: f32,
    /// Added to the input current at every step (Deng et al.'s bias shift).
    pub shift: f32,
    pub alpha: f32,
    pub leak: f32,
    /// The DNN's mu (for reference).
    pub mu: f32,
}

/// Neuron constants for every layer, for `t` time steps.
pub fn convert(method: ConversionMethod, stats: &[LayerStats], t: usize) -> Result<Vec<NeuronParams>> {
    if t == 0 {
        return Err(Error::Config("time steps T must be >= 1".into()));
    }
    stats.iter().map(|s| layer(method, s, t)).collect()
}

fn layer(method: ConversionMethod, s: &LayerStats, t: usize) -> Result<NeuronParams> {
    let mu = s.mu;
    let base = NeuronParams { vth: mu, beta: 1.0, shift: 0.0, alpha: 1.0, leak: 1.0, mu };
    let p = match method {
        ConversionMethod::AlphaBeta | ConversionMethod::AlphaBetaMse => {
            let kind = if method == ConversionMethod::AlphaBeta { LossKind::Signed } else { LossKind::Squared };
            let sc = find_scaling_factors(&s.percentiles, mu as f64, t, kind);
            NeuronParams { vth: (sc.alpha * mu as f64) as f32, beta: sc.beta as f32, alpha: sc.alpha as f32, ..base }
        }
        ConversionMethod::MaxNorm => NeuronParams { vth: s.max, alpha: s.max / mu, ..base },
        ConversionMethod::Percentile => NeuronParams { vth: s.p99_9 as f32, alpha: s.p99_9 as f32 / mu, ..base },
        ConversionMethod::Deng => NeuronParams { shift: mu / (2 * t) as f32, ..base },
    };
    if !(p.vth > 0.0 && p.vth.is_finite()) {
        return Err(Error::Config(format!(
            "{}: {method} gives threshold {} (the layer never activates on the calibration data?)",
            s.name, p.vth
        )));
    }
    Ok(p)
}
