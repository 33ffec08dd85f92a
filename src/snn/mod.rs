//! The spiking network: IF/LIF neurons where the DNN had threshold-ReLUs,
//! direct input encoding, T time steps executed layer by layer (each conv or
//! linear runs once over all T*B inputs; only the membrane scan is
//! sequential), inference and surrogate-gradient BPTT fine-tuning.

pub mod build;
pub mod build_block;
pub mod net;

pub use net::{SnnNet, SnnOptions};

use crate::error::Result;
use crate::models::params::{param_specs, ParamKind, ParamSpec};
use crate::models::ModelConfig;

/// The SNN's parameters: the DNN's weights and biases, and for each
/// threshold-ReLU `prefix.mu` the neuron's `prefix.vth` and `prefix.leak`.
pub fn snn_param_specs(cfg: &ModelConfig) -> Result<Vec<ParamSpec>> {
    let mut out = Vec::new();
    for s in param_specs(cfg)? {
        if s.kind == ParamKind::Mu {
            let base = s.name.trim_end_matches(".mu").to_string();
            out.push(ParamSpec { name: format!("{base}.vth"), ..s.clone() });
            out.push(ParamSpec { name: format!("{base}.leak"), init_value: 1.0, ..s });
        } else {
            out.push(s);
        }
    }
    Ok(out)
}
pub mod energy;
pub mod ckpt;
pub mod eval;
pub mod fold;
