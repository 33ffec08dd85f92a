//! The threshold-ReLU DNN on the GPU: the network (buffers and recorded
//! programs built once), its builder, checkpoints and evaluation.

pub mod build;
mod build_block;
pub mod ckpt;
pub mod eval;
pub mod net;
pub mod params;

pub use eval::evaluate;
pub use net::{DnnNet, SgdConfig, StepStats};
pub use params::GpuParam;
