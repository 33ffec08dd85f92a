//! Training loops: the DNN trainer (SGD) and the SNN fine-tuner (BPTT, Adam).

pub mod dnn;
pub mod driver;
pub mod epochs;
pub mod inflight;

pub use dnn::{TrainConfig, Trainer};
pub use driver::{EpochDriver, EpochTrainer};
pub use epochs::{EpochLoop, EpochRecord, Evaluation, Progress};
pub mod snn;
