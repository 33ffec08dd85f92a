//! SNN fine-tuning (paper section 5, SGL): BPTT over T steps with a surrogate
//! spike gradient, Adam (AMSGrad), weights + thresholds + leaks trained, step
//! decay, seeded like the DNN trainer, a NaN guard. Driven batch by batch.

use super::epochs::{EpochLoop, EpochRecord, Evaluation};
use super::inflight::InFlight;
use crate::checkpoint::Checkpoint;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::models::config::{LayerSpec, ModelConfig};
use crate::snn::net::{SnnNet, SnnOptions};
use crate::spec::NeuronParams;

pub use crate::spec::train::FinetuneConfig;

/// The model with every dropout probability replaced by `p`.
pub fn with_dropout(model: &ModelConfig, p: f32) -> ModelConfig {
    let mut m = model.clone();
    for l in &mut m.layers {
        match l {
            LayerSpec::Dropout { p: q } => *q = p,
            LayerSpec::Block { dropout, .. } => *dropout = p,
            _ => {}
        }
    }
    m
}

pub struct Finetuner {
    pub net: SnnNet,
    pub cfg: FinetuneConfig,
    /// Batches, counters, running means and history.
    pub run: EpochLoop,
    /// Fences of the queued steps the GPU may still be running.
    in_flight: InFlight,
}

impl Finetuner {
    /// A training SNN for `model` with `neurons`, parameters from an SNN checkpoint.
    pub fn new(
        gpu: &Gpu,
        model: &ModelConfig,
        neurons: &[NeuronParams],
        ck: &Checkpoint,
        out_scale: f32,
        train: &Dataset,
        cfg: FinetuneConfig,
    ) -> Result<Finetuner> {
        let model = match cfg.dropout {
            Some(p) => with_dropout(model, p),
            None => model.clone(),
        };
        crate::models::check_dataset(&model, train)?;
        let opts = SnnOptions {
            batch: cfg.batch,
            t: cfg.t,
            train: true,
            surrogate: cfg.surrogate,
            out_scale,
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
        };
        let net = SnnNet::new(gpu, &model, neurons, opts)?;
        net.load_snn_checkpoint(gpu, ck)?;
        let run = EpochLoop::new(
            train,
            cfg.batch,
            cfg.shuffle,
            cfg.augment,
            cfg.seed,
            cfg.epochs,
            cfg.max_steps,
        );
        let mut f = Finetuner {
            net,
            cfg,
            run,
            in_flight: InFlight::default(),
        };
        f.begin_epoch();
        Ok(f)
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.run.batches_per_epoch()
    }

    pub fn is_done(&self) -> bool {
        self.run.is_done()
    }

    fn begin_epoch(&mut self) {
        self.net
            .set_lr(self.cfg.schedule.lr(self.cfg.lr, self.run.epoch, self.cfg.epochs));
        self.run.begin_epoch();
    }

    /// Queue a step on the next batch (no readback; the log is drained first when full);
    /// `Ok(false)` at the end of the epoch.
    pub async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<bool> {
        super::inflight::queue_next(&mut self.net, &mut self.run, &mut self.in_flight, gpu, train).await
    }

    /// Read the queued steps' statistics (one readback) into the running means.
    pub async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        super::inflight::flush(&mut self.net, &mut self.run, &mut self.in_flight, gpu).await
    }

    pub fn running(&self) -> (f32, f32) {
        self.run.running()
    }

    pub fn finish_epoch(&mut self, test: Evaluation, seconds: f64) -> EpochRecord {
        let rec = self.run.finish_epoch(self.net.opts.lr, test, seconds);
        self.begin_epoch();
        rec
    }

    /// Accuracy on `ds` with the training net (no dropout).
    pub async fn evaluate(&mut self, gpu: &Gpu, ds: &Dataset) -> Result<Evaluation> {
        crate::snn::eval::evaluate_accuracy(gpu, &self.net, ds, &mut self.run.x, &mut self.run.y).await
    }
}
