//! SNN checkpoints: the DNN's weights and biases under the same names, plus
//! `<layer>.vth` and `<layer>.leak`; the metadata holds the model config, T,
//! the conversion method and every layer's alpha, beta, shift and mu.

use super::net::{SnnNet, SnnOptions};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::models::params::ParamKind;
use crate::spec::{ConversionMethod, NeuronParams};

pub use crate::meta::SnnMeta;

impl SnnNet {
    /// Copy weights and biases from a DNN checkpoint (conversion copies the weights).
    pub fn load_dnn_weights(&self, gpu: &Gpu, ck: &Checkpoint) -> Result<()> {
        for p in &self.params {
            if matches!(p.spec.kind, ParamKind::Weight | ParamKind::Bias) && p.spec.trainable {
                gpu.write(&p.value, ck.get(&p.spec.name, &p.spec.shape)?)?;
            }
        }
        Ok(())
    }

    /// Every parameter (vth and leak included) from an SNN checkpoint.
    pub fn load_snn_checkpoint(&self, gpu: &Gpu, ck: &Checkpoint) -> Result<()> {
        for p in &self.params {
            if p.spec.trainable {
                gpu.write(&p.value, ck.get(&p.spec.name, &p.spec.shape)?)?;
            }
        }
        Ok(())
    }

    /// The current neuron constants, with vth and leak read back (fine-tuning
    /// moves them): all layers with one map.
    pub async fn neuron_params(&self, gpu: &Gpu) -> Result<Vec<NeuronParams>> {
        let values = self.read_params(gpu, self.neuron_param_mask()).await?;
        self.neurons_from(&values)
    }

    /// Every trainable parameter and the neuron constants, read with one map.
    pub async fn to_checkpoint(&self, gpu: &Gpu, meta: &SnnMeta) -> Result<Checkpoint> {
        let mut wanted = self.neuron_param_mask();
        for (w, p) in wanted.iter_mut().zip(&self.params) {
            *w |= p.spec.trainable;
        }
        let mut values = self.read_params(gpu, wanted).await?;
        let mut meta = meta.clone();
        meta.neurons = self.neurons_from(&values)?;
        meta.timesteps = self.opts.t;
        let json = serde_json::to_value(&meta).map_err(|e| Error::Checkpoint(e.to_string()))?;
        let mut ck = Checkpoint::new(json);
        for (p, v) in self.params.iter().zip(values.iter_mut()) {
            if let (true, Some(v)) = (p.spec.trainable, v.take()) {
                ck.insert_finite(&p.spec.name, &p.spec.shape, v)?;
            }
        }
        Ok(ck)
    }

    /// Which parameters are some neuron's vth or leak.
    fn neuron_param_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.params.len()];
        for n in &self.neurons {
            mask[n.vth] = true;
            mask[n.leak] = true;
        }
        mask
    }

    /// The values of the parameters where `wanted`, read together; `None` elsewhere.
    async fn read_params(&self, gpu: &Gpu, wanted: Vec<bool>) -> Result<Vec<Option<Vec<f32>>>> {
        let tensors: Vec<&Tensor> = self
            .params
            .iter()
            .zip(&wanted)
            .filter(|(_, &w)| w)
            .map(|(p, _)| &p.value)
            .collect();
        let mut read = gpu.read_many(&tensors).await?.into_iter();
        Ok(wanted.into_iter().map(|w| if w { read.next() } else { None }).collect())
    }

    /// Each neuron's constants with vth and leak from `values` (by parameter index).
    fn neurons_from(&self, values: &[Option<Vec<f32>>]) -> Result<Vec<NeuronParams>> {
        let scalar = |i: usize| -> Result<f32> {
            values.get(i).and_then(|v| v.as_ref()?.first().copied()).ok_or_else(|| {
                let name = self.params.get(i).map_or("?", |p| p.spec.name.as_str());
                Error::Readback(format!("`{name}` was not read back"))
            })
        };
        self.neurons
            .iter()
            .map(|n| {
                Ok(NeuronParams {
                    vth: scalar(n.vth)?,
                    leak: scalar(n.leak)?,
                    ..n.params
                })
            })
            .collect()
    }
}

/// Build an SNN from its checkpoint for `opts` (T may differ from the saved one).
pub fn snn_from_checkpoint(gpu: &Gpu, ck: &Checkpoint, opts: SnnOptions) -> Result<(SnnNet, SnnMeta)> {
    let meta = SnnMeta::from_checkpoint(ck)?;
    let mut neurons = meta.neurons.clone();
    if opts.t != meta.timesteps && meta.method == ConversionMethod::Deng {
        // Deng's shift is V_th / 2T: follow the new T.
        for n in &mut neurons {
            n.shift = n.vth / (2 * opts.t) as f32;
        }
    }
    let net = SnnNet::new(
        gpu,
        &meta.model,
        &neurons,
        SnnOptions {
            out_scale: meta.out_scale,
            ..opts
        },
    )?;
    net.load_snn_checkpoint(gpu, ck)?;
    Ok((net, meta))
}
