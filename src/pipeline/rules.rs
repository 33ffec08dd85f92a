//! The metadata rules, in one place: what a DNN snapshot, a converted SNN and
//! a fine-tuned SNN record about the run that made them.

use crate::data::Dataset;
use crate::meta::{DnnMeta, SnnMeta};
use crate::models::ModelConfig;
use crate::spec::{ConversionMethod, NeuronParams, TrainConfig};
use crate::train::EpochLoop;

/// A DNN snapshot: the dataset it trains on, the run's epochs and steps so far,
/// its config, and the whole history (a resumed run carries the earlier epochs).
pub fn trained_dnn(model: &ModelConfig, train: &Dataset, cfg: &TrainConfig, run: &EpochLoop) -> DnnMeta {
    DnnMeta {
        dataset: Some(train.kind),
        normalization: Some(train.norm.clone()),
        epoch: run.epoch,
        step: run.step,
        train: Some(cfg.clone()),
        history: run.history.clone(),
        ..DnnMeta::new(model)
    }
}

/// A fresh conversion of the DNN described by `dnn`: no fine-tuning yet.
pub fn converted_snn(dnn: &DnnMeta, method: ConversionMethod, t: usize, neurons: Vec<NeuronParams>) -> SnnMeta {
    SnnMeta {
        kind: "snn".into(),
        model: dnn.model.clone(),
        timesteps: t,
        method,
        neurons,
        out_scale: 1.0,
        dataset: dnn.dataset,
        normalization: dnn.normalization.clone(),
        finetune_epochs: 0,
        adam_steps: 0,
        history: Vec::new(),
    }
}

/// An SNN fine-tuned from `base` at `t` steps: epochs add up across runs and
/// the history appends this run's records to the earlier ones.
pub fn finetuned_snn(base: &SnnMeta, t: usize, run: &EpochLoop, adam_steps: u32) -> SnnMeta {
    let mut meta = SnnMeta {
        timesteps: t,
        ..base.clone()
    };
    meta.finetune_epochs = base.finetune_epochs + run.epoch;
    meta.adam_steps = adam_steps;
    meta.history
        .extend(run.history.iter().filter_map(|r| serde_json::to_value(r).ok()));
    meta
}
