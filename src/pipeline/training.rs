//! DNN training through the pipeline: start (fresh, from weights, or resuming
//! the current DNN), step-wise batches with an evaluation and a snapshot per
//! epoch, or a run to the end with a progress callback.

use serde::Serialize;

use super::options::TrainOptions;
use super::{no_data, no_dnn, rules, DnnStage, Pipeline, Snapshot};
use crate::checkpoint::Checkpoint;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::meta::DnnMeta;
use crate::models::ModelConfig;
use crate::nn::tune::{tune_pending_where, TuneOptions};
use crate::spec::Progress;
use crate::train::{EpochDriver, Trainer};

/// Where a training run starts.
pub enum TrainStart {
    /// A fresh model (`TrainOptions::model`), the paper's init from the seed.
    Fresh,
    /// A fresh run from these weights (the momentum is not taken).
    FromWeights(Checkpoint),
    /// Continue the current DNN's run: weights, momentum, epoch, step and
    /// history; `epochs` counts the whole run, the finished ones included.
    Resume,
}

/// What a started run is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainInfo {
    pub model: ModelConfig,
    pub layers: usize,
    /// Epochs done already (a resumed run) and in all.
    pub epoch: usize,
    pub epochs: usize,
    /// SGD steps taken already (a resumed run).
    pub step: u64,
    pub batches_per_epoch: usize,
}

/// Reported while a run goes to its end.
pub enum TrainEvent<'a> {
    /// A batch was trained.
    Batch(&'a Progress),
    /// An epoch closed: its record is in the progress, its snapshot is here.
    Epoch(&'a Progress, &'a Snapshot<DnnMeta>),
}

pub(super) struct TrainingRun {
    driver: EpochDriver<Trainer>,
    /// Whether the shapes the trainer was built with were offered to the tuner (before the
    /// first step of this run).
    tuned: bool,
}

impl Pipeline {
    /// Build the trainer (the old run's buffers are freed first). A new model
    /// replaces the DNN and what derives from it.
    pub fn start_training(&mut self, opts: &TrainOptions, start: TrainStart) -> Result<TrainInfo> {
        opts.validate()?;
        if let Some(d) = &mut self.dnn {
            d.training = None;
        }
        let split = self.data.as_ref().ok_or_else(no_data)?;
        let resumed = match &start {
            TrainStart::Resume => Some(self.dnn.as_ref().and_then(|d| d.saved.clone()).ok_or_else(no_dnn)?),
            _ => None,
        };
        let model = match &resumed {
            Some(s) => {
                opts.check_resumed_model(&s.meta.model)?;
                s.meta.model.clone()
            }
            None => opts.model_config(&split.train)?,
        };
        let mut trainer = Trainer::new(&self.gpu, &model, &split.train, opts.to_config(split.train.kind))?;
        match (&start, &resumed) {
            (TrainStart::Resume, Some(s)) => {
                trainer.net.load_checkpoint(&self.gpu, &s.ck, true)?;
                trainer.resume_at(&self.gpu, s.meta.epoch, s.meta.step, s.meta.history.clone());
            }
            (TrainStart::FromWeights(ck), _) => trainer.net.load_checkpoint(&self.gpu, ck, false)?,
            _ => {}
        }
        self.gpu.check()?;
        let info = TrainInfo {
            layers: model.layers.len(),
            model,
            epoch: trainer.run.epoch,
            epochs: trainer.cfg.epochs,
            step: trainer.run.step,
            batches_per_epoch: trainer.batches_per_epoch(),
        };
        let training = Some(TrainingRun {
            driver: EpochDriver::new(trainer),
            tuned: false,
        });
        self.replace_dnn(DnnStage {
            saved: resumed,
            training,
            calibration: None,
        });
        Ok(info)
    }

    /// Up to `k` training batches; an epoch that closes is evaluated and snapshotted.
    pub async fn train_steps(&mut self, k: usize) -> Result<Progress> {
        self.dnn_changed();
        let split = self.data.as_ref().ok_or_else(no_data)?;
        let dnn = self.dnn.as_mut().ok_or_else(no_training)?;
        if dnn.training.as_ref().is_some_and(|r| !r.tuned) {
            let run = dnn.training.take().ok_or_else(no_training)?;
            dnn.training = Some(tune_first_use(&self.gpu, run, split).await?);
        }
        let run = dnn.training.as_mut().ok_or_else(no_training)?;
        let p = run
            .driver
            .steps(&self.gpu, (&split.train, &split.test), k, &self.cancel)
            .await?;
        if p.record.is_some() {
            dnn.saved = Some(snapshot(&self.gpu, run, split).await?);
        }
        if p.done {
            dnn.training = None; // its last epoch is in the snapshot; free the trainer's buffers
        }
        Ok(p)
    }

    /// Train to the end of the run, reporting progress (every `LOG_SLOTS` batches) and every
    /// epoch to `on`
    /// (which may stop the run by returning an error, e.g. `Error::Cancelled`).
    pub async fn train_to_end(&mut self, mut on: impl FnMut(TrainEvent) -> Result<()>) -> Result<Progress> {
        loop {
            // One progress read per LOG_SLOTS batches: steps queue without readbacks.
            let p = self.train_steps(crate::nn::loss::LOG_SLOTS).await?;
            match (&p.record, self.dnn.as_ref().and_then(|d| d.saved.as_ref())) {
                (Some(_), Some(s)) => on(TrainEvent::Epoch(&p, s))?,
                _ if p.batch > 0 => on(TrainEvent::Batch(&p))?,
                _ => {}
            }
            if p.done {
                return Ok(p);
            }
            if p.batch == 0 && p.record.is_none() {
                return Err(Error::Data("the training set yields no batch".into()));
            }
        }
    }

    /// Where the run stands without training (for a face that resumes its view).
    pub fn training_progress(&self) -> Result<Progress> {
        let run = self
            .dnn
            .as_ref()
            .and_then(|d| d.training.as_ref())
            .ok_or_else(no_training)?;
        Ok(run.driver.progress())
    }

    /// Copy the running trainer's weights into the DNN's snapshot (a no-op without a run).
    pub(super) async fn sync_training(&mut self) -> Result<()> {
        let (Some(dnn), Some(split)) = (self.dnn.as_mut(), self.data.as_ref()) else {
            return Ok(());
        };
        if let Some(run) = &dnn.training {
            dnn.saved = Some(snapshot(&self.gpu, run, split).await?);
        }
        Ok(())
    }
}

/// Time the layer shapes this adapter has no choice for yet (`nn::tune`, bounded), once per run
/// before its first step. When a timing picked another variant than the one the trainer was
/// built with, the trainer is built again from the same weights, momentum and position, so the
/// run is the same, number for number (the variants give the same bits), only faster.
async fn tune_first_use(gpu: &Gpu, mut run: TrainingRun, split: &Split) -> Result<TrainingRun> {
    run.tuned = true;
    // The shapes of this run's batch only: those an evaluation at another batch left pending
    // would spend the budget on layers the run never uses (the page's first-visit evaluation at
    // batch 100 took all of it before).
    let batch = run.driver.trainer.cfg.batch;
    let report = tune_pending_where(gpu, &TuneOptions::default(), |p| p.shape.batch() == batch).await?;
    if report.changed == 0 {
        return Ok(run);
    }
    let t = &run.driver.trainer;
    let meta = rules::trained_dnn(&t.net.cfg, &split.train, &t.cfg, &t.run);
    let ck = t.net.to_checkpoint(gpu, &meta, true).await?;
    let (model, cfg) = (t.net.cfg.clone(), t.cfg.clone());
    let (epoch, step, history) = (t.run.epoch, t.run.step, t.run.history.clone());
    drop(run); // free the old buffers before the new ones are allocated
    let mut trainer = Trainer::new(gpu, &model, &split.train, cfg)?;
    trainer.net.load_checkpoint(gpu, &ck, true)?;
    if epoch > 0 || step > 0 {
        trainer.resume_at(gpu, epoch, step, history);
    }
    gpu.check()?;
    Ok(TrainingRun {
        driver: EpochDriver::new(trainer),
        tuned: true,
    })
}

/// The trainer's weights and momentum with the run's metadata.
async fn snapshot(gpu: &Gpu, run: &TrainingRun, split: &Split) -> Result<Snapshot<DnnMeta>> {
    let t = &run.driver.trainer;
    let meta = rules::trained_dnn(&t.net.cfg, &split.train, &t.cfg, &t.run);
    let ck = t.net.to_checkpoint(gpu, &meta, true).await?;
    // Parsed back, so a value JSON cannot hold (NaN becomes null) fails here, not when the file is loaded.
    let meta = DnnMeta::from_checkpoint(&ck)
        .map_err(|e| Error::Diverged(format!("the snapshot's metadata does not read back: {e}")))?;
    Ok(Snapshot { ck, meta })
}

fn no_training() -> Error {
    Error::MissingStep("no training run: start training first".into())
}
