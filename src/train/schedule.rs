//! The step-decay schedule (plain data in `spec::train`).

pub use crate::spec::train::StepDecay;
