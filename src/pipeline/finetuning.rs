//! SNN fine-tuning (surrogate-gradient BPTT) through the pipeline: start from
//! the current SNN, step-wise batches with an evaluation and a snapshot per
//! epoch, or a run to the end with a progress callback.

use serde::Serialize;

use super::options::FinetuneOptions;
use super::{no_data, no_snn, rules, Pipeline, Snapshot};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::meta::SnnMeta;
use crate::spec::{Evaluation, Progress};
use crate::train::snn::Finetuner;
use crate::train::EpochDriver;

/// What a started fine-tuning run is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FinetuneInfo {
    pub t: usize,
    pub images: usize,
    pub memory_bytes: u64,
    pub batches_per_epoch: usize,
}

/// Reported while a fine-tuning run goes to its end.
pub enum FinetuneEvent<'a> {
    Batch(&'a Progress),
    Epoch(&'a Progress, &'a Snapshot<SnnMeta>),
}

pub(super) struct FinetuneRun {
    driver: EpochDriver<Finetuner>,
    /// The metadata of the SNN the run started from (epochs and history add to it).
    base: SnnMeta,
    /// The training images when a subset was asked for (else the whole training set).
    subset: Option<Dataset>,
}

impl Pipeline {
    /// Build the BPTT trainer from the current SNN (the old run's buffers are freed first).
    pub fn start_finetune(&mut self, opts: &FinetuneOptions) -> Result<FinetuneInfo> {
        opts.validate()?;
        let split = self.data.as_ref().ok_or_else(no_data)?;
        let snn = self.snn.as_mut().ok_or_else(no_snn)?;
        snn.finetuning = None;
        let base = snn.saved.meta.clone();
        let t = opts.timesteps.unwrap_or(base.timesteps);
        let subset = opts.train_subset.map(|n| split.train.subset(0, n));
        let train = subset.as_ref().unwrap_or(&split.train);
        let cfg = opts.to_config(t, train.kind)?;
        let f = Finetuner::new(
            &self.gpu,
            &base.model,
            &base.neurons,
            &snn.saved.ck,
            base.out_scale,
            train,
            cfg,
        )?;
        self.gpu.check()?;
        let info = FinetuneInfo {
            t,
            images: train.n,
            memory_bytes: f.net.memory_bytes,
            batches_per_epoch: f.batches_per_epoch(),
        };
        snn.finetuning = Some(FinetuneRun {
            driver: EpochDriver::new(f),
            base,
            subset,
        });
        Ok(info)
    }

    /// Test loss and accuracy of the fine-tuning net as it is now.
    pub async fn finetune_evaluate(&mut self) -> Result<Evaluation> {
        let split = self.data.as_ref().ok_or_else(no_data)?;
        let run = self
            .snn
            .as_mut()
            .and_then(|s| s.finetuning.as_mut())
            .ok_or_else(no_finetuning)?;
        run.driver.trainer.evaluate(&self.gpu, &split.test).await
    }

    /// Up to `k` BPTT batches; an epoch that closes is evaluated and becomes the current SNN.
    pub async fn finetune_steps(&mut self, k: usize) -> Result<Progress> {
        let split = self.data.as_ref().ok_or_else(no_data)?;
        let snn = self.snn.as_mut().ok_or_else(no_finetuning)?;
        let run = snn.finetuning.as_mut().ok_or_else(no_finetuning)?;
        let train = run.subset.as_ref().unwrap_or(&split.train);
        let p = run
            .driver
            .steps(&self.gpu, (train, &split.test), k, &self.cancel)
            .await?;
        if p.record.is_some() {
            snn.saved = snapshot(&self.gpu, run).await?;
        }
        if p.done {
            snn.finetuning = None; // its last epoch is the current SNN; free the BPTT buffers
        }
        Ok(p)
    }

    /// Fine-tune to the end of the run, reporting progress (every `LOG_SLOTS` batches) and every
    /// epoch to `on`.
    pub async fn finetune_to_end(&mut self, mut on: impl FnMut(FinetuneEvent) -> Result<()>) -> Result<Progress> {
        loop {
            // One progress read per LOG_SLOTS batches: steps queue without readbacks.
            let p = self.finetune_steps(crate::nn::loss::LOG_SLOTS).await?;
            match (&p.record, self.snn.as_ref()) {
                (Some(_), Some(s)) => on(FinetuneEvent::Epoch(&p, &s.saved))?,
                _ if p.batch > 0 => on(FinetuneEvent::Batch(&p))?,
                _ => {}
            }
            if p.done {
                return Ok(p);
            }
            if p.batch == 0 && p.record.is_none() {
                return Err(Error::Data("the fine-tuning set yields no batch".into()));
            }
        }
    }

    /// Copy the fine-tuner's weights, thresholds and leaks into the SNN's snapshot.
    pub(super) async fn sync_finetuning(&mut self) -> Result<()> {
        let Some(snn) = self.snn.as_mut() else {
            return Ok(());
        };
        if let Some(run) = &snn.finetuning {
            snn.saved = snapshot(&self.gpu, run).await?;
        }
        Ok(())
    }
}

async fn snapshot(gpu: &Gpu, run: &FinetuneRun) -> Result<Snapshot<SnnMeta>> {
    let f = &run.driver.trainer;
    let meta = rules::finetuned_snn(&run.base, f.cfg.t, &f.run, f.net.adam_steps());
    let ck = f.net.to_checkpoint(gpu, &meta).await?;
    let meta = crate::meta::SnnMeta::from_checkpoint(&ck)?;
    Ok(Snapshot { ck, meta })
}

fn no_finetuning() -> Error {
    Error::MissingStep("no fine-tuning run: start fine-tuning first".into())
}
