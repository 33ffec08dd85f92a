//! The threshold-ReLU DNN on the GPU: every buffer allocated once for a fixed
//! batch, and four programs recorded at build time - forward (train / eval),
//! backward, and the optimizer update. A queued training step writes the batch
//! and makes one submission, whose last command copies the step's two floats
//! (loss sum, correct count) into the step log; `drain_steps` reads the log.

use super::build::Builder;
use super::params::{alloc_params, sgd_ops, sgd_params, GpuParam};
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Op, Tensor};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::nn::dropout::Dropout;
use crate::nn::fit::check_model_fits;
use crate::nn::loss::{softmax_xent, SoftmaxXent, StepLog};
use crate::nn::program::{Arena, Step};

pub use crate::spec::optim::SgdConfig;
pub use crate::spec::records::StepStats;

pub struct DnnNet {
    pub cfg: ModelConfig,
    pub batch: usize,
    pub params: Vec<GpuParam>,
    pub input: Tensor,
    pub labels: Tensor,
    /// acts[0] is the input; acts[i + 1] the output of layer i (logits last).
    pub acts: Vec<Tensor>,
    /// Input (pre-activation) and output of each threshold-ReLU, in mu order.
    pub pre_acts: Vec<Tensor>,
    pub post_acts: Vec<Tensor>,
    pub(crate) arena: Arena,
    pub(crate) fwd_train: Vec<Step>,
    pub(crate) fwd_eval: Vec<Step>,
    pub(crate) bwd: Vec<Step>,
    /// The optimizer's ops: (arena op index, elements it updates). One op over every trainable
    /// parameter when they share buffers (`alloc_params`), else one per parameter.
    pub(crate) update: Vec<(usize, usize)>,
    pub(crate) loss: SoftmaxXent,
    pub(crate) stats: Tensor,
    pub(crate) drop_enabled: bool,
    sgd: SgdConfig,
    /// Statistics of queued steps, on the GPU until `drain_steps`.
    log: StepLog,
}

impl DnnNet {
    /// Build the network for batches of at most `batch` images, initialized
    /// with the paper's init from `seed`.
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, batch: usize, seed: u64, sgd: SgdConfig) -> Result<DnnNet> {
        cfg.validate()?;
        if batch == 0 {
            return Err(Error::Config("batch size must be >= 1".into()));
        }
        check_model_fits(gpu, cfg, batch)?;
        let store = alloc_params(gpu, cfg, seed)?;
        let params = &store.params;
        let mut b = Builder::new(gpu, cfg, batch, params)?;
        b.build()?;
        let built = b.finish();
        let classes = cfg.classes;
        let logits = built
            .acts
            .last()
            .ok_or_else(|| Error::Config("model has no layers".into()))?;
        let labels = gpu.tensor("labels", &[batch])?;
        let stats = gpu.tensor("loss.stats", &[2])?;
        let loss = softmax_xent(gpu, "loss", batch, classes, logits, &labels, built.dlogits(), &stats)?;
        let mut arena = built.arena;
        let update = sgd_ops(gpu, &mut arena, &store, &sgd)?;
        let params = store.params;
        Ok(DnnNet {
            cfg: cfg.clone(),
            batch,
            params,
            input: built.input,
            labels,
            acts: built.acts,
            pre_acts: built.pre_acts,
            post_acts: built.post_acts,
            arena,
            fwd_train: built.fwd_train,
            fwd_eval: built.fwd_eval,
            bwd: built.bwd,
            update,
            loss,
            stats,
            drop_enabled: true,
            sgd,
            log: StepLog::new(gpu, "loss.log")?,
        })
    }

    pub fn image_len(&self) -> usize {
        self.cfg.input.iter().product()
    }

    /// Turn dropout off for training (it is always off in evaluation).
    pub fn set_dropout(&mut self, on: bool) {
        self.drop_enabled = on;
    }

    /// Change the SGD hyper-parameters (e.g. the learning-rate schedule).
    pub fn set_sgd(&mut self, gpu: &Gpu, sgd: SgdConfig) {
        self.sgd = sgd;
        for &(oi, n) in &self.update {
            self.arena.ops[oi].set_params(gpu, &sgd_params(n, &sgd));
        }
    }

    pub fn sgd(&self) -> SgdConfig {
        self.sgd
    }

    fn load_batch(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize) -> Result<()> {
        let img = self.image_len();
        if valid == 0 || valid > self.batch || x.len() < valid * img || y.len() < valid {
            return Err(Error::Shape(format!(
                "batch of {valid} (x {} values, y {}) for a net built for {} images of {img}",
                x.len(),
                y.len(),
                self.batch
            )));
        }
        gpu.write(&self.input, &x[..valid * img])?;
        gpu.write_u32(&self.labels, &y[..valid])?;
        self.loss.set_valid(gpu, valid as u32)?;
        Ok(())
    }

    async fn read_stats(&self, gpu: &Gpu, valid: usize) -> Result<StepStats> {
        let s = gpu.read(&self.stats).await?;
        Ok(StepStats {
            loss_sum: s[0],
            correct: s[1],
            count: valid,
        })
    }

    /// One SGD step on `valid` images (x: [valid, C, H, W] normalized, y: labels), read back
    /// at once: `queue_train_step` + `drain_steps`. Trainers queue instead.
    pub async fn train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<StepStats> {
        self.drain_steps(gpu).await?;
        self.queue_train_step(gpu, x, y, valid, seed)?;
        let s = self.drain_steps(gpu).await?;
        s.into_iter()
            .next()
            .ok_or_else(|| Error::Gpu("a queued step left no statistics".into()))
    }

    /// Queue one SGD step on `valid` images: one submission, no readback. `seed` drives the
    /// dropout masks. Errors when `LOG_SLOTS` steps are queued: `drain_steps` first.
    pub fn queue_train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<()> {
        if self.log.is_full() {
            return Err(Error::Gpu("step log full: drain_steps before queueing more".into()));
        }
        self.load_batch(gpu, x, y, valid)?;
        for (i, d) in self.arena.dropouts.iter().enumerate() {
            d.set_seed(gpu, seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u32));
        }
        let mut enc = Encoder::new(gpu, "train step");
        let fwd = if self.drop_enabled {
            &self.fwd_train
        } else {
            &self.fwd_eval
        };
        self.arena.record(fwd, &mut enc);
        for op in &self.loss.ops {
            enc.dispatch(op);
        }
        self.arena.record(&self.bwd, &mut enc);
        for &(oi, _) in &self.update {
            enc.dispatch(&self.arena.ops[oi]);
        }
        self.log.record(&mut enc, &self.stats, valid)?;
        enc.submit(gpu)
    }

    /// Whether `LOG_SLOTS` steps wait in the log (drain before queueing another).
    pub fn log_full(&self) -> bool {
        self.log.is_full()
    }

    /// The statistics of every step queued since the last drain, in order, with one readback.
    /// A non-finite loss among them is `Error::Diverged` (detected here, at the read).
    pub async fn drain_steps(&mut self, gpu: &Gpu) -> Result<Vec<StepStats>> {
        let lr = self.sgd.lr;
        self.log
            .drain_finite(gpu, |loss| {
                format!("loss became {loss} (learning rate {lr} too high?); training stopped, checkpoints already written are kept")
            })
            .await
    }

    /// Queue a forward (no dropout) with its loss on `valid` images: one submission, no
    /// readback; its statistics go to the step log like a training step's.
    pub fn queue_eval_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize) -> Result<()> {
        if self.log.is_full() {
            return Err(Error::Gpu("step log full: drain_steps before queueing more".into()));
        }
        self.load_batch(gpu, x, y, valid)?;
        let mut enc = Encoder::new(gpu, "eval step");
        self.arena.record(&self.fwd_eval, &mut enc);
        for op in &self.loss.ops {
            enc.dispatch(op);
        }
        self.log.record(&mut enc, &self.stats, valid)?;
        enc.submit(gpu)
    }

    /// Every dispatch of a training step (dropout on), in order, to time one at a
    /// time when profiling; the step's buffer copies and clears are left out.
    pub fn train_step_ops(&self) -> Vec<&Op> {
        let arena = |steps: &[Step]| -> Vec<&Op> {
            steps
                .iter()
                .filter_map(|s| match *s {
                    Step::Op(i) => Some(&self.arena.ops[i]),
                    Step::Dropout(i) => Some(&self.arena.dropouts[i].op),
                    Step::Copy(..) | Step::Clear(_) => None,
                })
                .collect()
        };
        let mut ops = arena(&self.fwd_train);
        ops.extend(self.loss.ops.iter());
        ops.extend(arena(&self.bwd));
        ops.extend(self.update.iter().map(|&(oi, _)| &self.arena.ops[oi]));
        ops
    }

    /// Forward only (no dropout), returning loss sum and correct count.
    pub async fn eval_step(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize) -> Result<StepStats> {
        self.load_batch(gpu, x, y, valid)?;
        let mut enc = Encoder::new(gpu, "eval step");
        self.arena.record(&self.fwd_eval, &mut enc);
        for op in &self.loss.ops {
            enc.dispatch(op);
        }
        enc.submit(gpu)?;
        self.read_stats(gpu, valid).await
    }

    /// Forward only, no loss (calibration, conversion diagnostics).
    pub fn forward(&self, gpu: &Gpu, x: &[f32], valid: usize) -> Result<()> {
        let img = self.image_len();
        if valid == 0 || valid > self.batch || x.len() < valid * img {
            return Err(Error::Shape(format!(
                "forward of {valid} images ({} values) on a net built for {}",
                x.len(),
                self.batch
            )));
        }
        gpu.write(&self.input, &x[..valid * img])?;
        let mut enc = Encoder::new(gpu, "forward");
        self.arena.record(&self.fwd_eval, &mut enc);
        enc.submit(gpu)
    }

    /// Logits of the last forward pass: [valid, classes].
    pub async fn logits(&self, gpu: &Gpu, valid: usize) -> Result<Vec<f32>> {
        let logits = self.acts.last().ok_or_else(|| Error::Config("no layers".into()))?;
        gpu.read_range(logits, 0, valid * self.cfg.classes).await
    }

    /// Read every parameter (name, shape, values), in `param_specs` order, with one map.
    pub async fn read_params(&self, gpu: &Gpu) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>> {
        let tensors: Vec<&Tensor> = self.params.iter().map(|p| &p.value).collect();
        let values = gpu.read_many(&tensors).await?;
        Ok(self
            .params
            .iter()
            .zip(values)
            .map(|(p, v)| (p.spec.name.clone(), p.spec.shape.clone(), v))
            .collect())
    }

    /// Read the SGD momentum buffers (for resumable checkpoints), with one map.
    pub async fn read_momentum(&self, gpu: &Gpu) -> Result<Vec<Vec<f32>>> {
        let tensors: Vec<&Tensor> = self.params.iter().map(|p| &p.momentum).collect();
        gpu.read_many(&tensors).await
    }

    /// Overwrite parameter `name` (shape checked).
    pub fn write_param(&self, gpu: &Gpu, name: &str, data: &[f32]) -> Result<()> {
        let p = self.param(name)?;
        if data.len() != p.value.len() {
            return Err(Error::Shape(format!(
                "{name}: {} values for shape {:?}",
                data.len(),
                p.spec.shape
            )));
        }
        gpu.write(&p.value, data)
    }

    pub fn write_momentum(&self, gpu: &Gpu, name: &str, data: &[f32]) -> Result<()> {
        let p = self.param(name)?;
        if data.len() != p.momentum.len() {
            return Err(Error::Shape(format!(
                "{name} momentum: {} values for shape {:?}",
                data.len(),
                p.spec.shape
            )));
        }
        gpu.write(&p.momentum, data)
    }

    pub fn param(&self, name: &str) -> Result<&GpuParam> {
        self.params
            .iter()
            .find(|p| p.spec.name == name)
            .ok_or_else(|| Error::Checkpoint(format!("model `{}` has no parameter `{name}`", self.cfg.name)))
    }

    /// Does the config contain a layer of this kind (used by the SNN mapping)?
    pub fn has_layer(&self, f: impl Fn(&LayerSpec) -> bool) -> bool {
        self.cfg.layers.iter().any(f)
    }

    pub fn dropouts(&self) -> &[Dropout] {
        &self.arena.dropouts
    }
}
