//! The browser's entry points (`#[wasm_bindgen]`): one `Session` holding the
//! GPU, the dataset and whatever the pipeline has built so far. Every method
//! does a bounded amount of work (a few batches, one conversion) so the page
//! drives it from its event loop and stays responsive. It only composes the
//! library, exactly as the CLI (src/cli) does; the library's `Error` becomes a
//! `JsError` here with the same message.

mod convert;
mod snn;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use web_time::Instant;

use crate::checkpoint::Checkpoint;
use crate::convert::stats::LayerStats;
use crate::data::Dataset;
use crate::data::{load_named_files, DatasetKind, Split};
use crate::gpu::{Gpu, GpuOptions};
use crate::dnn::{DnnNet, SgdConfig};
use crate::meta::DnnMeta;
use crate::models::{builtin, ModelConfig};
use crate::snn::ckpt::SnnMeta;
use crate::train::dnn::{check_dataset, evaluate};
use crate::train::snn::Finetuner;
use crate::train::{StepDecay, TrainConfig, Trainer};
use crate::Error;

/// Call once after the module loads: Rust panics then show in the browser
/// console with their message instead of "unreachable executed".
#[wasm_bindgen]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Open the browser's WebGPU adapter and describe it as `[name, value]` pairs.
#[wasm_bindgen]
pub async fn gpu_info() -> Result<JsValue, JsError> {
    let gpu = Gpu::new(&GpuOptions::default()).await.map_err(js_err)?;
    to_js(&gpu.describe())
}

/// Open the GPU and start an empty session.
#[wasm_bindgen]
pub async fn create_session() -> Result<Session, JsError> {
    let gpu = Gpu::new(&GpuOptions::default()).await.map_err(js_err)?;
    Ok(Session {
        gpu,
        staged: Vec::new(),
        split: None,
        trainer: None,
        train_started: None,
        dnn: None,
        stats: None,
        calib_t: 0,
        snn: None,
        finetuner: None,
        ft_train: None,
        ft_started: None,
    })
}

/// The names of the built-in models.
#[wasm_bindgen]
pub fn builtin_models() -> Vec<String> {
    crate::models::builtin::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A DNN checkpoint (trained here or uploaded) with its metadata.
pub(crate) struct DnnState {
    ck: Checkpoint,
    meta: DnnMeta,
}

/// An SNN checkpoint (converted or fine-tuned) with its metadata.
pub(crate) struct SnnState {
    ck: Checkpoint,
    meta: SnnMeta,
}

#[wasm_bindgen]
pub struct Session {
    gpu: Gpu,
    staged: Vec<(String, Vec<u8>)>,
    split: Option<Split>,
    trainer: Option<Trainer>,
    train_started: Option<Instant>,
    dnn: Option<DnnState>,
    stats: Option<Vec<LayerStats>>,
    calib_t: usize,
    snn: Option<SnnState>,
    finetuner: Option<Finetuner>,
    /// The fine-tuning subset of the training set.
    ft_train: Option<Dataset>,
    ft_started: Option<Instant>,
}

/// Options of `start_training` (every field optional on the JS side).
#[derive(Deserialize)]
#[serde(default)]
struct TrainOptions {
    model: String,
    epochs: usize,
    batch: usize,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    seed: u64,
    augment: Option<bool>,
    dropout: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        // The CLI's defaults (src/cli/train.rs).
        TrainOptions {
            model: "vgg-tiny".into(),
            epochs: 2,
            batch: 64,
            lr: 0.01,
            momentum: 0.95,
            weight_decay: 5e-4,
            seed: 0,
            augment: None,
            dropout: true,
        }
    }
}

#[derive(Serialize)]
struct DatasetSummary {
    kind: DatasetKind,
    train: usize,
    test: usize,
    shape: [usize; 3],
    classes: usize,
}

#[wasm_bindgen]
impl Session {
    /// Adapter and limits as `[name, value]` pairs.
    pub fn gpu_info(&self) -> Result<JsValue, JsError> {
        to_js(&self.gpu.describe())
    }

    /// Keep a file (an IDX file, a CIFAR .bin or .tar.gz) for `load_staged`.
    pub fn stage_file(&mut self, name: String, bytes: Vec<u8>) {
        self.staged.push((name, bytes));
    }

    /// Parse the staged files into a train/test split (`kind` "" guesses from
    /// the names), keep the first `train_subset` / `test_subset` images (0 = all).
    pub fn load_staged(
        &mut self,
        kind: String,
        train_subset: usize,
        test_subset: usize,
    ) -> Result<JsValue, JsError> {
        let files = std::mem::take(&mut self.staged);
        let kind = if kind.is_empty() {
            None
        } else {
            Some(kind.parse::<DatasetKind>().map_err(js_err)?)
        };
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let mut split = load_named_files(kind, &refs).map_err(js_err)?;
        if train_subset > 0 {
            split.train = split.train.subset(0, train_subset);
        }
        if test_subset > 0 {
            split.test = split.test.subset(0, test_subset);
        }
        let d = &split.train;
        let summary = DatasetSummary {
            kind: d.kind,
            train: d.n,
            test: split.test.n,
            shape: [d.c, d.h, d.w],
            classes: d.classes,
        };
        self.split = Some(split);
        to_js(&summary)
    }

    /// Test image `i`: `{ pixels (u8, CHW), c, h, w, label }`.
    pub fn test_image(&self, i: usize) -> Result<JsValue, JsError> {
        let ds = &self.split()?.test;
        if i >= ds.n {
            return Err(JsError::new(&format!(
                "test image {i} out of range (0..{})",
                ds.n
            )));
        }
        to_js(
            &serde_json::json!({ "pixels": ds.image(i), "c": ds.c, "h": ds.h, "w": ds.w, "label": ds.labels[i] }),
        )
    }

    /// Build a fresh model (`opts.model`: a built-in name or a JSON config) and its trainer.
    pub fn start_training(&mut self, opts: JsValue) -> Result<JsValue, JsError> {
        let o: TrainOptions = serde_wasm_bindgen::from_value(opts)
            .map_err(|e| JsError::new(&format!("training options: {e}")))?;
        self.trainer = None; // free the old net's buffers first
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let ds = &split.train;
        let model = if o.model.trim_start().starts_with('{') {
            ModelConfig::from_json(&o.model)
        } else {
            builtin(&o.model, [ds.c, ds.h, ds.w], ds.classes)
        }
        .map_err(js_err)?;
        let cfg = TrainConfig {
            epochs: o.epochs.max(1),
            batch: o.batch.max(1),
            sgd: SgdConfig {
                lr: o.lr,
                momentum: o.momentum,
                weight_decay: o.weight_decay,
            },
            schedule: StepDecay::default(),
            augment: o.augment.unwrap_or(ds.kind.default_augment()),
            shuffle: true,
            dropout: o.dropout,
            seed: o.seed,
            max_steps: None,
        };
        let t = Trainer::new(&self.gpu, &model, ds, cfg).map_err(js_err)?;
        self.gpu.check().map_err(js_err)?;
        let layers = model.layers.len();
        self.trainer = Some(t);
        self.train_started = Some(Instant::now());
        to_js(&serde_json::json!({ "model": model.name, "layers": layers, "config": model }))
    }

    /// Up to `k` training batches; closes the epoch (test evaluation) when it ends.
    pub async fn train_steps(&mut self, k: usize) -> Result<JsValue, JsError> {
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let t = self
            .trainer
            .as_mut()
            .ok_or_else(|| JsError::new("no model: start training first"))?;
        let mut record = None;
        let mut done_batches = 0;
        while done_batches < k && !t.is_done() {
            match t
                .train_batch(&self.gpu, &split.train)
                .await
                .map_err(js_err)?
            {
                Some(_) => done_batches += 1,
                None => {
                    let secs = self
                        .train_started
                        .map(|s| s.elapsed().as_secs_f64())
                        .unwrap_or(0.0);
                    let test = t.evaluate(&self.gpu, &split.test).await.map_err(js_err)?;
                    record = Some(t.finish_epoch(&self.gpu, test, secs));
                    self.train_started = Some(Instant::now());
                    break;
                }
            }
        }
        let p = t.run.progress(record);
        if p.record.is_some() {
            // A checkpoint per epoch, as the CLI writes: downloadable even if the device is lost later.
            self.snapshot_trainer().await?;
        }
        to_js(&p)
    }

    /// The trained DNN (current weights, momentum included) as a safetensors
    /// file, the same format `ultraspike train` writes. Works mid-training.
    pub async fn dnn_checkpoint(&mut self) -> Result<Vec<u8>, JsError> {
        if self.trainer.is_some() {
            if let Err(e) = self.snapshot_trainer().await {
                // The GPU is gone: hand out the last epoch's checkpoint, if any.
                if self.dnn.is_none() {
                    return Err(e);
                }
            }
        }
        let d = self
            .dnn
            .as_ref()
            .ok_or_else(no_dnn)?;
        d.ck.to_bytes().map_err(js_err)
    }

    /// Load a safetensors checkpoint written by the CLI or this page (DNN or SNN).
    pub fn load_checkpoint(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let ck = Checkpoint::from_bytes(&bytes).map_err(js_err)?;
        if ck.metadata.get("kind").and_then(|k| k.as_str()) == Some("snn") {
            let meta = SnnMeta::from_checkpoint(&ck).map_err(js_err)?;
            let info = serde_json::json!({ "kind": "snn", "model": meta.model.name, "timesteps": meta.timesteps, "method": meta.method, "finetune_epochs": meta.finetune_epochs });
            self.finetuner = None;
            self.snn = Some(SnnState { ck, meta });
            return to_js(&info);
        }
        let meta = DnnMeta::from_checkpoint(&ck).map_err(js_err)?;
        let info = serde_json::json!({ "kind": "dnn", "model": meta.model.name, "dataset": meta.dataset, "epoch": meta.epoch, "history": meta.history });
        self.trainer = None;
        self.stats = None;
        self.snn = None;
        self.finetuner = None;
        self.dnn = Some(DnnState { ck, meta });
        to_js(&info)
    }

    /// Test loss and accuracy of the DNN, as `ultraspike eval` computes them (batch 100).
    pub async fn evaluate_dnn(&mut self) -> Result<JsValue, JsError> {
        if self.trainer.is_some() {
            self.snapshot_trainer().await?;
        }
        let d = self
            .dnn
            .as_ref()
            .ok_or_else(no_dnn)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        check_dataset(&d.meta.model, &split.test).map_err(js_err)?;
        let batch = 100;
        let net = DnnNet::new(&self.gpu, &d.meta.model, batch, 0, SgdConfig::default())
            .map_err(js_err)?;
        net.load_checkpoint(&self.gpu, &d.ck, false)
            .map_err(js_err)?;
        let img = net.image_len();
        let (mut x, mut y) = (vec![0.0; batch * img], vec![0; batch]);
        let ev = evaluate(&self.gpu, &net, &split.test, &mut x, &mut y)
            .await
            .map_err(js_err)?;
        to_js(&ev)
    }
}

impl Session {
    fn split(&self) -> Result<&Split, JsError> {
        self.split.as_ref().ok_or_else(no_data)
    }

    /// Copy the trainer's weights into a DNN checkpoint (as the CLI saves after each epoch).
    async fn snapshot_trainer(&mut self) -> Result<(), JsError> {
        let (Some(t), Some(split)) = (self.trainer.as_ref(), self.split.as_ref()) else {
            return Ok(());
        };
        let meta = DnnMeta {
            dataset: Some(split.train.kind),
            normalization: Some(split.train.norm.clone()),
            epoch: t.run.epoch,
            step: t.run.step,
            train: Some(t.cfg.clone()),
            history: t.run.history.clone(),
            ..DnnMeta::new(&t.net.cfg)
        };
        let ck = t
            .net
            .to_checkpoint(&self.gpu, &meta, true)
            .await
            .map_err(js_err)?;
        self.dnn = Some(DnnState { ck, meta });
        Ok(())
    }
}

fn no_data() -> JsError {
    JsError::new("no dataset loaded: pick MNIST / Fashion-MNIST or upload files first")
}

pub(crate) fn no_dnn() -> JsError {
    JsError::new("no DNN yet: train or upload one")
}

pub(crate) fn js_err(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Plain JS objects (maps as objects, 64-bit integers as numbers).
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}
