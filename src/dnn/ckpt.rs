//! DNN checkpoints: parameters under their PyTorch names, the SGD momentum
//! under `optimizer.<name>.momentum_buffer`, and metadata that rebuilds the
//! model (config, dataset, normalization, epoch, step, metrics, train config).

use super::net::DnnNet;
use super::params::GpuParam;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::meta::DnnMeta;

use crate::checkpoint::OPTIMIZER_PREFIX;

impl DnnNet {
    /// Parameters (and, with `optimizer`, the momentum buffers) plus `meta`.
    pub async fn to_checkpoint(&self, gpu: &Gpu, meta: &DnnMeta, optimizer: bool) -> Result<Checkpoint> {
        let json = serde_json::to_value(meta).map_err(|e| Error::Checkpoint(e.to_string()))?;
        let mut ck = Checkpoint::new(json);
        // Not trainable: e.g. ResNet's bias-free classifier, which PyTorch has no tensor for.
        let saved: Vec<&GpuParam> = self.params.iter().filter(|p| p.spec.trainable).collect();
        let mut tensors: Vec<&Tensor> = saved.iter().map(|p| &p.value).collect();
        if optimizer {
            tensors.extend(saved.iter().map(|p| &p.momentum));
        }
        // One map for the whole export (more only past the device's buffer size).
        let mut values = gpu.read_many(&tensors).await?.into_iter();
        for (p, v) in saved.iter().zip(values.by_ref()) {
            ck.insert_finite(&p.spec.name, &p.spec.shape, v)?;
        }
        // Left only with `optimizer`: the momentum buffers, in the same order.
        for (p, m) in saved.iter().zip(values) {
            let name = format!("{OPTIMIZER_PREFIX}{}.momentum_buffer", p.spec.name);
            ck.insert(&name, &p.spec.shape, m)?;
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
