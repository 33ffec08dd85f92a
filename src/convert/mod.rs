//! DNN-to-SNN conversion: activation statistics, the paper's Algorithm 1 and
//! the baselines it beats, producing per-layer thresholds and spike heights.

pub mod algorithm1;
pub mod bias_correction;
pub mod exact;
pub mod layer_stats;
pub mod methods;
pub mod stats;

pub use methods::{convert, ConversionMethod, InitialMembrane, NeuronParams, Recipe};
pub mod pipeline;
