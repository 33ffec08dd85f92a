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
use crate::spec::{EpochRecord, Evaluation, Progress, StepStats};

/// What the driver needs of a trainer.
#[allow(async_fn_in_trait)] // driven on one thread (the CLI's or the page's); no Send bound wanted
pub trait EpochTrainer {
    fn epochs(&self) -> &EpochLoop;
    /// The next batch; `Ok(None)` when the epoch (or the run) has no more.
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<Option<StepStats>>;
    async fn evaluate(&mut self, gpu: &Gpu, test: &Dataset) -> Result<Evaluation>;
    /// Record the epoch and start the next one (learning rate, shuffle order).
    fn close_epoch(&mut self, gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord;
}

impl EpochTrainer for Trainer {
    fn epochs(&self) -> &EpochLoop {
        &self.run
    }
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<Option<StepStats>> {
        Trainer::train_batch(self, gpu, train).await
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
    async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<Option<StepStats>> {
        Finetuner::train_batch(self, gpu, train).await
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
    /// A `cancel` request stops it before the next batch (`Error::Cancelled`);
    /// the batches done so far stay done.
    pub async fn steps(
        &mut self,
        gpu: &Gpu,
        (train, test): (&Dataset, &Dataset),
        k: usize,
        cancel: &Cancel,
    ) -> Result<Progress> {
        let mut done = 0;
        while done < k {
            cancel.check()?;
            let start = Instant::now();
            let stepped = self.trainer.train_batch(gpu, train).await?;
            self.train_seconds += start.elapsed().as_secs_f64();
            if stepped.is_some() {
                done += 1;
                continue;
            }
            // Out of batches. An epoch with batches in it closes (also one that the
            // step budget cut short); a run that already closed its last one is done.
            if self.trainer.epochs().batches_in_epoch() == 0 {
                break;
            }
            let test_eval = self.trainer.evaluate(gpu, test).await?;
            let seconds = std::mem::take(&mut self.train_seconds);
            let record = self.trainer.close_epoch(gpu, test_eval, seconds);
            return Ok(self.trainer.epochs().progress(Some(record)));
        }
        Ok(self.trainer.epochs().progress(None))
    }
}
