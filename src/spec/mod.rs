//! Plain data that says what to compute: kernel geometry, neuron constants,
//! optimizer and run hyper-parameters, what runs report, and the stop request
//! a face hands to running work. Everything above
//! (the GPU layers, the CPU reference, models, checkpoints, the pipeline)
//! shares these types; this module depends on nothing but `error`.

pub mod cancel;
pub mod neuron;
pub mod optim;
pub mod recipe;
pub mod records;
pub mod shapes;
pub mod train;

pub use cancel::Cancel;
pub use neuron::{ConversionMethod, IfConfig, NeuronParams, Surrogate, MAX_QCFS_LEVELS, MAX_TIMESTEPS};
pub use optim::SgdConfig;
pub use recipe::{InitialMembrane, Recipe};
pub use records::{EpochRecord, Evaluation, Progress, StepStats};
pub use shapes::{Conv2dShape, PoolShape};
pub use train::{FinetuneConfig, StepDecay, TrainConfig};
