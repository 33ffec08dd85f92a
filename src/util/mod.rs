//! Small helpers shared by the library, its tests and benchmarks.

#[cfg(not(target_arch = "wasm32"))]
pub mod fs;
pub mod rng;
