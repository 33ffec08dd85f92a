//! The threshold-ReLU DNN on the GPU: the network (buffers and recorded
//! programs built once), its builder, checkpoints and evaluation.

pub mod build;
mod build_block;
pub mod ckpt;
pub mod eval;
pub mod net;

pub use ckpt::OPTIMIZER_PREFIX;
pub use eval::evaluate;
pub use net::{DnnNet, GpuParam, SgdConfig, StepStats};
