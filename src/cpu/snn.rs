//! The spiking network on the CPU references, the same graph as `snn::build`:
//! layers before the first IF run once on B rows (analog direct encoding) and
//! the first IF reuses that current at every step; from there on every tensor
//! has T*B rows, t-major (row = t*B + b); logits = the output layer's per-step
//! outputs summed over T. The backward is BPTT through exactly that graph: an
//! analog IF input gets its per-step d_input summed over T, a residual block's
//! input the sum of both branches. Tests compare the GPU SNN with it.

mod backward;
mod forward;

use crate::cpu;
use crate::error::{Error, Result};
use crate::models::config::ModelConfig;
use crate::models::params::snn_param_specs;
use crate::models::params::{ParamKind, ParamSpec};
use crate::shape_err;
use crate::spec::Conv2dShape;
use crate::spec::NeuronParams;
use crate::spec::PoolShape;
use crate::spec::{IfConfig, Surrogate};
use backward::Back;
use forward::Pass;

pub struct CpuSnn {
    pub cfg: ModelConfig,
    /// `snn_param_specs(cfg)`: the order of the parameter vectors.
    pub specs: Vec<ParamSpec>,
    /// beta and shift of each IF layer (vth and leak are parameters).
    pub neurons: Vec<NeuronParams>,
    pub t: usize,
    pub surrogate: Surrogate,
    /// Extra multiplier of every spike's height (`SnnOptions::out_scale`).
    pub out_scale: f32,
}

/// A tensor between layers: B rows (analog) or T*B rows (spiking) of `shape`.
#[derive(Clone)]
struct Flow {
    x: Vec<f32>,
    shape: Vec<usize>,
    spiking: bool,
}

struct NeuronCache {
    /// Index of its `vth` parameter (`leak` follows).
    p: usize,
    cfg: IfConfig,
    /// Neurons per step (B * per-sample size).
    n: usize,
    trace: Vec<f32>,
    analog_in: bool,
}

struct BlockCache {
    /// Index of `conv1.weight`.
    p: usize,
    x: Vec<f32>,
    s1: Conv2dShape,
    s2: Conv2dShape,
    ss: Option<Conv2dShape>,
    act1: NeuronCache,
    mask: Option<Vec<f32>>,
    d1: Vec<f32>,
    act2: NeuronCache,
}

/// What the backward needs of one layer.
enum Cache {
    Conv {
        s: Conv2dShape,
        x: Vec<f32>,
        p: usize,
    },
    Linear {
        rows: usize,
        inf: usize,
        out: usize,
        x: Vec<f32>,
        p: usize,
    },
    Neuron(NeuronCache),
    Mask(Option<Vec<f32>>),
    Max(PoolShape, Vec<u32>),
    Avg(PoolShape),
    Flatten,
    Block(Box<BlockCache>),
}

/// The forward of one batch.
pub struct SnnForward {
    /// [B, classes]
    pub logits: Vec<f32>,
    /// Spikes of each IF layer over all T steps and the batch.
    pub spike_counts: Vec<u64>,
    /// Per synaptic layer (conv, linear; a block's conv1, conv2, shortcut):
    /// non-zero inputs per spatial position (zeros for analog inputs).
    pub spike_maps: Vec<Vec<u32>>,
    /// Per IF layer: u_tmp [T, B*per] (for margin checks).
    pub traces: Vec<Vec<f32>>,
    batch: usize,
    caches: Vec<Cache>,
}

/// Loss and the gradient of every parameter (`specs` order) for the mean CE.
pub struct SnnGrads {
    pub grads: Vec<Vec<f32>>,
    pub loss_sum: f64,
    pub correct: u32,
}

impl CpuSnn {
    pub fn new(cfg: &ModelConfig, neurons: &[NeuronParams], t: usize, surrogate: Surrogate) -> Result<CpuSnn> {
        cfg.validate()?;
        let specs = snn_param_specs(cfg)?;
        let n_if = specs.iter().filter(|s| s.kind == ParamKind::Vth).count();
        if neurons.len() != n_if || t == 0 {
            return Err(Error::Config(format!(
                "{} neuron settings and T={t} for a model with {n_if} spiking layers",
                neurons.len()
            )));
        }
        Ok(CpuSnn {
            cfg: cfg.clone(),
            specs,
            neurons: neurons.to_vec(),
            t,
            surrogate,
            out_scale: 1.0,
        })
    }

    /// Logits, spikes and caches of `batch` images; `seed` Some = training
    /// dropout (one mask per sample across T, as the GPU net), None = identity.
    pub fn forward(&self, params: &[Vec<f32>], x: &[f32], batch: usize, seed: Option<u32>) -> Result<SnnForward> {
        self.check_params(params)?;
        if batch == 0 || x.len() != batch * self.cfg.input.iter().product::<usize>() {
            return Err(shape_err!("snn forward: {} inputs for a batch of {batch}", x.len()));
        }
        let mut f = Pass {
            net: self,
            p: params,
            batch,
            seed,
            pi: 0,
            di: 0,
            counts: vec![],
            maps: vec![],
            traces: vec![],
        };
        let mut cur = Flow {
            x: x.to_vec(),
            shape: self.cfg.input.to_vec(),
            spiking: false,
        };
        let mut caches = Vec::new();
        for layer in &self.cfg.layers {
            let (y, c) = f.layer(layer, cur)?;
            caches.push(c);
            cur = y;
        }
        if !cur.spiking {
            return Err(Error::Config(format!(
                "model `{}` has no threshold-ReLU: nothing to convert into spikes",
                self.cfg.name
            )));
        }
        let logits = cpu::reduce::sum_over_t(self.t, batch * self.cfg.classes, &cur.x);
        Ok(SnnForward {
            logits,
            spike_counts: f.counts,
            spike_maps: f.maps,
            traces: f.traces,
            batch,
            caches,
        })
    }

    /// BPTT of the mean softmax cross-entropy over the first `valid` rows.
    pub fn backward(&self, params: &[Vec<f32>], fwd: &SnnForward, labels: &[u32], valid: usize) -> Result<SnnGrads> {
        self.check_params(params)?;
        let (b, classes) = (fwd.batch, self.cfg.classes);
        if valid == 0 || valid > b || labels.len() < valid {
            return Err(shape_err!(
                "snn backward: {valid} valid rows of a batch of {b} with {} labels",
                labels.len()
            ));
        }
        let xent = cpu::loss::softmax_xent(b, classes, valid, &fwd.logits, labels);
        let mut k = Back {
            net: self,
            p: params,
            grads: params.iter().map(|v| vec![0.0; v.len()]).collect(),
        };
        let mut g = cpu::reduce::broadcast_over_t(self.t, &xent.dlogits);
        for (li, c) in fwd.caches.iter().enumerate().rev() {
            g = k.layer(c, g, li > 0);
        }
        Ok(SnnGrads {
            grads: k.grads,
            loss_sum: xent.loss_sum,
            correct: xent.correct,
        })
    }

    /// Forward (with dropout when `seed` is Some) and backward of one batch.
    pub fn loss_grads(
        &self,
        params: &[Vec<f32>],
        x: &[f32],
        labels: &[u32],
        batch: usize,
        seed: Option<u32>,
    ) -> Result<(SnnForward, SnnGrads)> {
        let fwd = self.forward(params, x, batch, seed)?;
        let g = self.backward(params, &fwd, labels, batch)?;
        Ok((fwd, g))
    }

    fn check_params(&self, params: &[Vec<f32>]) -> Result<()> {
        if params.len() != self.specs.len() {
            return Err(shape_err!(
                "{} parameter vectors for {} SNN parameters",
                params.len(),
                self.specs.len()
            ));
        }
        for (s, v) in self.specs.iter().zip(params) {
            if v.len() != s.shape.iter().product::<usize>() {
                return Err(shape_err!("{}: {} values for shape {:?}", s.name, v.len(), s.shape));
            }
        }
        Ok(())
    }
}
