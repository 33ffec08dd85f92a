//! The model description: JSON configs, the built-in VGG/ResNet/demo nets,
//! parameter naming, shapes and init. Plain data; the GPU runtimes that run a
//! model live in `dnn` and `snn`.

pub mod builtin;
pub mod config;
pub mod params;

pub use builtin::builtin;
pub use config::{check_dataset, LayerSpec, ModelConfig};
