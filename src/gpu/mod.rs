//! The GPU engine: device context, tensors, the kernel registry and dispatch.
//! This module holds the only `cfg(target_arch = "wasm32")` of the engine (in `context`).

pub mod context;
pub mod kernels;
pub mod op;
pub mod tensor;

pub use context::{Gpu, GpuOptions, ReadRange};
pub use kernels::Kernel;
pub use op::{grid_1d, Encoder, Op};
pub use tensor::Tensor;
