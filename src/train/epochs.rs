//! The bookkeeping both training loops share (DNN SGD and SNN BPTT): seeded
//! batches, epoch and step counters, running loss/accuracy, the per-epoch
//! history and the progress a caller shows. The nets stay in their trainers.

use crate::data::batch::Batcher;
use crate::data::Dataset;
use crate::dnn::StepStats;
use crate::error::Result;

pub use crate::spec::records::{EpochRecord, Evaluation, Progress};

pub struct EpochLoop {
    batcher: Batcher,
    /// The run's length in epochs (the schedule decays at fractions of it).
    pub epochs: usize,
    pub max_steps: Option<u64>,
    seed: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed in total.
    pub step: u64,
    /// Steps done in the current epoch.
    in_epoch: usize,
    /// The current batch: normalized images and labels.
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    running: StepStats,
    pub history: Vec<EpochRecord>,
}

impl EpochLoop {
    pub fn new(
        train: &Dataset,
        batch: usize,
        shuffle: bool,
        augment: bool,
        seed: u64,
        epochs: usize,
        max_steps: Option<u64>,
    ) -> EpochLoop {
        let batch = batch.max(1);
        let mut lp = EpochLoop {
            batcher: Batcher::new(train, batch, shuffle, augment, seed),
            epochs,
            max_steps,
            seed,
            epoch: 0,
            step: 0,
            in_epoch: 0,
            x: vec![0.0; batch * train.image_len()],
            y: vec![0; batch],
            running: StepStats::default(),
            history: Vec::new(),
        };
        lp.begin_epoch();
        lp
    }

    /// Continue a run saved after `epoch` epochs and `step` steps.
    pub fn resume_at(&mut self, epoch: usize, step: u64, history: Vec<EpochRecord>) {
        self.epoch = epoch;
        self.step = step;
        self.history = history;
        self.begin_epoch();
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.batcher.batches_per_epoch()
    }

    /// Batches trained in the current (open) epoch.
    pub fn batches_in_epoch(&self) -> usize {
        self.in_epoch
    }

    pub fn is_done(&self) -> bool {
        self.epoch >= self.epochs || self.max_steps.is_some_and(|m| self.step >= m)
    }

    /// The shuffle order of the current epoch; clears the running means.
    pub fn begin_epoch(&mut self) {
        self.batcher.reset_epoch(self.epoch as u64);
        self.running = StepStats::default();
        self.in_epoch = 0;
    }

    /// Fill `x`/`y` with the next batch: `Some((valid rows, dropout seed))`, or
    /// `None` at the end of the epoch (or of the run).
    pub fn next_batch(&mut self, train: &Dataset) -> Result<Option<(usize, u32)>> {
        if self.is_done() {
            return Ok(None);
        }
        let Some(valid) = self.batcher.next_batch(train, &mut self.x, &mut self.y)? else {
            return Ok(None);
        };
        let seed = (self.seed as u32) ^ (self.step as u32).wrapping_mul(0x85EB_CA6B);
        Ok(Some((valid, seed)))
    }

    /// Count a queued step (the next batch's seed depends on it, so this cannot wait for the
    /// step's statistics).
    pub fn count_step(&mut self) {
        self.step += 1;
        self.in_epoch += 1;
    }

    /// Add a counted step's statistics to the running sums, in step order (`drain_steps`
    /// returns them so), which keeps the sums those of reading after every step.
    pub fn add_stats(&mut self, s: &StepStats) {
        self.running.loss_sum += s.loss_sum;
        self.running.correct += s.correct;
        self.running.count += s.count;
    }

    /// Mean training loss and accuracy of the epoch so far.
    pub fn running(&self) -> (f32, f32) {
        let n = self.running.count.max(1) as f32;
        (self.running.loss_sum / n, self.running.correct / n)
    }

    /// Close the epoch with its learning rate, evaluation and timing; the
    /// caller then sets the next epoch's learning rate and calls `begin_epoch`.
    pub fn finish_epoch(&mut self, lr: f32, test: Evaluation, seconds: f64) -> EpochRecord {
        let (train_loss, train_acc) = self.running();
        let rec = EpochRecord {
            epoch: self.epoch,
            lr,
            train_loss,
            train_acc,
            test_loss: test.loss,
            test_acc: test.accuracy,
            seconds,
            images_per_s: self.running.count as f64 / seconds.max(1e-9),
        };
        self.history.push(rec.clone());
        self.epoch += 1;
        rec
    }

    pub fn progress(&self, record: Option<EpochRecord>) -> Progress {
        let (loss, accuracy) = self.running();
        let batches = self.batches_per_epoch();
        Progress {
            epoch: self.epoch,
            epochs: self.epochs,
            batch: self.in_epoch.min(batches),
            batches,
            loss,
            accuracy,
            record,
            done: self.is_done(),
        }
    }
}
