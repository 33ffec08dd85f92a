//! The GPU engine: device context, readback, tensors, the kernel registry and dispatch.
//! This module holds the only `cfg(target_arch = "wasm32")` of the engine (in `context`, and
//! in `tune_cache`, whose file half is native only).

pub mod context;
pub mod kernels;
pub mod live;
pub mod op;
pub mod readback;
pub mod tensor;
pub mod tune;
pub mod tune_cache;

pub use context::{Fence, Gpu, GpuOptions};
pub use kernels::Kernel;
pub use live::LiveBuffers;
pub use op::{elementwise, grid_1d, Encoder, Op};
pub use readback::ReadRange;
pub use tensor::{Bind, Tensor, TensorGroup};
pub use tune::{TunePass, TuneShape};
