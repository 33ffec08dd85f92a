//! What a spiking layer is: the IF/LIF neuron's constants (threshold, spike
//! height, shift, leak), the surrogate gradient, and the conversion method that
//! chose them. Plain data: the GPU layers, the CPU reference and checkpoint
//! metadata all read it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest T accepted anywhere (conversion, evaluation, fine-tuning, checkpoints).
pub const MAX_TIMESTEPS: usize = 256;

/// The most quantization levels a QCFS activation accepts (`act_levels`, `--qcfs`).
pub const MAX_QCFS_LEVELS: u32 = 1024;

/// Slope of the fast-sigmoid surrogate `1 / (1 + K|u/vth - 1|)^2`: K = 2 gives
/// unit area in `u/vth`, like the triangle.
pub const FAST_SIGMOID_K: f32 = 2.0;

/// Per-layer constants. `beta` scales the spike height `beta*vth`,
/// `out_scale` multiplies the output only (the code's 1.3 / 1.5), `shift` is
/// added to the input current every step (Deng et al.'s `vth/(2T)` baseline),
/// `init` is the membrane before the first step as a fraction of vth (0 or 1/2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IfConfig {
    pub beta: f32,
    pub shift: f32,
    pub out_scale: f32,
    pub init: f32,
    /// Keep `u_tmp` [T, n] for BPTT; inference may skip the writes.
    pub save_trace: bool,
}

impl Default for IfConfig {
    fn default() -> Self {
        IfConfig {
            beta: 1.0,
            shift: 0.0,
            out_scale: 1.0,
            init: 0.0,
            save_trace: true,
        }
    }
}

/// The surrogate of dS/du used by BPTT (x = u/vth - 1): Boxcar `|x| <= 1`
/// (the paper's), Triangle `max(0, 1 - |x|)`, FastSigmoid `1/(1 + K|x|)^2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Surrogate {
    #[default]
    Boxcar,
    Triangle,
    FastSigmoid,
}

impl Surrogate {
    /// The shader's `surrogate` code.
    pub fn code(self) -> u32 {
        match self {
            Surrogate::Boxcar => 0,
            Surrogate::Triangle => 1,
            Surrogate::FastSigmoid => 2,
        }
    }
}

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
    /// Bu et al. 2022 (for a DNN trained with QCFS activations): V_th = mu, beta 1,
    /// the membrane starting at V_th / 2 (the default of this method only).
    Qcfs,
}

impl ConversionMethod {
    pub const ALL: [ConversionMethod; 6] = [
        Self::AlphaBeta,
        Self::AlphaBetaMse,
        Self::MaxNorm,
        Self::Percentile,
        Self::Deng,
        Self::Qcfs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AlphaBeta => "alpha-beta",
            Self::AlphaBetaMse => "alpha-beta-mse",
            Self::MaxNorm => "max-norm",
            Self::Percentile => "percentile",
            Self::Deng => "deng",
            Self::Qcfs => "qcfs",
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
            Error::Config(format!(
                "unknown conversion method `{s}` (alpha-beta, alpha-beta-mse, max-norm, percentile, deng, qcfs)"
            ))
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
    /// The membrane before the first step, as a fraction of vth (0, or 1/2 for
    /// QCFS and `--init-membrane half`). Absent (0) in older checkpoints.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub init: f32,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}
