//! Models: JSON configs, the built-in VGG/ResNet/demo nets, parameter naming
//! and init, and the GPU network that runs them.

pub mod builtin;
pub mod config;
pub mod params;

pub use builtin::builtin;
pub use config::{LayerSpec, ModelConfig};
pub mod dnn;
pub mod dnn_build;
pub mod program;
pub mod dnn_ckpt;
