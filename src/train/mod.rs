//! Training loops: the DNN trainer (SGD) and the SNN fine-tuner (BPTT, Adam).

pub mod dnn;
pub mod schedule;

pub use dnn::{EpochRecord, TrainConfig, Trainer};
pub use schedule::StepDecay;
pub mod snn;
