//! The one pipeline both faces drive (the CLI and the page): data -> DNN ->
//! calibration -> SNN, with fine-tuning, evaluation, sweeps and the data the
//! page's views draw. The faces only translate arguments and results; every
//! rule lives here, tested natively:
//!
//! - Stages are typed and owned here. Replacing a stage drops what was derived
//!   from it: a new dataset stops the runs bound to the old one and drops the
//!   calibration; a new or further-trained DNN drops its calibration (and the
//!   sweep made from it) and the SNN converted from it; a new SNN stops its
//!   fine-tuning run. An SNN loaded from a file does not derive from the DNN
//!   and stays when the DNN changes.
//! - Long work is step-wise (`*_steps(k) -> Progress`), so the page slices it
//!   between frames and the CLI drives it to the end with a progress callback.
//! - Checkpoint metadata follows one set of rules (`rules.rs`).
//!
//! ```no_run
//! # #[cfg(not(target_arch = "wasm32"))] // natively (a browser opens its GPU with `Gpu::new(..).await`)
//! # fn main() -> ultraspike::Result<()> {
//! use std::path::Path;
//! use ultraspike::convert::ConversionMethod;
//! use ultraspike::data::DatasetKind;
//! use ultraspike::gpu::{Gpu, GpuOptions};
//! use ultraspike::pipeline::{DataSource, FinetuneOptions, Pipeline, TrainOptions, TrainStart};
//!
//! let mut p = Pipeline::new(Gpu::new_blocking(&GpuOptions::default())?);
//! p.load_data(DataSource::Dir { kind: DatasetKind::Mnist, dir: Path::new("data") }, None, None)?;
//! let opts = TrainOptions { model: "vgg-small".into(), epochs: 5, ..Default::default() };
//! p.start_training(&opts, TrainStart::Fresh)?;
//! pollster::block_on(p.train_to_end(|_event| Ok(())))?; // or train_steps(k), a slice at a time
//! pollster::block_on(p.calibrate(10, 100, |_| {}))?; // or start_calibration + calibration_steps(k)
//! let conversion = pollster::block_on(p.convert(ConversionMethod::AlphaBeta, 2, 100))?;
//! println!("SNN accuracy {}", conversion.evaluation.accuracy);
//! p.start_finetune(&FinetuneOptions { epochs: 1, ..Default::default() })?;
//! pollster::block_on(p.finetune_to_end(|_event| Ok(())))?;
//! let bytes = pollster::block_on(p.snn_snapshot())?.to_bytes()?; // what `ultraspike` writes
//! # let _ = bytes;
//! # Ok(())
//! # }
//! # #[cfg(target_arch = "wasm32")]
//! # fn main() {}
//! ```

mod archive;
mod calibration;
mod classify;
mod conversion;
mod data;
mod demo;
mod diagnostics;
mod finetuning;
mod options;
mod rules;
mod spikes;
mod training;
mod tuning;
mod views;

pub use archive::{Archive, PipelineRestored};
pub use calibration::{CalibrationProgress, LayerSummary};
pub use classify::{Classification, ClassifyWith, ModelInput};
pub use conversion::{Conversion, SweepPoint};
pub use data::{DataSource, DatasetSummary};
pub use demo::{BundledModel, DemoPlan, DemoProbe, DemoStart, BUNDLED_MODELS, DEMO_BUDGET_S, DEMO_MODELS};
pub use diagnostics::{ConversionReport, LayerReport};
pub use finetuning::{FinetuneEvent, FinetuneInfo};
pub use options::{check_timesteps, parse_surrogate, FinetuneOptions, TrainOptions};
pub use spikes::{SpikeInput, SpikeLayer, SpikeMaps};
pub use training::{TrainEvent, TrainInfo, TrainStart};
pub use tuning::tune_model;
pub use views::{energy_constants, EnergyConstants, Raster, RasterLayer, SnnReport, TestImage, Walkthrough};

use crate::checkpoint::Checkpoint;
use crate::convert::stats::{Calibrator, LayerStats};
use crate::data::Dataset;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::meta::{DnnMeta, SnnMeta};
use crate::spec::Cancel;

/// A model's weights and metadata: what a file or a download holds.
#[derive(Clone, Debug)]
pub struct Snapshot<M> {
    pub ck: Checkpoint,
    pub meta: M,
}

impl<M> Snapshot<M> {
    /// The safetensors bytes (metadata included), as written to a file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.ck.to_bytes()
    }
}

/// Where the current SNN came from: a conversion of the current DNN (dropped
/// with it) or a file (independent of the DNN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnnOrigin {
    Converted,
    Loaded,
}

/// The DNN and what derives from it.
struct DnnStage {
    /// The last snapshot (weights + metadata); None while a fresh run has not made one.
    saved: Option<Snapshot<DnnMeta>>,
    training: Option<training::TrainingRun>,
    calibration: Option<Calibration>,
}

enum Calibration {
    Running(Box<Calibrator>),
    Done(Calibrated),
}

/// A finished calibration: the per-layer statistics and the T of the last
/// conversion (the walkthrough's default).
#[derive(Clone)]
struct Calibrated {
    stats: Vec<LayerStats>,
    last_t: usize,
    /// Steps the calibration took.
    steps: usize,
}

struct SnnStage {
    saved: Snapshot<SnnMeta>,
    origin: SnnOrigin,
    finetuning: Option<finetuning::FinetuneRun>,
}

/// The state of one run of the pipeline, on one GPU.
pub struct Pipeline {
    gpu: Gpu,
    data: Option<Split>,
    dnn: Option<DnnStage>,
    snn: Option<SnnStage>,
    cancel: Cancel,
}

impl Pipeline {
    pub fn new(gpu: Gpu) -> Pipeline {
        Pipeline {
            gpu,
            data: None,
            dnn: None,
            snn: None,
            cancel: Cancel::default(),
        }
    }

    /// A handle that stops the running (or next) `*_steps` call before its
    /// next batch with `Error::Cancelled`; the run stays resumable.
    pub fn cancel_handle(&self) -> Cancel {
        self.cancel.clone()
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Use `split` from now on: runs bound to the old data stop (their last
    /// snapshots stay) and the calibration made on it is dropped.
    pub fn set_data(&mut self, split: Split) -> DatasetSummary {
        if let Some(d) = &mut self.dnn {
            d.training = None;
            d.calibration = None;
        }
        if let Some(s) = &mut self.snn {
            s.finetuning = None;
        }
        let summary = DatasetSummary::of(&split);
        self.data = Some(split);
        summary
    }

    pub fn data(&self) -> Result<&Split> {
        self.data.as_ref().ok_or_else(no_data)
    }

    /// Replace the DNN: its calibration and the SNN converted from the old one go.
    fn replace_dnn(&mut self, stage: DnnStage) {
        self.dnn = Some(stage);
        self.drop_converted_snn();
    }

    /// The DNN's weights changed (training went on): what derives from them goes.
    fn dnn_changed(&mut self) {
        if let Some(d) = &mut self.dnn {
            d.calibration = None;
        }
        self.drop_converted_snn();
    }

    fn drop_converted_snn(&mut self) {
        if self.snn.as_ref().is_some_and(|s| s.origin == SnnOrigin::Converted) {
            self.snn = None;
        }
    }

    fn replace_snn(&mut self, saved: Snapshot<SnnMeta>, origin: SnnOrigin) {
        self.snn = Some(SnnStage {
            saved,
            origin,
            finetuning: None,
        });
    }

    /// Load a checkpoint (DNN or SNN, by its metadata) as the current model of its kind.
    pub fn load_checkpoint(&mut self, ck: Checkpoint) -> Result<LoadedModel> {
        self.load_checkpoint_as(ck, None)
    }

    /// `load_checkpoint`, with `model` naming the architecture of a DNN file without metadata.
    pub fn load_checkpoint_as(&mut self, ck: Checkpoint, model: Option<&str>) -> Result<LoadedModel> {
        if ck.metadata.get("kind").and_then(|k| k.as_str()) == Some("snn") {
            self.load_snn(ck)
        } else {
            self.load_dnn_as(ck, model)
        }
    }

    /// `load_checkpoint` for a face that always has a model at hand (the page's
    /// model menu): a file with our metadata is read by it and `fallback` is
    /// ignored; a bare state dict is read as `fallback` (see `load_dnn_as`).
    pub fn load_checkpoint_or_bare(&mut self, ck: Checkpoint, fallback: Option<&str>) -> Result<LoadedModel> {
        let model = if ck.metadata.is_null() { fallback } else { None };
        self.load_checkpoint_as(ck, model)
    }

    /// Load a DNN checkpoint: it replaces the DNN and what derives from it.
    pub fn load_dnn(&mut self, ck: Checkpoint) -> Result<LoadedModel> {
        let meta = DnnMeta::from_checkpoint(&ck)?;
        let info = LoadedModel::Dnn {
            model: meta.model.name.clone(),
            dataset: meta.dataset.map(|d| d.name().to_string()),
            epoch: meta.epoch,
            history: meta.history.clone(),
            state_dict: false,
        };
        self.replace_dnn(DnnStage {
            saved: Some(Snapshot { ck, meta }),
            training: None,
            calibration: None,
        });
        Ok(info)
    }

    /// Load a DNN checkpoint that may lack our metadata (a plain PyTorch state
    /// dict saved with safetensors): `model` (a built-in name or JSON config)
    /// then names its architecture, built for the loaded data's images.
    pub fn load_dnn_as(&mut self, ck: Checkpoint, model: Option<&str>) -> Result<LoadedModel> {
        match (ck.metadata.is_null(), model) {
            (false, None) => self.load_dnn(ck),
            (false, Some(_)) => Err(Error::Config("the checkpoint names its model in its metadata; --model is for files without it".into())),
            (true, None) => Err(Error::Checkpoint(
                "the file carries no ultraspike metadata (a plain PyTorch state dict?): name its architecture (CLI: --model NAME or --model FILE.json; page: the model menu)".into(),
            )),
            (true, Some(name)) => {
                let train = &self.data()?.train;
                let opts = TrainOptions { model: name.to_string(), ..TrainOptions::default() };
                let meta = DnnMeta { normalization: Some(train.norm.clone()), ..DnnMeta::new(&opts.model_config(train)?) };
                let info = LoadedModel::Dnn { model: meta.model.name.clone(), dataset: None, epoch: 0, history: Vec::new(), state_dict: true };
                let ck = Checkpoint { metadata: serde_json::to_value(&meta).map_err(|e| Error::Checkpoint(e.to_string()))?, ..ck };
                let meta = DnnMeta::from_checkpoint(&ck)?; // the same checks as a file with metadata
                self.replace_dnn(DnnStage { saved: Some(Snapshot { ck, meta }), training: None, calibration: None });
                Ok(info)
            }
        }
    }

    /// Load an SNN checkpoint as the current SNN (independent of the DNN).
    pub fn load_snn(&mut self, ck: Checkpoint) -> Result<LoadedModel> {
        let meta = SnnMeta::from_checkpoint(&ck)?;
        let info = LoadedModel::Snn {
            model: meta.model.name.clone(),
            timesteps: meta.timesteps,
            method: meta.method.to_string(),
            finetune_epochs: meta.finetune_epochs,
        };
        self.replace_snn(Snapshot { ck, meta }, SnnOrigin::Loaded);
        Ok(info)
    }

    /// The DNN's last snapshot as it is (no read-back from a running training).
    pub fn saved_dnn(&self) -> Option<&Snapshot<DnnMeta>> {
        self.dnn.as_ref().and_then(|d| d.saved.as_ref())
    }

    /// The SNN's last snapshot as it is (no read-back from a running fine-tuning).
    pub fn saved_snn(&self) -> Option<&Snapshot<SnnMeta>> {
        self.snn.as_ref().map(|s| &s.saved)
    }

    /// What the pipeline holds now, for a face to show.
    pub fn state(&self) -> PipelineState {
        let dnn = self.dnn.as_ref();
        PipelineState {
            data: self.data.as_ref().map(DatasetSummary::of),
            dnn_epoch: dnn.and_then(|d| d.saved.as_ref()).map(|s| s.meta.epoch),
            training: dnn.is_some_and(|d| d.training.is_some()),
            calibrated: dnn.is_some_and(|d| matches!(d.calibration, Some(Calibration::Done(_)))),
            snn: self.snn.as_ref().map(|s| SnnSummary {
                origin: s.origin,
                timesteps: s.saved.meta.timesteps,
                finetune_epochs: s.saved.meta.finetune_epochs,
            }),
            finetuning: self.snn.as_ref().is_some_and(|s| s.finetuning.is_some()),
        }
    }

    /// The current SNN's last snapshot (fine-tuning snapshots first).
    pub async fn snn_snapshot(&mut self) -> Result<&Snapshot<SnnMeta>> {
        self.sync_finetuning().await?;
        Ok(&self.snn.as_ref().ok_or_else(no_snn)?.saved)
    }

    /// The current SNN as a NIR file (`export::snn_to_nir`, as `ultraspike export --format nir`).
    pub async fn snn_nir(&mut self) -> Result<Vec<u8>> {
        crate::export::snn_to_nir(&self.snn_snapshot().await?.ck)
    }

    /// The current DNN's snapshot (a running training snapshots first; if the
    /// GPU is gone, the last epoch's snapshot is still handed out).
    pub async fn dnn_snapshot(&mut self) -> Result<&Snapshot<DnnMeta>> {
        if let Err(e) = self.sync_training().await {
            if self.dnn.as_ref().and_then(|d| d.saved.as_ref()).is_none() {
                return Err(e);
            }
        }
        self.dnn.as_ref().and_then(|d| d.saved.as_ref()).ok_or_else(no_dnn)
    }

    fn test_set(&self) -> Result<&Dataset> {
        Ok(&self.data()?.test)
    }
}

/// What `load_checkpoint` found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LoadedModel {
    Dnn {
        model: String,
        dataset: Option<String>,
        epoch: usize,
        history: Vec<crate::spec::EpochRecord>,
        /// A plain state dict, read as the model the caller named.
        state_dict: bool,
    },
    Snn {
        model: String,
        timesteps: usize,
        method: String,
        finetune_epochs: usize,
    },
}

/// A summary of the pipeline's stages.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PipelineState {
    pub data: Option<DatasetSummary>,
    /// Epochs of the DNN's last snapshot.
    pub dnn_epoch: Option<usize>,
    pub training: bool,
    pub calibrated: bool,
    pub snn: Option<SnnSummary>,
    pub finetuning: bool,
}

/// What the current SNN is.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SnnSummary {
    pub origin: SnnOrigin,
    pub timesteps: usize,
    pub finetune_epochs: usize,
}

/// The index of the largest score (the first of equal ones); 0 for none.
fn argmax(scores: &[f32]) -> usize {
    (0..scores.len()).fold(0, |b, i| if scores[i] > scores[b] { i } else { b })
}

fn no_data() -> Error {
    Error::MissingStep("no dataset loaded: pick MNIST / Fashion-MNIST or load files first".into())
}

fn no_dnn() -> Error {
    Error::MissingStep("no DNN yet: train or load one".into())
}

fn no_snn() -> Error {
    Error::MissingStep("no SNN yet: convert the DNN (or load an SNN checkpoint) first".into())
}

fn not_calibrated() -> Error {
    Error::MissingStep("calibrate the DNN first".into())
}
