//! The spiking network: IF/LIF neurons where the DNN had threshold-ReLUs,
//! direct input encoding, T time steps executed layer by layer (each conv or
//! linear runs once over all T*B inputs; only the membrane scan is
//! sequential), inference and surrogate-gradient BPTT fine-tuning.

pub mod build;
pub mod build_block;
mod build_layers;
mod build_neuron;
pub mod net;
mod net_steps;
mod params;

pub use net::{SnnNet, SnnOptions};

pub use crate::models::params::snn_param_specs;

pub mod ckpt;
pub mod energy;
pub mod eval;
pub mod fold;
