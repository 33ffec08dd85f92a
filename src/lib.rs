//! ultraspike: train threshold-ReLU DNNs, convert them to ultra-low-latency spiking
//! networks (Datta & Beerel, DATE 2022) and fine-tune them, every step in WGSL on the GPU.

pub mod cpu;
pub mod error;
pub mod gpu;
pub mod nn;
pub mod util;

pub use error::{Error, Result};
