//! SNN checkpoints: the DNN's weights and biases under the same names, plus
//! `<layer>.vth` and `<layer>.leak`; the metadata holds the model config, T,
//! the conversion method and every layer's alpha, beta, shift and mu.

use super::net::{SnnNet, SnnOptions};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
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

    /// The current neuron constants, with vth and leak read back (fine-tuning moves them).
    pub async fn neuron_params(&self, gpu: &Gpu) -> Result<Vec<NeuronParams>> {
        let mut out = Vec::with_capacity(self.neurons.len());
        for n in &self.neurons {
            let vth = gpu.read(&self.params[n.vth].value).await?[0];
            let leak = gpu.read(&self.params[n.leak].value).await?[0];
            out.push(NeuronParams {
                vth,
                leak,
                ..n.params
            });
        }
        Ok(out)
    }

    pub async fn to_checkpoint(&self, gpu: &Gpu, meta: &SnnMeta) -> Result<Checkpoint> {
        let mut meta = meta.clone();
        meta.neurons = self.neuron_params(gpu).await?;
        meta.timesteps = self.opts.t;
        let json = serde_json::to_value(&meta).map_err(|e| Error::Checkpoint(e.to_string()))?;
        let mut ck = Checkpoint::new(json);
        for p in &self.params {
            if !p.spec.trainable {
                continue;
            }
            let v = gpu.read(&p.value).await?;
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::Diverged(format!(
                    "{}[{i}] is {} - refusing to save it",
                    p.spec.name, v[i]
                )));
            }
            ck.insert(&p.spec.name, &p.spec.shape, v)?;
        }
        Ok(ck)
    }
}

/// Build an SNN from its checkpoint for `opts` (T may differ from the saved one).
pub fn snn_from_checkpoint(
    gpu: &Gpu,
    ck: &Checkpoint,
    opts: SnnOptions,
) -> Result<(SnnNet, SnnMeta)> {
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
