//! The SNN on the GPU: built once for (batch, T, train?), with its programs.
//! Inference: the analog prefix once, then every layer over all T steps;
//! logits = the output layer's per-step outputs summed over T. Training adds
//! BPTT through the T steps and an Adam (AMSGrad) update of weights, biases,
//! thresholds and leaks (leak clamped to <= 1). The steps themselves are in
//! net_steps.rs.

use std::cell::Cell;

use super::build::{CountLimit, Flow, SnnBuilder};
use super::params::{adam_ops, alloc_params};
use super::snn_param_specs;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::models::config::ModelConfig;
use crate::models::params::{ParamKind, ParamSpec};
use crate::nn::conv::Conv2dShape;
use crate::nn::fit::check_model_fits;
use crate::nn::loss::{softmax_xent, SoftmaxXent};
use crate::nn::optim::AdamParams;
use crate::nn::program::{Arena, Step};
use crate::nn::reduce::{broadcast_over_t, sum_over_t};
use crate::nn::spiking::{IfConfig, Surrogate};
use crate::spec::NeuronParams;

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
    /// Its input current: [T*B, per_sample], or [B, per_sample] reused at every
    /// step (the first layer, whose conv sees the constant analog image).
    pub input: Tensor,
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
    /// The last layer's outputs per step [T*B, classes]; `logits` is their sum over T.
    pub readout: Tensor,
    /// Bytes of all tensors of the network (activations, traces, gradients, state).
    pub memory_bytes: u64,
    pub(super) arena: Arena,
    pub(super) fwd: Vec<Step>,
    pub(super) fwd_train: Vec<Step>,
    pub(super) count: Vec<Step>,
    pub(super) count_limits: Vec<CountLimit>,
    /// The valid images the counting ops are set for.
    pub(super) counting_valid: Cell<usize>,
    pub(super) bwd: Vec<Step>,
    /// The Adam ops with their settings (step set per step): one per shared buffer of a class
    /// of parameters (snn/params.rs), else one per parameter.
    pub(super) update: Vec<(usize, AdamParams)>,
    pub(super) loss: SoftmaxXent,
    pub(super) stats: Tensor,
    pub(super) adam_step: u32,
    /// Statistics of queued training steps, on the GPU until `drain_steps`.
    pub(super) log: crate::nn::loss::StepLog,
    /// Statistics of queued inference batches, on the GPU until `drain_eval`.
    pub(super) eval_log: crate::nn::loss::StepLog,
}

impl SnnNet {
    /// Build for `neurons` (one per threshold-ReLU, from a conversion) with
    /// weights to be loaded by the caller (`write_param`).
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, neurons: &[NeuronParams], opts: SnnOptions) -> Result<SnnNet> {
        let specs = checked_specs(cfg, neurons, &opts)?;
        let rows = opts
            .t
            .checked_mul(opts.batch)
            .ok_or_else(|| Error::Config("T x batch overflows".into()))?;
        check_model_fits(gpu, cfg, rows)?;
        let store = alloc_params(gpu, specs, neurons, &opts)?;
        let mut b = SnnBuilder::new(gpu, cfg, opts, &store.params, neurons);
        let input = input_flow(gpu, cfg, opts.batch)?;
        let out = b.build(&input)?;
        if b.params_used() != store.params.len() {
            return Err(Error::Config(format!(
                "{} SNN parameters left unused",
                store.params.len() - b.params_used()
            )));
        }
        b.bytes += input.x.bytes();
        let head = build_head(gpu, &mut b, cfg.classes, &out)?;
        let update = match opts.train {
            true => adam_ops(gpu, &mut b.arena, &store, &opts)?,
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
        let (params, param_bytes) = (store.params, store.bytes);
        Ok(SnnNet {
            cfg: cfg.clone(),
            opts,
            params,
            neurons,
            synapses,
            input: input.x,
            labels: head.labels,
            logits: head.logits,
            readout: super::build::alias(&out.x, "readout"),
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
            log: crate::nn::loss::StepLog::new(gpu, "loss.log")?,
            eval_log: crate::nn::loss::StepLog::new(gpu, "eval.log")?,
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
