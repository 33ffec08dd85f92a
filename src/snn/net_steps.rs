//! SnnNet at run time (eval and train steps, Adam settings, spike and logit reads), moved out of net.rs for size.

use super::net::SnnNet;
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Tensor};
use crate::nn::optim::{adam_set, AdamParams};
use crate::spec::StepStats;

impl SnnNet {
    /// Zero the spike counters and spike maps.
    pub fn reset_counters(&self, gpu: &Gpu) -> Result<()> {
        let mut enc = Encoder::new(gpu, "snn.reset");
        for n in &self.neurons {
            enc.clear(n.count.bind());
        }
        for s in &self.synapses {
            enc.clear(s.map.bind());
        }
        enc.submit(gpu)
    }

    fn load(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize) -> Result<()> {
        let img = self.image_len();
        if valid == 0 || valid > self.opts.batch || x.len() < valid * img || y.len() < valid {
            return Err(Error::Shape(format!(
                "batch of {valid} for an SNN built for {}",
                self.opts.batch
            )));
        }
        gpu.write(&self.input, &x[..valid * img])?;
        gpu.write_u32(&self.labels, &y[..valid])?;
        if self.counting_valid.get() != valid {
            // Spike counts and maps skip the padding images of a partial batch.
            for c in &self.count_limits {
                self.arena.ops[c.op].set_param_word(gpu, c.word, (valid * c.per_image) as u32)?;
            }
            self.counting_valid.set(valid);
        }
        self.loss.set_valid(gpu, valid as u32)
    }

    /// The dispatches of one inference, in order (forward, the counting ops with `count_ops`,
    /// the loss): what a profile times one by one.
    pub fn eval_ops(&self, count_ops: bool) -> Vec<&crate::gpu::Op> {
        let arena = |steps: &[crate::nn::program::Step]| -> Vec<&crate::gpu::Op> {
            steps
                .iter()
                .filter_map(|s| match *s {
                    crate::nn::program::Step::Op(i) => Some(&self.arena.ops[i]),
                    crate::nn::program::Step::Dropout(i) => Some(&self.arena.dropouts[i].op),
                    _ => None,
                })
                .collect()
        };
        let mut ops = arena(&self.fwd);
        if count_ops {
            ops.extend(arena(&self.count));
        }
        ops.extend(self.loss.ops.iter());
        ops
    }

    /// Load a batch and record its inference (forward, the counting ops with `count_ops`, the
    /// loss) into a new encoder, not yet submitted.
    fn inference(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, count_ops: bool) -> Result<Encoder<'_>> {
        self.load(gpu, x, y, valid)?;
        let mut enc = Encoder::new(gpu, "snn.eval");
        self.arena.record(&self.fwd, &mut enc);
        if count_ops {
            self.arena.record(&self.count, &mut enc);
        }
        for op in &self.loss.ops {
            enc.dispatch(op);
        }
        Ok(enc)
    }

    /// Inference on `valid` images; spikes are counted, and with `count_ops`
    /// the per-position spike maps for synaptic-operation counts too.
    pub async fn eval_step(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, count_ops: bool) -> Result<StepStats> {
        self.inference(gpu, x, y, valid, count_ops)?.submit(gpu)?;
        let s = gpu.read(&self.stats).await?;
        Ok(StepStats {
            loss_sum: s[0],
            correct: s[1],
            count: valid,
        })
    }

    /// Queue inference on `valid` images as `eval_step` runs it (spikes counted; with
    /// `count_ops` the spike maps too): one submission, no readback; its loss statistics go to
    /// the inference log (`drain_eval`; drain first when `eval_log_full`).
    pub fn queue_eval_step(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, count_ops: bool) -> Result<()> {
        if self.eval_log.is_full() {
            return Err(Error::Gpu("inference log full: drain_eval before queueing more".into()));
        }
        let mut enc = self.inference(gpu, x, y, valid, count_ops)?;
        self.eval_log.record(&mut enc, &self.stats, valid)?;
        enc.submit(gpu)
    }

    /// Whether the inference log is full (drain before queueing another batch).
    pub fn eval_log_full(&self) -> bool {
        self.eval_log.is_full()
    }

    /// The statistics of every queued inference batch, in order, with one readback.
    pub async fn drain_eval(&self, gpu: &Gpu) -> Result<Vec<StepStats>> {
        self.eval_log.drain(gpu).await
    }

    /// One BPTT + Adam step, read back at once: `queue_train_step` + `drain_steps`.
    pub async fn train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<StepStats> {
        self.drain_steps(gpu).await?;
        self.queue_train_step(gpu, x, y, valid, seed)?;
        let s = self.drain_steps(gpu).await?;
        s.into_iter()
            .next()
            .ok_or_else(|| Error::Gpu("a queued step left no statistics".into()))
    }

    /// Queue one BPTT + Adam step (the net must be built with `train`): one submission, no
    /// readback; its loss statistics go to the step log (`drain_steps`).
    pub fn queue_train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<()> {
        if !self.opts.train {
            return Err(Error::Config(
                "this SNN was built for inference; build it with train = true".into(),
            ));
        }
        if self.log.is_full() {
            return Err(Error::Gpu("step log full: drain_steps before queueing more".into()));
        }
        self.load(gpu, x, y, valid)?;
        for (i, d) in self.arena.dropouts.iter().enumerate() {
            d.set_seed(gpu, seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u32));
        }
        self.adam_step += 1;
        // The learning rate follows `set_lr` (the schedule); the rest is each op's own.
        let (step, lr) = (self.adam_step, self.opts.lr);
        for (oi, hp) in &self.update {
            adam_set(gpu, &self.arena.ops[*oi], &AdamParams { step, lr, ..*hp });
        }
        let mut enc = Encoder::new(gpu, "snn.train");
        self.arena.record(&self.fwd_train, &mut enc);
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

    /// Whether the step log is full (drain before queueing another step).
    pub fn log_full(&self) -> bool {
        self.log.is_full()
    }

    /// The statistics of every step queued since the last drain, in order, with one readback;
    /// a non-finite loss among them is `Error::Diverged`.
    pub async fn drain_steps(&mut self, gpu: &Gpu) -> Result<Vec<StepStats>> {
        let lr = self.opts.lr;
        self.log
            .drain_finite(gpu, |loss| {
                format!("SNN loss became {loss} (lower the learning rate {lr})")
            })
            .await
    }

    /// Set the learning rate (schedule) and Adam's step count (for resume).
    pub fn set_lr(&mut self, lr: f32) {
        self.opts.lr = lr;
    }

    pub fn adam_steps(&self) -> u32 {
        self.adam_step
    }

    pub fn set_adam_steps(&mut self, s: u32) {
        self.adam_step = s;
    }

    /// Spikes per neuron layer since the last reset (all layers with one map).
    pub async fn spike_counts(&self, gpu: &Gpu) -> Result<Vec<u64>> {
        Ok(self.read_spikes(gpu, false).await?.0)
    }

    /// Per-position non-zero input counts of every synaptic layer since the
    /// last reset (all layers with one map).
    pub async fn spike_maps(&self, gpu: &Gpu) -> Result<Vec<Vec<u32>>> {
        let maps: Vec<&Tensor> = self.synapses.iter().map(|s| &s.map).collect();
        gpu.read_many_u32(&maps).await
    }

    /// The spike counts and, with `maps`, the spike maps (else none), read
    /// together: an evaluation's whole tally costs one map.
    pub async fn read_spikes(&self, gpu: &Gpu, maps: bool) -> Result<(Vec<u64>, Vec<Vec<u32>>)> {
        let mut tensors: Vec<&Tensor> = self.neurons.iter().map(|n| &n.count).collect();
        if maps {
            tensors.extend(self.synapses.iter().map(|s| &s.map));
        }
        let mut read = gpu.read_many_u32(&tensors).await?.into_iter();
        let counts = self
            .neurons
            .iter()
            .zip(read.by_ref())
            .map(|(n, c)| {
                let c = c.first().copied();
                c.map(u64::from)
                    .ok_or_else(|| Error::Readback(format!("`{}`: empty spike counter", n.name)))
            })
            .collect::<Result<Vec<u64>>>()?;
        Ok((counts, read.collect()))
    }

    /// The last forward's logits [valid, classes].
    pub async fn read_logits(&self, gpu: &Gpu, valid: usize) -> Result<Vec<f32>> {
        gpu.read_range(&self.logits, 0, valid * self.cfg.classes).await
    }
}
