//! Tuning ahead of a run (`ultraspike info --tune --model`): build a model's training network
//! once, so each of its layer shapes is met, and time the shapes the adapter has no choice for.
//! Training does the same by itself before its first step (`training::tune_first_use`).

use crate::dnn::{DnnNet, SgdConfig};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::models::ModelConfig;
use crate::nn::tune::{tune_pending, TuneOptions, TuneReport};

/// Meet `model`'s shapes at `batch` (a throw-away network) and time those still untuned.
pub async fn tune_model(gpu: &Gpu, model: &ModelConfig, batch: usize, opts: &TuneOptions) -> Result<TuneReport> {
    drop(DnnNet::new(gpu, model, batch, 0, SgdConfig::default())?);
    tune_pending(gpu, opts).await
}
