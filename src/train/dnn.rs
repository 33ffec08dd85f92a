//! The DNN trainer: SGD with momentum and weight decay, step decay, seeded
//! shuffling/augmentation/dropout (a fixed seed gives the same run), an
//! evaluation per epoch, and a NaN/Inf guard. Driven batch by batch so the
//! browser can interleave it with its event loop; the CLI loops over it.

use serde::{Deserialize, Serialize};

use super::schedule::StepDecay;
use crate::data::batch::Batcher;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::models::dnn::{DnnNet, SgdConfig, StepStats};
use crate::models::ModelConfig;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub sgd: SgdConfig,
    pub schedule: StepDecay,
    pub augment: bool,
    pub shuffle: bool,
    pub dropout: bool,
    pub seed: u64,
    /// Stop after this many steps in total (for quick runs and tests).
    pub max_steps: Option<u64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch: 64,
            sgd: SgdConfig::default(),
            schedule: StepDecay::default(),
            augment: false,
            shuffle: true,
            dropout: true,
            seed: 0,
            max_steps: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f32,
    pub train_acc: f32,
    pub test_loss: f32,
    pub test_acc: f32,
    pub seconds: f64,
    pub images_per_s: f64,
}

/// Loss and accuracy over a dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
    pub images: usize,
}

pub struct Trainer {
    pub net: DnnNet,
    pub cfg: TrainConfig,
    batcher: Batcher,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed in total.
    pub step: u64,
    x: Vec<f32>,
    y: Vec<u32>,
    running: StepStats,
    pub history: Vec<EpochRecord>,
}

impl Trainer {
    pub fn new(gpu: &Gpu, model: &ModelConfig, train: &Dataset, cfg: TrainConfig) -> Result<Trainer> {
        check_dataset(model, train)?;
        let mut net = DnnNet::new(gpu, model, cfg.batch, cfg.seed, cfg.sgd)?;
        net.set_dropout(cfg.dropout);
        let batcher = Batcher::new(train, cfg.batch, cfg.shuffle, cfg.augment, cfg.seed);
        let img = net.image_len();
        let mut t = Trainer {
            x: vec![0.0; cfg.batch * img],
            y: vec![0; cfg.batch],
            net,
            cfg,
            batcher,
            epoch: 0,
            step: 0,
            running: StepStats::default(),
            history: Vec::new(),
        };
        t.begin_epoch(gpu);
        Ok(t)
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.batcher.batches_per_epoch()
    }

    pub fn is_done(&self) -> bool {
        self.epoch >= self.cfg.epochs || self.cfg.max_steps.is_some_and(|m| self.step >= m)
    }

    /// Set the epoch's learning rate and shuffle order; called by `new`,
    /// `finish_epoch` and when resuming at an epoch boundary.
    pub fn begin_epoch(&mut self, gpu: &Gpu) {
        let lr = self.cfg.schedule.lr(self.cfg.sgd.lr, self.epoch, self.cfg.epochs);
        self.net.set_sgd(gpu, SgdConfig { lr, ..self.cfg.sgd });
        self.batcher.reset_epoch(self.epoch as u64);
        self.running = StepStats::default();
    }

    /// Train on the next batch. `Ok(None)` at the end of the epoch: evaluate,
    /// then call `finish_epoch`.
    pub async fn train_batch(&mut self, gpu: &Gpu, train: &Dataset) -> Result<Option<StepStats>> {
        if self.is_done() {
            return Ok(None);
        }
        let Some(valid) = self.batcher.next_batch(train, &mut self.x, &mut self.y)? else {
            return Ok(None);
        };
        let seed = (self.cfg.seed as u32) ^ (self.step as u32).wrapping_mul(0x85EB_CA6B);
        let s = self.net.train_step(gpu, &self.x, &self.y, valid, seed).await?;
        self.step += 1;
        self.running.loss_sum += s.loss_sum;
        self.running.correct += s.correct;
        self.running.count += s.count;
        Ok(Some(s))
    }

    /// Mean training loss and accuracy of the epoch so far.
    pub fn running(&self) -> (f32, f32) {
        let n = self.running.count.max(1) as f32;
        (self.running.loss_sum / n, self.running.correct / n)
    }

    /// Close the epoch with its evaluation and timing, and start the next one.
    pub fn finish_epoch(&mut self, gpu: &Gpu, test: Evaluation, seconds: f64) -> EpochRecord {
        let (train_loss, train_acc) = self.running();
        let rec = EpochRecord {
            epoch: self.epoch,
            lr: self.net.sgd().lr,
            train_loss,
            train_acc,
            test_loss: test.loss,
            test_acc: test.accuracy,
            seconds,
            images_per_s: self.running.count as f64 / seconds.max(1e-9),
        };
        self.history.push(rec.clone());
        self.epoch += 1;
        self.begin_epoch(gpu);
        rec
    }

    pub async fn evaluate(&mut self, gpu: &Gpu, ds: &Dataset) -> Result<Evaluation> {
        check_dataset(&self.net.cfg, ds)?;
        evaluate(gpu, &self.net, ds, &mut self.x, &mut self.y).await
    }
}

/// Loss and accuracy of `net` over all of `ds`, in order, batch by batch.
pub async fn evaluate(gpu: &Gpu, net: &DnnNet, ds: &Dataset, x: &mut [f32], y: &mut [u32]) -> Result<Evaluation> {
    let img = net.image_len();
    let (mut loss, mut correct) = (0f64, 0f64);
    let mut start = 0;
    while start < ds.n {
        let valid = net.batch.min(ds.n - start);
        for i in 0..valid {
            ds.normalized_into(start + i, &mut x[i * img..(i + 1) * img]);
            y[i] = ds.labels[start + i] as u32;
        }
        let s = net.eval_step(gpu, x, y, valid).await?;
        loss += s.loss_sum as f64;
        correct += s.correct as f64;
        start += valid;
    }
    let n = ds.n.max(1) as f64;
    Ok(Evaluation { loss: (loss / n) as f32, accuracy: (correct / n) as f32, images: ds.n })
}

/// The dataset's images and classes must match what the model expects.
pub fn check_dataset(model: &ModelConfig, ds: &Dataset) -> Result<()> {
    if [ds.c, ds.h, ds.w] != model.input || ds.classes > model.classes {
        return Err(Error::Data(format!(
            "dataset `{}` has {}x{}x{} images and {} classes; model `{}` expects {:?} and {} classes",
            ds.kind.name(),
            ds.c,
            ds.h,
            ds.w,
            ds.classes,
            model.name,
            model.input,
            model.classes
        )));
    }
    Ok(())
}
