//! The epoch policy, written once for both trainers (DNN SGD and SNN BPTT):
//! train up to `k` batches; when the epoch's batches run out (or the run's
//! step budget does) evaluate on the test set, close the epoch with the time
//! spent training, and report `Progress` with the epoch's record. Callers
//! (the pipeline) snapshot the weights whenever a record comes back.

use web_time::Instant;

use super::dnn::Trainer;
use super::epochs::EpochLoop;
use super::snn::Finetuner;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::spec::Cancel;
use crate::spec::{EpochRecord, Evaluation, Progress};

/// What the driver needs of a trainer.
#[allow(async_fn_in_trait)] // driven on one thread (the CLI's or the page's); no Send bound wanted
pub trait EpochTrainer {
    fn epochs(&self) -> &EpochLoop;
    /// Queue a step on the next batch; `Ok(false)` when the epoch (or the run) has no more.
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<bool>;
    /// Read the queued steps' statistics into the running means (one readback).
    async fn flush(&mut self, gpu: &Gpu) -> Result<()>;
    async fn evaluate(&mut self, gpu: &Gpu, test: &Dataset) -> Result<Evaluation>;
    /// Record the epoch and start the next one (learning rate, shuffle order).
    fn close_epoch(&mut self, gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord;
}

impl EpochTrainer for Trainer {
    fn epochs(&self) -> &EpochLoop {
        &self.run
    }
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<bool> {
        Trainer::train_batch(self, gpu, train).await
    }
    async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        Trainer::flush(self, gpu).await
    }
    async fn evaluate(&mut self, gpu: &Gpu, test: &Dataset) -> Result<Evaluation> {
        Trainer::evaluate(self, gpu, test).await
    }
    fn close_epoch(&mut self, gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord {
        self.finish_epoch(gpu, test, seconds)
    }
}

impl EpochTrainer for Finetuner {
    fn epochs(&self) -> &EpochLoop {
        &self.run
    }
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<bool> {
        Finetuner::train_batch(self, gpu, train).await
    }
    async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        Finetuner::flush(self, gpu).await
    }
    async fn evaluate(&mut self, gpu: &Gpu, test: &Dataset) -> Result<Evaluation> {
        Finetuner::evaluate(self, gpu, test).await
    }
    fn close_epoch(&mut self, _gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord {
        self.finish_epoch(test, seconds)
    }
}

/// A trainer and the training time of its open epoch (summed over calls, so a
/// page's idle time between slices is not counted).
pub struct EpochDriver<T> {
    pub trainer: T,
    train_seconds: f64,
}

impl<T: EpochTrainer> EpochDriver<T> {
    pub fn new(trainer: T) -> Self {
        EpochDriver {
            trainer,
            train_seconds: 0.0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.trainer.epochs().is_done()
    }

    pub fn progress(&self) -> Progress {
        self.trainer.epochs().progress(None)
    }

    /// Up to `k` batches; closes the epoch when its batches (or the run's steps) run out.
    /// Steps are queued without readbacks, at most one ahead of the GPU (`train::inflight`);
    /// their statistics are read when the log fills (`LOG_SLOTS` steps), before the call returns
    /// (the progress it reports) and when the epoch closes. A `cancel` request stops it before the next batch (`Error::Cancelled`);
    /// the batches done so far stay done and counted.
    pub async fn steps(
        &mut self,
        gpu: &Gpu,
        (train, test): (&Dataset, &Dataset),
        k: usize,
        cancel: &Cancel,
    ) -> Result<Progress> {
        let mut done = 0;
        let start = Instant::now();
        while done < k {
            if let Err(e) = cancel.check() {
                self.flush_timed(gpu, start).await?;
                return Err(e);
            }
            if self.trainer.train_batch(gpu, train).await? {
                done += 1;
                continue;
            }
            self.flush_timed(gpu, start).await?;
            // Out of batches. An epoch with batches in it closes (also one that the
            // step budget cut short); a run that already closed its last one is done.
            if self.trainer.epochs().batches_in_epoch() == 0 {
                return Ok(self.trainer.epochs().progress(None));
            }
            let test_eval = self.trainer.evaluate(gpu, test).await?;
            let seconds = std::mem::take(&mut self.train_seconds);
            let record = self.trainer.close_epoch(gpu, test_eval, seconds);
            return Ok(self.trainer.epochs().progress(Some(record)));
        }
        self.flush_timed(gpu, start).await?;
        Ok(self.trainer.epochs().progress(None))
    }

    /// Read the queued steps (waiting for them to finish) and add the time since `start` to
    /// the epoch's training time.
    async fn flush_timed(&mut self, gpu: &Gpu, start: Instant) -> Result<()> {
        let r = self.trainer.flush(gpu).await;
        self.train_seconds += start.elapsed().as_secs_f64();
        r
    }
}
