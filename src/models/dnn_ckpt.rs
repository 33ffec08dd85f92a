//! DNN checkpoints: parameters under their PyTorch names, the SGD momentum
//! under `optimizer.<name>.momentum_buffer`, and metadata that rebuilds the
//! model (config, dataset, normalization, epoch, step, metrics, train config).

use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use super::dnn::DnnNet;
use crate::checkpoint::Checkpoint;
use crate::data::{DatasetKind, Normalization};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::train::{EpochRecord, TrainConfig};

pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// What `__metadata__["ultraspike"]` holds for a DNN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DnnMeta {
    /// "dnn" (SNN checkpoints say "snn").
    pub kind: String,
    pub model: ModelConfig,
    pub dataset: Option<DatasetKind>,
    pub normalization: Option<Normalization>,
    /// Epochs completed and steps taken when saved.
    #[serde(default)]
    pub epoch: usize,
    #[serde(default)]
    pub step: u64,
    pub train: Option<TrainConfig>,
    #[serde(default)]
    pub history: Vec<EpochRecord>,
}

impl DnnMeta {
    pub fn new(model: &ModelConfig) -> Self {
        DnnMeta {
            kind: "dnn".into(),
            model: model.clone(),
            dataset: None,
            normalization: None,
            epoch: 0,
            step: 0,
            train: None,
            history: Vec::new(),
        }
    }

    /// Read our metadata from a checkpoint (a bare PyTorch file has none: then
    /// the caller must name the model, see `DnnMeta::new`).
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<DnnMeta> {
        if ck.metadata.is_null() {
            return Err(Error::Checkpoint(
                "the file carries no ultraspike metadata (a bare PyTorch state_dict?): pass --model to name its architecture".into(),
            ));
        }
        let meta: DnnMeta = serde_json::from_value(ck.metadata.clone())
            .map_err(|e| Error::Checkpoint(format!("metadata is not a DNN checkpoint's: {e}")))?;
        if meta.kind != "dnn" {
            return Err(Error::Checkpoint(format!("this is a `{}` checkpoint, not a DNN", meta.kind)));
        }
        meta.model.validate()?;
        Ok(meta)
    }
}

impl DnnNet {
    /// Parameters (and, with `optimizer`, the momentum buffers) plus `meta`.
    pub async fn to_checkpoint(&self, gpu: &Gpu, meta: &DnnMeta, optimizer: bool) -> Result<Checkpoint> {
        let json = serde_json::to_value(meta).map_err(|e| Error::Checkpoint(e.to_string()))?;
        let mut ck = Checkpoint::new(json);
        for p in &self.params {
            if !p.spec.trainable {
                continue; // e.g. ResNet's bias-free classifier: PyTorch has no such tensor
            }
            let v = gpu.read(&p.value).await?;
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::Diverged(format!("{}[{i}] is {} - refusing to save it", p.spec.name, v[i])));
            }
            ck.insert(&p.spec.name, &p.spec.shape, v)?;
            if optimizer {
                let m = gpu.read(&p.momentum).await?;
                ck.insert(&format!("{OPTIMIZER_PREFIX}{}.momentum_buffer", p.spec.name), &p.spec.shape, m)?;
            }
        }
        Ok(ck)
    }

    /// Load every trainable parameter (shapes checked, names must match); the
    /// momentum too when `optimizer` and the file has it.
    pub fn load_checkpoint(&self, gpu: &Gpu, ck: &Checkpoint, optimizer: bool) -> Result<()> {
        for p in &self.params {
            if !p.spec.trainable {
                continue;
            }
            gpu.write(&p.value, ck.get(&p.spec.name, &p.spec.shape)?)?;
            if optimizer {
                let name = format!("{OPTIMIZER_PREFIX}{}.momentum_buffer", p.spec.name);
                if ck.tensors.contains_key(&name) {
                    gpu.write(&p.momentum, ck.get(&name, &p.spec.shape)?)?;
                }
            }
        }
        let known: std::collections::HashSet<&str> = self.params.iter().map(|p| p.spec.name.as_str()).collect();
        let unknown: Vec<&String> = ck
            .tensors
            .keys()
            .filter(|k| !k.starts_with(OPTIMIZER_PREFIX) && !known.contains(k.as_str()))
            .take(5)
            .collect();
        if !unknown.is_empty() {
            return Err(Error::Checkpoint(format!(
                "tensors {unknown:?} do not belong to model `{}` (wrong --model?)",
                self.cfg.name
            )));
        }
        Ok(())
    }
}
