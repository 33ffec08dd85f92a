//! The spiking network on the CPU references, the same graph as `snn::build`:
//! layers before the first IF run once on B rows (analog direct encoding) and
//! the first IF reuses that current at every step; from there on every tensor
//! has T*B rows, t-major (row = t*B + b); logits = the output layer's per-step
//! outputs summed over T. The backward is BPTT through exactly that graph: an
//! analog IF input gets its per-step d_input summed over T, a residual block's
//! input the sum of both branches. Tests compare the GPU SNN with it.

use crate::convert::NeuronParams;
use crate::cpu;
use crate::cpu::net::dropout_seed;
use crate::error::{Error, Result};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::models::dnn_build::conv_shape;
use crate::models::params::{block_needs_shortcut, ParamSpec};
use crate::nn::conv::Conv2dShape;
use crate::nn::pool::PoolShape;
use crate::nn::spiking::{IfConfig, Surrogate};
use crate::shape_err;
use crate::snn::snn_param_specs;

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
    Conv { s: Conv2dShape, x: Vec<f32>, p: usize },
    Linear { rows: usize, inf: usize, out: usize, x: Vec<f32>, p: usize },
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
        let n_if = specs.iter().filter(|s| s.name.ends_with(".vth")).count();
        if neurons.len() != n_if || t == 0 {
            return Err(Error::Config(format!("{} neuron settings and T={t} for a model with {n_if} spiking layers", neurons.len())));
        }
        Ok(CpuSnn { cfg: cfg.clone(), specs, neurons: neurons.to_vec(), t, surrogate, out_scale: 1.0 })
    }

    /// Logits, spikes and caches of `batch` images; `seed` Some = training
    /// dropout (one mask per sample across T, as the GPU net), None = identity.
    pub fn forward(&self, params: &[Vec<f32>], x: &[f32], batch: usize, seed: Option<u32>) -> Result<SnnForward> {
        self.check_params(params)?;
        if batch == 0 || x.len() != batch * self.cfg.input.iter().product::<usize>() {
            return Err(shape_err!("snn forward: {} inputs for a batch of {batch}", x.len()));
        }
        let mut f = Pass { net: self, p: params, batch, seed, pi: 0, di: 0, counts: vec![], maps: vec![], traces: vec![] };
        let mut cur = Flow { x: x.to_vec(), shape: self.cfg.input.to_vec(), spiking: false };
        let mut caches = Vec::new();
        for layer in &self.cfg.layers {
            let (y, c) = f.layer(layer, cur)?;
            caches.push(c);
            cur = y;
        }
        if !cur.spiking {
            return Err(Error::Config(format!("model `{}` has no threshold-ReLU: nothing to convert into spikes", self.cfg.name)));
        }
        let logits = cpu::reduce::sum_over_t(self.t, batch * self.cfg.classes, &cur.x);
        Ok(SnnForward { logits, spike_counts: f.counts, spike_maps: f.maps, traces: f.traces, batch, caches })
    }

    /// BPTT of the mean softmax cross-entropy over the first `valid` rows.
    pub fn backward(&self, params: &[Vec<f32>], fwd: &SnnForward, labels: &[u32], valid: usize) -> Result<SnnGrads> {
        self.check_params(params)?;
        let (b, classes) = (fwd.batch, self.cfg.classes);
        if valid == 0 || valid > b || labels.len() < valid {
            return Err(shape_err!("snn backward: {valid} valid rows of a batch of {b} with {} labels", labels.len()));
        }
        let xent = cpu::loss::softmax_xent(b, classes, valid, &fwd.logits, labels);
        let mut k = Back { net: self, p: params, grads: params.iter().map(|v| vec![0.0; v.len()]).collect() };
        let mut g = cpu::reduce::broadcast_over_t(self.t, &xent.dlogits);
        for (li, c) in fwd.caches.iter().enumerate().rev() {
            g = k.layer(c, g, li > 0);
        }
        Ok(SnnGrads { grads: k.grads, loss_sum: xent.loss_sum, correct: xent.correct })
    }

    /// Forward (with dropout when `seed` is Some) and backward of one batch.
    pub fn loss_grads(&self, params: &[Vec<f32>], x: &[f32], labels: &[u32], batch: usize, seed: Option<u32>) -> Result<(SnnForward, SnnGrads)> {
        let fwd = self.forward(params, x, batch, seed)?;
        let g = self.backward(params, &fwd, labels, batch)?;
        Ok((fwd, g))
    }

    fn check_params(&self, params: &[Vec<f32>]) -> Result<()> {
        if params.len() != self.specs.len() {
            return Err(shape_err!("{} parameter vectors for {} SNN parameters", params.len(), self.specs.len()));
        }
        for (s, v) in self.specs.iter().zip(params) {
            if v.len() != s.shape.iter().product::<usize>() {
                return Err(shape_err!("{}: {} values for shape {:?}", s.name, v.len(), s.shape));
            }
        }
        Ok(())
    }
}

/// Forward state: parameter cursor, dropout index and the counts gathered.
struct Pass<'a> {
    net: &'a CpuSnn,
    p: &'a [Vec<f32>],
    batch: usize,
    seed: Option<u32>,
    pi: usize,
    di: usize,
    counts: Vec<u64>,
    maps: Vec<Vec<u32>>,
    traces: Vec<Vec<f32>>,
}

impl Pass<'_> {
    fn rows(&self, spiking: bool) -> usize {
        if spiking {
            self.net.t * self.batch
        } else {
            self.batch
        }
    }

    fn take(&mut self, k: usize) -> usize {
        self.pi += k;
        self.pi - k
    }

    fn map(&mut self, x: &Flow, hw: usize) {
        self.maps.push(if x.spiking { cpu::spikes::spike_map_count(&x.x, hw) } else { vec![0; hw] });
    }

    fn conv(&mut self, x: &Flow, out: usize, k: usize, stride: usize, pad: usize) -> (Flow, Conv2dShape, usize) {
        let s = conv_shape(self.rows(x.spiking), &x.shape, out, k, stride, pad);
        let p = self.take(2);
        self.map(x, s.h * s.w);
        let y = cpu::conv::conv2d_forward(&s, &x.x, &self.p[p], &self.p[p + 1]);
        (Flow { x: y, shape: vec![out, s.out_h(), s.out_w()], spiking: x.spiking }, s, p)
    }

    fn neuron(&mut self, x: &Flow) -> Result<(Flow, NeuronCache)> {
        let p = self.take(2);
        let np = self.net.neurons.get(self.counts.len()).ok_or_else(|| Error::Config("too few neuron settings".into()))?;
        let cfg = IfConfig { beta: np.beta, shift: np.shift, out_scale: self.net.out_scale, save_trace: true };
        let n = self.batch * x.shape.iter().product::<usize>();
        let f = cpu::spiking::if_forward(self.net.t, n, &cfg, &x.x, self.p[p][0], self.p[p + 1][0]);
        self.counts.push(f.spikes);
        self.traces.push(f.u_trace.clone());
        let c = NeuronCache { p, cfg, n, trace: f.u_trace, analog_in: !x.spiking };
        Ok((Flow { x: f.out, shape: x.shape.clone(), spiking: true }, c))
    }

    /// Training dropout (p > 0 and a seed): mask rows t*B + b share row b.
    fn dropout(&mut self, x: Flow, p: f32) -> (Flow, Option<Vec<f32>>) {
        let Some(seed) = self.seed.filter(|_| p != 0.0) else {
            return (x, None);
        };
        let rows = self.rows(x.spiking);
        let (y, m) = cpu::dropout::dropout_forward(rows, x.x.len() / rows, self.batch, p, dropout_seed(seed, self.di), &x.x);
        self.di += 1;
        (Flow { x: y, ..x }, Some(m))
    }

    fn layer(&mut self, layer: &LayerSpec, cur: Flow) -> Result<(Flow, Cache)> {
        Ok(match layer {
            LayerSpec::Conv { out, k, stride, pad, .. } => {
                let (y, s, p) = self.conv(&cur, *out, *k, *stride, *pad);
                (y, Cache::Conv { s, x: cur.x, p })
            }
            LayerSpec::Linear { out, .. } => {
                let (rows, inf) = (self.rows(cur.spiking), cur.shape[0]);
                let p = self.take(2);
                self.map(&cur, 1);
                let y = cpu::linear::linear_forward(rows, inf, *out, &cur.x, &self.p[p], &self.p[p + 1]);
                (Flow { x: y, shape: vec![*out], spiking: cur.spiking }, Cache::Linear { rows, inf, out: *out, x: cur.x, p })
            }
            LayerSpec::Act { .. } => {
                let (y, c) = self.neuron(&cur)?;
                (y, Cache::Neuron(c))
            }
            LayerSpec::Dropout { p } => {
                let (y, m) = self.dropout(cur, *p);
                (y, Cache::Mask(m))
            }
            LayerSpec::MaxPool { k, stride } | LayerSpec::AvgPool { k, stride } => {
                let sh = &cur.shape;
                let s = PoolShape { n: self.rows(cur.spiking), c: sh[0], h: sh[1], w: sh[2], k: *k, stride: *stride };
                let shape = vec![s.c, s.out_h(), s.out_w()];
                let (y, c) = if matches!(layer, LayerSpec::MaxPool { .. }) {
                    let (y, arg) = cpu::pool::maxpool2d_forward(&s, &cur.x);
                    (y, Cache::Max(s, arg))
                } else {
                    (cpu::pool::avgpool2d_forward(&s, &cur.x), Cache::Avg(s))
                };
                (Flow { x: y, shape, spiking: cur.spiking }, c)
            }
            LayerSpec::Flatten => {
                let shape = vec![cur.shape.iter().product()];
                (Flow { shape, ..cur }, Cache::Flatten)
            }
            LayerSpec::Block { out, stride, dropout } => self.block(cur, *out, *stride, *dropout)?,
        })
    }

    fn block(&mut self, x: Flow, out: usize, stride: usize, p: f32) -> Result<(Flow, Cache)> {
        if !x.spiking {
            return Err(Error::Config("a residual block before the first threshold-ReLU (analog input) is not supported".into()));
        }
        let (c1, s1, p0) = self.conv(&x, out, 3, stride, 1);
        let (a1, act1) = self.neuron(&c1)?;
        let (d1, mask) = self.dropout(a1, p);
        let (c2, s2, _) = self.conv(&d1, out, 3, 1, 1);
        let (sc, ss) = if block_needs_shortcut(&x.shape, &c2.shape) {
            let (y, s, _) = self.conv(&x, out, 1, stride, 0);
            (y.x, Some(s))
        } else {
            (x.x.clone(), None)
        };
        let sum = Flow { x: cpu::elementwise::residual_add(&c2.x, &sc), ..c2 };
        let (y, act2) = self.neuron(&sum)?;
        let c = BlockCache { p: p0, x: x.x, s1, s2, ss, act1, mask, d1: d1.x, act2 };
        Ok((y, Cache::Block(Box::new(c))))
    }
}

/// Backward state: the gradients being filled in.
struct Back<'a> {
    net: &'a CpuSnn,
    p: &'a [Vec<f32>],
    grads: Vec<Vec<f32>>,
}

impl Back<'_> {
    /// dW, db of a conv at parameter `p`; returns dx when `need_dx`.
    fn conv(&mut self, s: &Conv2dShape, x: &[f32], p: usize, g: &[f32], need_dx: bool) -> Vec<f32> {
        self.grads[p] = cpu::conv::conv2d_backward_weight(s, x, g);
        if self.net.specs[p + 1].trainable {
            self.grads[p + 1] = cpu::linear::bias_backward(s.n, s.c_out, s.out_h() * s.out_w(), g);
        }
        if need_dx {
            cpu::conv::conv2d_backward_input(s, g, &self.p[p])
        } else {
            Vec::new()
        }
    }

    /// BPTT of one IF layer; an analog input gets d_input summed over T.
    fn neuron(&mut self, c: &NeuronCache, g: &[f32]) -> Vec<f32> {
        let t = self.net.t;
        let r = cpu::spiking::if_backward(t, c.n, &c.cfg, self.net.surrogate, &c.trace, self.p[c.p][0], self.p[c.p + 1][0], g);
        self.grads[c.p] = vec![r.dvth];
        self.grads[c.p + 1] = vec![r.dleak];
        if c.analog_in {
            cpu::reduce::sum_over_t(t, c.n, &r.d_input)
        } else {
            r.d_input
        }
    }

    fn layer(&mut self, c: &Cache, g: Vec<f32>, need_dx: bool) -> Vec<f32> {
        match c {
            Cache::Conv { s, x, p } => self.conv(s, x, *p, &g, need_dx),
            Cache::Linear { rows, inf, out, x, p } => {
                let p = *p;
                self.grads[p] = cpu::linear::linear_backward_weight(*rows, *inf, *out, x, &g);
                if self.net.specs[p + 1].trainable {
                    self.grads[p + 1] = cpu::linear::bias_backward(*rows, *out, 1, &g);
                }
                cpu::linear::linear_backward_input(*rows, *inf, *out, &g, &self.p[p])
            }
            Cache::Neuron(nc) => self.neuron(nc, &g),
            Cache::Mask(Some(m)) => cpu::dropout::dropout_backward(&g, m),
            Cache::Max(s, arg) => cpu::pool::maxpool2d_backward(s, &g, arg),
            Cache::Avg(s) => cpu::pool::avgpool2d_backward(s, &g),
            Cache::Mask(None) | Cache::Flatten => g,
            Cache::Block(b) => self.block(b, &g),
        }
    }

    /// conv1 - IF1 - dropout - conv2 (+ shortcut) - IF2 backwards; both
    /// branches' input gradients summed.
    fn block(&mut self, b: &BlockCache, g: &[f32]) -> Vec<f32> {
        let gsum = self.neuron(&b.act2, g);
        let gx2 = match &b.ss {
            Some(ss) => self.conv(ss, &b.x, b.p + 6, &gsum, true),
            None => gsum.clone(),
        };
        let gd1 = self.conv(&b.s2, &b.d1, b.p + 4, &gsum, true);
        let ga1 = match &b.mask {
            Some(m) => cpu::dropout::dropout_backward(&gd1, m),
            None => gd1,
        };
        let gc1 = self.neuron(&b.act1, &ga1);
        let gx1 = self.conv(&b.s1, &b.x, b.p, &gc1, true);
        cpu::elementwise::residual_add(&gx1, &gx2)
    }
}
