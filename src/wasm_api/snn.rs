//! The SNN from the page: surrogate-gradient fine-tuning driven a few batches
//! per call (as src/cli/finetune.rs), evaluation with spikes and energy (as
//! src/cli/snn_eval.rs), accuracy at another T, a spike raster of one test
//! image, and the SNN checkpoint download.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use web_time::Instant;

use super::{js_err, no_data, to_js, Session, SnnState};
use crate::nn::spiking::Surrogate;
use crate::snn::ckpt::{snn_from_checkpoint, SnnMeta};
use crate::snn::energy::{CMOS_45NM, SPINNAKER, TRUENORTH};
use crate::snn::eval::{evaluate_accuracy, evaluate_snn, shrink_until_fits};
use crate::snn::SnnOptions;
use crate::train::snn::{FinetuneConfig, Finetuner};
use crate::train::StepDecay;

/// Options of `start_finetune` (the CLI's defaults; `train_subset` 0 = all).
#[derive(Deserialize)]
#[serde(default)]
struct FinetuneOptions {
    epochs: usize,
    batch: usize,
    lr: f32,
    dropout: f32,
    seed: u64,
    train_subset: usize,
}

impl Default for FinetuneOptions {
    fn default() -> Self {
        FinetuneOptions {
            epochs: 1,
            batch: 32,
            lr: 1e-4,
            dropout: 0.1,
            seed: 0,
            train_subset: 0,
        }
    }
}

#[derive(Serialize)]
struct RasterLayer {
    name: String,
    neurons: usize,
    /// Indices of the sampled neurons.
    sample: Vec<usize>,
    /// spikes[t][j]: whether sampled neuron j fired at step t.
    spikes: Vec<Vec<bool>>,
    /// Spikes of the whole layer at each step.
    per_step: Vec<usize>,
}

fn not_converted() -> JsError {
    JsError::new("no SNN yet: convert the DNN (or upload an SNN checkpoint) first")
}

#[wasm_bindgen]
impl Session {
    /// Build the BPTT trainer from the current SNN (a fresh conversion or an upload).
    pub fn start_finetune(&mut self, opts: JsValue) -> Result<JsValue, JsError> {
        let o: FinetuneOptions = serde_wasm_bindgen::from_value(opts)
            .map_err(|e| JsError::new(&format!("fine-tuning options: {e}")))?;
        let s = self.snn.as_ref().ok_or_else(not_converted)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let train = if o.train_subset > 0 {
            split.train.subset(0, o.train_subset)
        } else {
            split.train.clone()
        };
        let cfg = FinetuneConfig {
            epochs: o.epochs.max(1),
            batch: o.batch.max(1),
            t: s.meta.timesteps,
            lr: o.lr,
            weight_decay: 0.0,
            schedule: StepDecay::default(),
            surrogate: Surrogate::Boxcar,
            dropout: (o.dropout >= 0.0).then_some(o.dropout),
            augment: train.kind.default_augment(),
            shuffle: true,
            seed: o.seed,
            max_steps: None,
        };
        self.finetuner = None;
        let f = Finetuner::new(
            &self.gpu,
            &s.meta.model,
            &s.meta.neurons,
            &s.ck,
            s.meta.out_scale,
            &train,
            cfg,
        )
        .map_err(js_err)?;
        self.gpu.check().map_err(js_err)?;
        let info = serde_json::json!({ "t": s.meta.timesteps, "images": train.n, "memory_bytes": f.net.memory_bytes });
        self.finetuner = Some(f);
        self.ft_train = Some(train);
        self.ft_started = Some(Instant::now());
        to_js(&info)
    }

    /// Up to `k` BPTT batches; closes the epoch (test accuracy) when it ends and
    /// then keeps the fine-tuned SNN as the current one.
    pub async fn finetune_steps(&mut self, k: usize) -> Result<JsValue, JsError> {
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let (Some(f), Some(train)) = (self.finetuner.as_mut(), self.ft_train.as_ref()) else {
            return Err(JsError::new("start fine-tuning first"));
        };
        let mut record = None;
        let mut n = 0;
        while n < k && !f.is_done() {
            if f.train_batch(&self.gpu, train)
                .await
                .map_err(js_err)?
                .is_some()
            {
                n += 1;
                continue;
            }
            let secs = self
                .ft_started
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0);
            let test = f.evaluate(&self.gpu, &split.test).await.map_err(js_err)?;
            record = Some(f.finish_epoch(test, secs));
            self.ft_started = Some(Instant::now());
            break;
        }
        let p = f.run.progress(record);
        if p.record.is_some() {
            self.snapshot_finetuner().await?;
        }
        to_js(&p)
    }

    /// The current SNN (converted or fine-tuned) as the CLI's safetensors file.
    pub async fn snn_checkpoint(&mut self) -> Result<Vec<u8>, JsError> {
        if self.finetuner.is_some() {
            self.snapshot_finetuner().await?;
        }
        self.snn
            .as_ref()
            .ok_or_else(not_converted)?
            .ck
            .to_bytes()
            .map_err(js_err)
    }

    /// Accuracy, spikes per layer and energy of the current SNN at `t` steps
    /// (0 = its own T), on the whole test set, as `ultraspike eval` on an SNN.
    pub async fn evaluate_snn(&mut self, t: usize) -> Result<JsValue, JsError> {
        if self.finetuner.is_some() {
            self.snapshot_finetuner().await?;
        }
        let s = self.snn.as_ref().ok_or_else(not_converted)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        crate::models::check_dataset(&s.meta.model, &split.test).map_err(js_err)?;
        let t = if t == 0 { s.meta.timesteps } else { t };
        let (net, _) = shrink_until_fits(100, split.test.n, |b| {
            snn_from_checkpoint(&self.gpu, &s.ck, SnnOptions::inference(b, t))
        })
        .map_err(js_err)?;
        let ev = evaluate_snn(&self.gpu, &net, &split.test, Some(CMOS_45NM))
            .await
            .map_err(js_err)?;
        to_js(
            &serde_json::json!({ "model": s.meta.model.name, "method": s.meta.method, "finetune_epochs": s.meta.finetune_epochs, "evaluation": ev }),
        )
    }

    /// Test accuracy only of the current SNN at `t` steps (for accuracy vs T).
    pub async fn snn_accuracy_at(&mut self, t: usize) -> Result<f32, JsError> {
        let s = self.snn.as_ref().ok_or_else(not_converted)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let (net, _) = shrink_until_fits(100, split.test.n, |b| {
            snn_from_checkpoint(&self.gpu, &s.ck, SnnOptions::inference(b, t.max(1)))
        })
        .map_err(js_err)?;
        let b = net.opts.batch;
        let (mut x, mut y) = (vec![0.0; b * net.image_len()], vec![0; b]);
        Ok(
            evaluate_accuracy(&self.gpu, &net, &split.test, &mut x, &mut y)
                .await
                .map_err(js_err)?
                .accuracy,
        )
    }

    /// Spikes of up to `sample` neurons per layer over T for test image `index`,
    /// plus the predicted class.
    pub async fn raster(&self, index: usize, sample: usize) -> Result<JsValue, JsError> {
        let s = self.snn.as_ref().ok_or_else(not_converted)?;
        let ds = &self.split.as_ref().ok_or_else(no_data)?.test;
        if index >= ds.n {
            return Err(JsError::new(&format!(
                "test image {index} out of range (0..{})",
                ds.n
            )));
        }
        let t = s.meta.timesteps;
        let (net, _) =
            snn_from_checkpoint(&self.gpu, &s.ck, SnnOptions::inference(1, t)).map_err(js_err)?;
        let mut x = vec![0.0; net.image_len()];
        ds.normalized_into(index, &mut x);
        let y = [ds.labels[index] as u32];
        net.eval_step(&self.gpu, &x, &y, 1, false)
            .await
            .map_err(js_err)?;
        let logits = net.read_logits(&self.gpu, 1).await.map_err(js_err)?;
        let pred = logits
            .iter()
            .enumerate()
            .fold(0, |b, (i, v)| if *v > logits[b] { i } else { b });
        let mut layers = Vec::new();
        for nr in &net.neurons {
            let out = self.gpu.read(&nr.out).await.map_err(js_err)?;
            let per = nr.per_sample;
            let k = sample.clamp(1, per);
            let idx: Vec<usize> = (0..k).map(|j| j * per / k).collect();
            let spikes = (0..t)
                .map(|step| {
                    idx.iter()
                        .map(|&i| out.get(step * per + i).is_some_and(|v| *v != 0.0))
                        .collect()
                })
                .collect();
            let per_step = (0..t)
                .map(|step| {
                    out[step * per..((step + 1) * per).min(out.len())]
                        .iter()
                        .filter(|v| **v != 0.0)
                        .count()
                })
                .collect();
            layers.push(RasterLayer {
                name: nr.name.clone(),
                neurons: per,
                sample: idx,
                spikes,
                per_step,
            });
        }
        to_js(
            &serde_json::json!({ "index": index, "label": y[0], "predicted": pred, "logits": logits, "t": t, "layers": layers }),
        )
    }

    /// The energy constants used (45 nm CMOS) and the neuromorphic (compute, static) pairs.
    pub fn energy_constants(&self) -> Result<JsValue, JsError> {
        to_js(
            &serde_json::json!({ "model": CMOS_45NM.name, "e_mac_pj": CMOS_45NM.e_mac_pj, "e_ac_pj": CMOS_45NM.e_ac_pj, "truenorth": TRUENORTH, "spinnaker": SPINNAKER }),
        )
    }
}

impl Session {
    /// Write the fine-tuner's weights, thresholds and leaks back as the current SNN checkpoint.
    async fn snapshot_finetuner(&mut self) -> Result<(), JsError> {
        let (Some(f), Some(s)) = (self.finetuner.as_ref(), self.snn.as_ref()) else {
            return Ok(());
        };
        let mut meta: SnnMeta = s.meta.clone();
        meta.finetune_epochs = s.meta.finetune_epochs.max(f.run.epoch);
        meta.adam_steps = f.net.adam_steps();
        meta.history = f
            .run
            .history
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        let ck = f
            .net
            .to_checkpoint(&self.gpu, &meta)
            .await
            .map_err(js_err)?;
        self.snn = Some(SnnState { ck, meta });
        Ok(())
    }
}
