//! The SNN on the GPU: built once for (batch, T, train?), with its programs.
//! Inference: the analog prefix once, then every layer over all T steps;
//! logits = the output layer's per-step outputs summed over T. Training adds
//! BPTT through the T steps and an Adam (AMSGrad) update of weights, biases,
//! thresholds and leaks (leak clamped to <= 1).

use std::cell::Cell;

use super::build::{CountLimit, Flow, SnnBuilder};
use super::snn_param_specs;
use crate::error::{Error, Result};
use crate::gpu::{Encoder, Gpu, Tensor};
use crate::models::config::ModelConfig;
use crate::models::params::{ParamKind, ParamSpec};
use crate::nn::conv::Conv2dShape;
use crate::nn::loss::{softmax_xent, SoftmaxXent};
use crate::nn::optim::{adam_set, adam_step, AdamParams};
use crate::nn::program::{Arena, Step};
use crate::nn::reduce::{broadcast_over_t, sum_over_t};
use crate::nn::spiking::{IfConfig, Surrogate};
use crate::spec::NeuronParams;
use crate::spec::StepStats;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnnOptions {
    pub batch: usize,
    pub t: usize,
    /// Allocate gradients and build BPTT + Adam.
    pub train: bool,
    pub surrogate: Surrogate,
    /// Extra multiplier of every spike's height (the paper's code: 1.3 VGG, 1.5 ResNet); 1 by default.
    pub out_scale: f32,
    pub lr: f32,
    pub weight_decay: f32,
}

impl SnnOptions {
    pub fn inference(batch: usize, t: usize) -> Self {
        SnnOptions {
            batch,
            t,
            train: false,
            surrogate: Surrogate::Boxcar,
            out_scale: 1.0,
            lr: 1e-4,
            weight_decay: 0.0,
        }
    }
}

/// A parameter with its gradient and Adam moments ([1] placeholders at inference).
pub struct SnnParam {
    pub spec: ParamSpec,
    pub value: Tensor,
    pub grad: Tensor,
    pub m: Tensor,
    pub v: Tensor,
    pub vmax: Tensor,
}

/// One spiking layer.
pub struct Neuron {
    pub name: String,
    /// Indices of its `vth` and `leak` in `SnnNet::params`.
    pub vth: usize,
    pub leak: usize,
    pub params: NeuronParams,
    pub cfg: IfConfig,
    pub per_sample: usize,
    /// Outputs [T*B, per_sample] (spike heights).
    pub out: Tensor,
    /// Spikes emitted, accumulated since the last `reset_counters`.
    pub count: Tensor,
}

/// One synaptic (conv / linear) layer, for operation counting.
pub struct Synapse {
    pub name: String,
    /// Its input is the analog image (MACs), not spikes (ACs).
    pub analog: bool,
    /// MACs per image of the DNN layer.
    pub dnn_macs: u64,
    pub conv: Option<Conv2dShape>,
    /// Outputs each input feeds (linear: out features).
    pub fan_out_linear: usize,
    /// Non-zero inputs per spatial position (u32 [H*W]), accumulated.
    pub map: Tensor,
}

pub struct SnnNet {
    pub cfg: ModelConfig,
    pub opts: SnnOptions,
    pub params: Vec<SnnParam>,
    pub neurons: Vec<Neuron>,
    pub synapses: Vec<Synapse>,
    pub input: Tensor,
    pub labels: Tensor,
    pub logits: Tensor,
    /// Bytes of all tensors of the network (activations, traces, gradients, state).
    pub memory_bytes: u64,
    arena: Arena,
    fwd: Vec<Step>,
    fwd_train: Vec<Step>,
    count: Vec<Step>,
    count_limits: Vec<CountLimit>,
    /// The valid images the counting ops are set for.
    counting_valid: Cell<usize>,
    bwd: Vec<Step>,
    update: Vec<(usize, usize)>,
    loss: SoftmaxXent,
    stats: Tensor,
    adam_step: u32,
}

impl SnnNet {
    /// Build for `neurons` (one per threshold-ReLU, from a conversion) with
    /// weights to be loaded by the caller (`write_param`).
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, neurons: &[NeuronParams], opts: SnnOptions) -> Result<SnnNet> {
        let specs = checked_specs(cfg, neurons, &opts)?;
        let (params, param_bytes) = alloc_params(gpu, specs, neurons, &opts)?;
        let mut b = SnnBuilder::new(gpu, cfg, opts, &params, neurons);
        let input = input_flow(gpu, cfg, opts.batch)?;
        let out = b.build(&input)?;
        if b.params_used() != params.len() {
            return Err(Error::Config(format!(
                "{} SNN parameters left unused",
                params.len() - b.params_used()
            )));
        }
        b.bytes += input.x.bytes();
        let head = build_head(gpu, &mut b, cfg.classes, &out)?;
        let update = match opts.train {
            true => adam_ops(gpu, &mut b.arena, &params, &opts)?,
            false => Vec::new(),
        };
        // Take the builder apart first: it borrows `params`, which moves into the net.
        let SnnBuilder {
            arena,
            fwd,
            fwd_train,
            count,
            neurons,
            synapses,
            count_limits,
            bytes,
            ..
        } = b;
        Ok(SnnNet {
            cfg: cfg.clone(),
            opts,
            params,
            neurons,
            synapses,
            input: input.x,
            labels: head.labels,
            logits: head.logits,
            memory_bytes: bytes + param_bytes,
            arena,
            fwd,
            fwd_train,
            count,
            count_limits,
            counting_valid: Cell::new(opts.batch),
            bwd: head.bwd,
            update,
            loss: head.loss,
            stats: head.stats,
            adam_step: 0,
        })
    }

    pub fn image_len(&self) -> usize {
        self.cfg.input.iter().product()
    }

    pub fn param(&self, name: &str) -> Result<&SnnParam> {
        self.params
            .iter()
            .find(|p| p.spec.name == name)
            .ok_or_else(|| Error::Checkpoint(format!("SNN has no parameter `{name}`")))
    }

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

    /// Zero the spike counters and spike maps.
    pub fn reset_counters(&self, gpu: &Gpu) -> Result<()> {
        let mut enc = Encoder::new(gpu, "snn.reset");
        for n in &self.neurons {
            enc.clear(&n.count.buffer);
        }
        for s in &self.synapses {
            enc.clear(&s.map.buffer);
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

    /// Inference on `valid` images; spikes are counted, and with `count_ops`
    /// the per-position spike maps for synaptic-operation counts too.
    pub async fn eval_step(&self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, count_ops: bool) -> Result<StepStats> {
        self.load(gpu, x, y, valid)?;
        let mut enc = Encoder::new(gpu, "snn.eval");
        self.arena.record(&self.fwd, &mut enc);
        if count_ops {
            self.arena.record(&self.count, &mut enc);
        }
        for op in &self.loss.ops {
            enc.dispatch(op);
        }
        enc.submit(gpu)?;
        let s = gpu.read(&self.stats).await?;
        Ok(StepStats {
            loss_sum: s[0],
            correct: s[1],
            count: valid,
        })
    }

    /// One BPTT + Adam step (the net must be built with `train`).
    pub async fn train_step(&mut self, gpu: &Gpu, x: &[f32], y: &[u32], valid: usize, seed: u32) -> Result<StepStats> {
        if !self.opts.train {
            return Err(Error::Config(
                "this SNN was built for inference; build it with train = true".into(),
            ));
        }
        self.load(gpu, x, y, valid)?;
        for (i, d) in self.arena.dropouts.iter().enumerate() {
            d.set_seed(gpu, seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u32));
        }
        self.adam_step += 1;
        for &(oi, pi) in &self.update {
            let mut hp = adam_params(&self.params[pi], &self.opts);
            hp.step = self.adam_step;
            adam_set(gpu, &self.arena.ops[oi], &hp);
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
        enc.submit(gpu)?;
        let s = gpu.read(&self.stats).await?;
        if !s[0].is_finite() {
            return Err(Error::Diverged(format!(
                "SNN loss became {} (lower the learning rate {})",
                s[0], self.opts.lr
            )));
        }
        Ok(StepStats {
            loss_sum: s[0],
            correct: s[1],
            count: valid,
        })
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

/// The model's parameter specs, once `cfg`, `neurons` and `opts` are known to fit together.
fn checked_specs(cfg: &ModelConfig, neurons: &[NeuronParams], opts: &SnnOptions) -> Result<Vec<ParamSpec>> {
    cfg.validate()?;
    if opts.batch == 0 || opts.t == 0 {
        return Err(Error::Config("batch and T must be >= 1".into()));
    }
    let specs = snn_param_specs(cfg)?;
    let n_neurons = specs.iter().filter(|s| s.kind == ParamKind::Vth).count();
    if neurons.len() != n_neurons {
        return Err(Error::Config(format!(
            "{} neuron settings for a model with {n_neurons} spiking layers",
            neurons.len()
        )));
    }
    Ok(specs)
}

/// Every parameter with its gradient and Adam moments ([1] placeholders at
/// inference), and their bytes. Weights start at zero; each vth and leak at
/// its neuron's value (a layer's vth comes before its leak).
fn alloc_params(
    gpu: &Gpu,
    specs: Vec<ParamSpec>,
    neurons: &[NeuronParams],
    opts: &SnnOptions,
) -> Result<(Vec<SnnParam>, u64)> {
    let mut params = Vec::with_capacity(specs.len());
    let mut bytes = 0u64;
    let mut ni = 0;
    for spec in specs {
        let init: Vec<f32> = if spec.kind == ParamKind::Vth {
            ni += 1;
            vec![neurons[ni - 1].vth]
        } else if spec.kind == ParamKind::Leak {
            vec![neurons[ni - 1].leak]
        } else {
            vec![0.0; spec.shape.iter().product()]
        };
        let value = gpu.tensor_from(&spec.name, &spec.shape, &init)?;
        let state = |s: &str| {
            gpu.tensor(
                &format!("{}.{s}", spec.name),
                if opts.train { &spec.shape } else { &[1] },
            )
        };
        let (grad, m, v, vmax) = (state("grad")?, state("m")?, state("v")?, state("vmax")?);
        bytes += value.bytes() + grad.bytes() + m.bytes() + v.bytes() + vmax.bytes();
        params.push(SnnParam {
            spec,
            value,
            grad,
            m,
            v,
            vmax,
        });
    }
    Ok((params, bytes))
}

/// The analog input image batch [B, C, H, W] (no gradient).
fn input_flow(gpu: &Gpu, cfg: &ModelConfig, batch: usize) -> Result<Flow> {
    let mut in_shape = vec![batch];
    in_shape.extend_from_slice(&cfg.input);
    Ok(Flow {
        x: gpu.tensor("input", &in_shape)?,
        g: None,
        shape: cfg.input.to_vec(),
        spiking: false,
    })
}

/// The end of the network: logits (the output layer summed over T), the loss,
/// and the backward program (the loss gradient spread over T, then the layers in reverse).
struct Head {
    logits: Tensor,
    labels: Tensor,
    stats: Tensor,
    loss: SoftmaxXent,
    bwd: Vec<Step>,
}

fn build_head(gpu: &Gpu, b: &mut SnnBuilder, classes: usize, out: &Flow) -> Result<Head> {
    let (batch, t) = (b.opts.batch, b.opts.t);
    let n = batch * classes;
    let logits = gpu.tensor("logits", &[batch, classes])?;
    let dlogits = gpu.tensor("logits.grad", &[batch, classes])?;
    let labels = gpu.tensor("labels", &[batch])?;
    let stats = gpu.tensor("loss.stats", &[2])?;
    b.bytes += 2 * logits.bytes() + labels.bytes();
    let sum = b.arena.op(sum_over_t(gpu, "logits.sum_t", t, n, &out.x, &logits)?);
    b.fwd.push(sum.clone());
    b.fwd_train.push(sum);
    let loss = softmax_xent(gpu, "loss", batch, classes, &logits, &labels, &dlogits, &stats)?;
    let mut bwd = Vec::new();
    if let Some(g) = &out.g {
        let op = broadcast_over_t(gpu, "logits.grad.t", t, n, &dlogits, g)?;
        bwd.push(b.arena.op(op));
    }
    for v in std::mem::take(&mut b.bwd_layers).into_iter().rev() {
        bwd.extend(v);
    }
    Ok(Head {
        logits,
        labels,
        stats,
        loss,
        bwd,
    })
}

/// Adam settings of `p` (step left to the caller): the leak is clamped to <= 1.
fn adam_params(p: &SnnParam, opts: &SnnOptions) -> AdamParams {
    let mut hp = AdamParams::new(p.value.len() as u32, opts.lr);
    hp.weight_decay = opts.weight_decay;
    if p.spec.kind == ParamKind::Leak {
        hp.use_clamp = 1;
        hp.clamp_max = 1.0;
    }
    hp
}

/// One Adam op per trainable parameter, pushed to `arena`: (op index, parameter index).
fn adam_ops(gpu: &Gpu, arena: &mut Arena, params: &[SnnParam], opts: &SnnOptions) -> Result<Vec<(usize, usize)>> {
    let mut update = Vec::new();
    for (pi, p) in params.iter().enumerate().filter(|(_, p)| p.spec.trainable) {
        let op = adam_step(
            gpu,
            &format!("{}.adam", p.spec.name),
            p.value.len(),
            &adam_params(p, opts),
            &p.value,
            &p.grad,
            &p.m,
            &p.v,
            &p.vmax,
        )?;
        arena.ops.push(op);
        update.push((arena.ops.len() - 1, pi));
    }
    Ok(update)
}
