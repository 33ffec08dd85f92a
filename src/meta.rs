//! Checkpoint metadata (`__metadata__["ultraspike"]`): what rebuilds a model
//! from its file - the model config, dataset and normalization, and the run
//! that made it (DNN: epochs, steps, training config, history; SNN: T, the
//! conversion method, every layer's neuron constants, fine-tuning epochs).
//! Plain data: the GPU runtimes write it, the pipeline owns its rules.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::data::{DatasetKind, Normalization};
use crate::error::{Error, Result};
use crate::models::params::{param_specs, snn_param_specs, ParamKind};
use crate::models::ModelConfig;
use crate::spec::{ConversionMethod, EpochRecord, NeuronParams, TrainConfig, MAX_TIMESTEPS};

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
            return Err(Error::Checkpoint(format!(
                "this is a `{}` checkpoint, not a DNN",
                meta.kind
            )));
        }
        meta.model.validate()?;
        check_finite(ck)?;
        check_mu_tensors(ck, &meta.model)?;
        if let Some(norm) = &meta.normalization {
            norm.validate(meta.model.input[0])
                .map_err(|e| Error::Checkpoint(format!("metadata normalization: {e}")))?;
        }
        Ok(meta)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnnMeta {
    /// "snn".
    pub kind: String,
    pub model: ModelConfig,
    pub timesteps: usize,
    pub method: ConversionMethod,
    pub neurons: Vec<NeuronParams>,
    #[serde(default = "one")]
    pub out_scale: f32,
    pub dataset: Option<DatasetKind>,
    pub normalization: Option<Normalization>,
    /// Fine-tuning epochs done and Adam steps taken.
    #[serde(default)]
    pub finetune_epochs: usize,
    #[serde(default)]
    pub adam_steps: u32,
    #[serde(default)]
    pub history: Vec<serde_json::Value>,
}

fn one() -> f32 {
    1.0
}

impl SnnMeta {
    pub fn from_checkpoint(ck: &Checkpoint) -> Result<SnnMeta> {
        let m: SnnMeta = serde_json::from_value(ck.metadata.clone())
            .map_err(|e| Error::Checkpoint(format!("not an SNN checkpoint: {e}")))?;
        if m.kind != "snn" {
            return Err(Error::Checkpoint(format!(
                "this is a `{}` checkpoint, not an SNN",
                m.kind
            )));
        }
        m.model.validate()?;
        m.check_ranges()?;
        check_finite(ck)?;
        check_neuron_tensors(ck, &m.model)?;
        Ok(m)
    }
}

impl SnnMeta {
    /// T, the output scale and every layer's neuron constants in their valid ranges.
    fn check_ranges(&self) -> Result<()> {
        if self.timesteps == 0 || self.timesteps > MAX_TIMESTEPS {
            return Err(bad_meta(format!(
                "timesteps {} is not in 1..={MAX_TIMESTEPS}",
                self.timesteps
            )));
        }
        if !(self.out_scale.is_finite() && self.out_scale > 0.0) {
            return Err(bad_meta(format!("out_scale {} must be finite and > 0", self.out_scale)));
        }
        for (i, n) in self.neurons.iter().enumerate() {
            let positive = [("vth", n.vth), ("beta", n.beta), ("alpha", n.alpha), ("mu", n.mu)];
            if let Some((k, v)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
                return Err(bad_meta(format!("neuron layer {i}: {k} = {v} must be finite and > 0")));
            }
            if !n.shift.is_finite() || !(0.0..=1.0).contains(&n.leak) {
                return Err(bad_meta(format!(
                    "neuron layer {i}: shift {} must be finite and leak {} in [0, 1]",
                    n.shift, n.leak
                )));
            }
        }
        if let Some(norm) = &self.normalization {
            norm.validate(self.model.input[0])
                .map_err(|e| bad_meta(format!("normalization: {e}")))?;
        }
        Ok(())
    }
}

fn bad_meta(msg: String) -> Error {
    Error::Checkpoint(format!("SNN metadata: {msg}"))
}

/// The thresholds and leaks the net loads from the tensors: V_th > 0, leak in [0, 1].
fn check_neuron_tensors(ck: &Checkpoint, model: &ModelConfig) -> Result<()> {
    for spec in snn_param_specs(model)? {
        let range_ok: fn(f32) -> bool = match spec.kind {
            ParamKind::Vth => |v| v > 0.0,
            ParamKind::Leak => |v| (0.0..=1.0).contains(&v),
            _ => continue,
        };
        let Some(t) = ck.tensors.get(&spec.name) else { continue }; // a missing tensor is named when the net loads
        if let Some(v) = t.data.iter().find(|v| !range_ok(**v)) {
            return Err(Error::Checkpoint(format!(
                "tensor `{}` = {v} is out of range (V_th > 0, leak in [0, 1])",
                spec.name
            )));
        }
    }
    Ok(())
}

/// The threshold-ReLU ceilings a DNN loads: mu > 0 (a zero or negative ceiling silences the layer).
fn check_mu_tensors(ck: &Checkpoint, model: &ModelConfig) -> Result<()> {
    for spec in param_specs(model)?.iter().filter(|s| s.kind == ParamKind::Mu) {
        if let Some(v) = ck
            .tensors
            .get(&spec.name)
            .and_then(|t| t.data.iter().find(|v| **v <= 0.0))
        {
            return Err(Error::Checkpoint(format!(
                "tensor `{}` = {v}: the threshold-ReLU ceiling mu must be > 0",
                spec.name
            )));
        }
    }
    Ok(())
}

/// A model's tensors hold finite values only (NaN or inf: a diverged or damaged model).
fn check_finite(ck: &Checkpoint) -> Result<()> {
    for (name, t) in &ck.tensors {
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::Checkpoint(format!(
                "tensor `{name}`[{i}] is {} (a diverged or damaged model)",
                t.data[i]
            )));
        }
    }
    Ok(())
}
