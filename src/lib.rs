//! ultraspike: train threshold-ReLU DNNs, convert them to ultra-low-latency spiking
//! networks (Datta & Beerel, DATE 2022) and fine-tune them, every step in WGSL on the GPU.

pub mod checkpoint;
pub mod convert;
pub mod cpu;
pub mod data;
pub mod dnn;
pub mod error;
pub mod export;
pub mod gpu;
pub mod meta;
pub mod models;
pub mod nn;
pub mod pipeline;
pub mod snn;
pub mod spec;
pub mod train;
pub mod util;
#[cfg(target_arch = "wasm32")]
pub mod wasm_api;

pub use error::{Error, Result};
