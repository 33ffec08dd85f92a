//! The DNN trainer: SGD with momentum and weight decay, step decay, seeded
//! shuffling/augmentation/dropout (a fixed seed gives the same run), an
//! evaluation per epoch, and a NaN/Inf guard. Driven batch by batch so the
//! browser can interleave it with its event loop; the CLI loops over it.

use super::epochs::EpochLoop;
pub use super::epochs::{EpochRecord, Evaluation};
use super::inflight::InFlight;
use crate::data::Dataset;
use crate::dnn::evaluate;
use crate::dnn::{DnnNet, SgdConfig};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::models::check_dataset;
use crate::models::ModelConfig;

pub use crate::spec::train::TrainConfig;

pub struct Trainer {
    pub net: DnnNet,
    pub cfg: TrainConfig,
    /// Batches, counters, running means and history.
    pub run: EpochLoop,
    /// Fences of the queued steps the GPU may still be running.
    in_flight: InFlight,
}

impl Trainer {
    pub fn new(gpu: &Gpu, model: &ModelConfig, train: &Dataset, cfg: TrainConfig) -> Result<Trainer> {
        check_dataset(model, train)?;
        let mut net = DnnNet::new(gpu, model, cfg.batch, cfg.seed, cfg.sgd)?;
        net.set_dropout(cfg.dropout);
        let run = EpochLoop::new(
            train,
            cfg.batch,
            cfg.shuffle,
            cfg.augment,
            cfg.seed,
            cfg.epochs,
            cfg.max_steps,
        );
        let mut t = Trainer {
            net,
            cfg,
            run,
            in_flight: InFlight::default(),
        };
        t.begin_epoch(gpu);
        Ok(t)
    }

    /// Continue a run saved after `epoch` epochs and `step` steps (see `DnnMeta`).
    pub fn resume_at(&mut self, gpu: &Gpu, epoch: usize, step: u64, history: Vec<EpochRecord>) {
        self.run.resume_at(epoch, step, history);
        self.begin_epoch(gpu);
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.run.batches_per_epoch()
    }

    pub fn is_done(&self) -> bool {
        self.run.is_done()
    }

    /// Set the epoch's learning rate and shuffle order (restarts the epoch).
    pub fn begin_epoch(&mut self, gpu: &Gpu) {
        let lr = self.cfg.schedule.lr(self.cfg.sgd.lr, self.run.epoch, self.cfg.epochs);
        self.net.set_sgd(gpu, SgdConfig { lr, ..self.cfg.sgd });
        self.run.begin_epoch();
    }

    /// Queue a step on the next batch (no readback; the log is drained first when full).
    /// `Ok(false)` at the end of the epoch: `flush`, evaluate, then call `finish_epoch`.
    pub async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<bool> {
        super::inflight::queue_next(&mut self.net, &mut self.run, &mut self.in_flight, gpu, train).await
    }

    /// Read the queued steps' statistics (one readback) into the running means.
    pub async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        super::inflight::flush(&mut self.net, &mut self.run, &mut self.in_flight, gpu).await
    }

    /// Mean training loss and accuracy of the epoch so far.
    pub fn running(&self) -> (f32, f32) {
        self.run.running()
    }

    /// Close the epoch with its evaluation and timing, and start the next one.
    pub fn finish_epoch(&mut self, gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord {
        let rec = self.run.finish_epoch(self.net.sgd().lr, test, seconds);
        self.begin_epoch(gpu);
        rec
    }

    pub async fn evaluate(&mut self, gpu: &Gpu, ds: &Dataset) -> Result<Evaluation> {
        check_dataset(&self.net.cfg, ds)?;
        evaluate(gpu, &mut self.net, ds, &mut self.run.x, &mut self.run.y).await
    }
}
