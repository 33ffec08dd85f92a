//! Builds the SNN's buffers and programs. Layers before the first neuron see
//! the analog image: they run once on [B] rows (direct encoding, the first
//! layer's constant current is computed once) and the first IF layer reuses
//! that current at every step. From there on every tensor has T*B rows,
//! t-major, so each conv/linear is one dispatch over all time steps.

use super::net::{Neuron, SnnOptions, SnnParam, Synapse};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Op, Tensor};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::models::params::{block_needs_shortcut, layer_prefix};
use crate::nn::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dShape, ConvAlgo};
use crate::nn::dropout::{dropout_backward, dropout_forward};
use crate::nn::linear::{bias_backward, linear_backward_input, linear_backward_weight, linear_forward};
use crate::nn::pool::{avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward, PoolShape};
use crate::nn::program::{Arena, Step};
use crate::nn::reduce::sum_over_t;
use crate::nn::residual::residual_add;
use crate::nn::spikes::{spike_map_count, SPIKE_MAP_COUNT_LIMIT_WORD};
use crate::nn::spiking::{if_backward, if_forward, IfConfig, IF_COUNT_LIMIT_WORD};
use crate::spec::shapes::conv_shape;
use crate::spec::NeuronParams;

/// A counting op (`Arena::ops[op]`) whose uniform word `word` must hold
/// valid images x `per_image`, so the padding of a partial batch is not counted.
#[derive(Clone, Copy, Debug)]
pub struct CountLimit {
    pub op: usize,
    pub word: usize,
    pub per_image: usize,
}

/// A tensor flowing between layers, with its gradient (training only).
#[derive(Clone)]
pub struct Flow {
    pub x: Tensor,
    pub g: Option<Tensor>,
    /// Per-sample shape.
    pub shape: Vec<usize>,
    /// True once the tensor holds T*B rows (after the first neuron).
    pub spiking: bool,
}

pub struct SnnBuilder<'a> {
    pub gpu: &'a Gpu,
    pub cfg: &'a ModelConfig,
    pub opts: SnnOptions,
    pub params: &'a [SnnParam],
    pub neuron_params: &'a [NeuronParams],
    next_param: usize,
    pub arena: Arena,
    pub fwd: Vec<Step>,
    pub fwd_train: Vec<Step>,
    pub count: Vec<Step>,
    pub bwd_layers: Vec<Vec<Step>>,
    pub neurons: Vec<Neuron>,
    pub synapses: Vec<Synapse>,
    /// Counting ops whose limit follows the valid images of a batch.
    pub count_limits: Vec<CountLimit>,
    pub bytes: u64,
}

pub fn alias(t: &Tensor, label: &str) -> Tensor {
    Tensor {
        buffer: t.buffer.clone(),
        shape: t.shape.clone(),
        label: label.into(),
    }
}

impl<'a> SnnBuilder<'a> {
    pub fn new(
        gpu: &'a Gpu,
        cfg: &'a ModelConfig,
        opts: SnnOptions,
        params: &'a [SnnParam],
        neuron_params: &'a [NeuronParams],
    ) -> Self {
        SnnBuilder {
            gpu,
            cfg,
            opts,
            params,
            neuron_params,
            next_param: 0,
            arena: Arena::default(),
            fwd: Vec::new(),
            fwd_train: Vec::new(),
            count: Vec::new(),
            bwd_layers: Vec::new(),
            neurons: Vec::new(),
            synapses: Vec::new(),
            count_limits: Vec::new(),
            bytes: 0,
        }
    }

    pub fn param(&mut self, suffix: &str) -> Result<&'a SnnParam> {
        let p = self
            .params
            .get(self.next_param)
            .ok_or_else(|| Error::Config("SNN parameter list too short".into()))?;
        if !p.spec.name.ends_with(suffix) {
            return Err(Error::Config(format!(
                "expected a `{suffix}` parameter, found `{}`",
                p.spec.name
            )));
        }
        self.next_param += 1;
        Ok(p)
    }

    pub fn params_used(&self) -> usize {
        self.next_param
    }

    fn rows(&self, spiking: bool) -> usize {
        if spiking {
            self.opts.t * self.opts.batch
        } else {
            self.opts.batch
        }
    }

    /// A new flow tensor (and its gradient when training) of `rows` x `shape`.
    pub fn flow(&mut self, label: &str, shape: &[usize], spiking: bool) -> Result<Flow> {
        let mut full = vec![self.rows(spiking)];
        full.extend_from_slice(shape);
        let x = self.gpu.tensor(label, &full)?;
        self.bytes += x.bytes();
        let g = if self.opts.train {
            let g = self.gpu.tensor(&format!("{label}.grad"), &full)?;
            self.bytes += g.bytes();
            Some(g)
        } else {
            None
        };
        Ok(Flow {
            x,
            g,
            shape: shape.to_vec(),
            spiking,
        })
    }

    fn both(&mut self, op: Op) {
        let s = self.arena.op(op);
        self.fwd.push(s.clone());
        self.fwd_train.push(s);
    }

    fn scratch(&mut self, label: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.gpu.tensor(label, shape)?;
        self.bytes += t.bytes();
        Ok(t)
    }

    /// conv (or the analog first layer) with its backward.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        x: &Flow,
        y: &Flow,
        s: &Conv2dShape,
        w: &SnnParam,
        b: &SnnParam,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        self.both(conv2d_forward(
            self.gpu,
            name,
            s,
            ConvAlgo::Auto,
            &x.x,
            &w.value,
            &b.value,
            &y.x,
        )?);
        self.synapse(name, x, s.c_out * s.out_h() * s.out_w(), Some(*s), s.n)?;
        if let (Some(gy), true) = (&y.g, self.opts.train) {
            if let Some(gx) = &x.g {
                bwd.push(self.arena.op(conv2d_backward_input(
                    self.gpu,
                    &format!("{name}.dx"),
                    s,
                    gy,
                    &w.value,
                    gx,
                )?));
            }
            bwd.extend(self.arena.ops(conv2d_backward_weight(
                self.gpu,
                &format!("{name}.dw"),
                s,
                &x.x,
                gy,
                &w.grad,
            )?));
            if b.spec.trainable {
                let sp = s.out_h() * s.out_w();
                bwd.push(self.arena.op(bias_backward(
                    self.gpu,
                    &format!("{name}.db"),
                    s.n,
                    s.c_out,
                    sp,
                    gy,
                    &b.grad,
                )?));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn linear(
        &mut self,
        name: &str,
        x: &Flow,
        y: &Flow,
        inf: usize,
        out: usize,
        w: &SnnParam,
        b: &SnnParam,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let n = self.rows(x.spiking);
        self.both(linear_forward(
            self.gpu, name, n, inf, out, &x.x, &w.value, &b.value, &y.x,
        )?);
        self.synapse(name, x, out, None, n)?;
        if let (Some(gy), true) = (&y.g, self.opts.train) {
            if let Some(gx) = &x.g {
                bwd.push(self.arena.op(linear_backward_input(
                    self.gpu,
                    &format!("{name}.dx"),
                    n,
                    inf,
                    out,
                    gy,
                    &w.value,
                    gx,
                )?));
            }
            bwd.push(self.arena.op(linear_backward_weight(
                self.gpu,
                &format!("{name}.dw"),
                n,
                inf,
                out,
                &x.x,
                gy,
                &w.grad,
            )?));
            if b.spec.trainable {
                bwd.push(
                    self.arena
                        .op(bias_backward(self.gpu, &format!("{name}.db"), n, out, 1, gy, &b.grad)?),
                );
            }
        }
        Ok(())
    }

    /// Record a synaptic layer for energy: analog input counts MACs, spiking
    /// input counts ACs through a per-position spike map.
    fn synapse(
        &mut self,
        name: &str,
        x: &Flow,
        macs_per_row: usize,
        conv: Option<Conv2dShape>,
        rows: usize,
    ) -> Result<()> {
        let per_row: usize = x.shape.iter().product();
        let macs = match conv {
            Some(s) => (s.k * s.k * s.c_in * s.out_h() * s.out_w() * s.c_out) as u64,
            None => (per_row * macs_per_row) as u64,
        };
        let hw = match conv {
            Some(s) => s.h * s.w,
            None => 1,
        };
        let map = self.scratch(&format!("{name}.spike_map"), &[hw])?;
        if x.spiking {
            let step = self.opts.batch * per_row;
            let op = spike_map_count(
                self.gpu,
                &format!("{name}.spike_map"),
                rows * per_row,
                step,
                hw,
                &x.x,
                &map,
            )?;
            self.count_limits.push(CountLimit {
                op: self.arena.ops.len(),
                word: SPIKE_MAP_COUNT_LIMIT_WORD,
                per_image: per_row,
            });
            let s = self.arena.op(op);
            self.count.push(s);
        }
        self.synapses.push(Synapse {
            name: name.into(),
            analog: !x.spiking,
            dnn_macs: macs,
            conv,
            fan_out_linear: macs_per_row,
            map,
        });
        Ok(())
    }

    /// The IF neuron where the DNN had a threshold-ReLU.
    pub fn neuron(&mut self, name: &str, x: &Flow, bwd: &mut Vec<Step>) -> Result<Flow> {
        let (vth, leak) = (self.param("vth")?, self.param("leak")?);
        let np = *self
            .neuron_params
            .get(self.neurons.len())
            .ok_or_else(|| Error::Config(format!("no neuron constants for `{name}`")))?;
        let y = self.flow(&format!("{name}.spikes"), &x.shape, true)?;
        let per: usize = x.shape.iter().product();
        let (t, n) = (self.opts.t, self.opts.batch * per);
        let cfg = IfConfig {
            beta: np.beta,
            shift: np.shift,
            out_scale: self.opts.out_scale,
            save_trace: self.opts.train,
        };
        let trace = if self.opts.train {
            self.scratch(&format!("{name}.u"), &[t * n])?
        } else {
            self.scratch(&format!("{name}.u"), &[1])?
        };
        let count = self.scratch(&format!("{name}.count"), &[1])?;
        self.count_limits.push(CountLimit {
            op: self.arena.ops.len(),
            word: IF_COUNT_LIMIT_WORD,
            per_image: per,
        });
        self.both(if_forward(
            self.gpu,
            name,
            t,
            n,
            &cfg,
            &x.x,
            &vth.value,
            &leak.value,
            &y.x,
            &trace,
            &count,
        )?);
        if let (Some(gy), true) = (&y.g, self.opts.train) {
            // BPTT writes dL/dI per step; an analog input gets their sum over T.
            let d_in = if x.spiking {
                x.g.clone()
            } else {
                Some(self.scratch(&format!("{name}.dI"), &[t * n])?)
            };
            if let Some(d_in) = d_in {
                let b = if_backward(
                    self.gpu,
                    &format!("{name}.bptt"),
                    t,
                    n,
                    &cfg,
                    self.opts.surrogate,
                    &trace,
                    &vth.value,
                    &leak.value,
                    gy,
                    &d_in,
                    &vth.grad,
                    &leak.grad,
                )?;
                bwd.extend(self.arena.ops(b.ops));
                if let (false, Some(gx)) = (x.spiking, &x.g) {
                    bwd.push(
                        self.arena
                            .op(sum_over_t(self.gpu, &format!("{name}.dI.sum"), t, n, &d_in, gx)?),
                    );
                }
            }
        }
        self.arena.tensor(trace);
        self.neurons.push(Neuron {
            name: name.into(),
            vth: self.next_param - 2,
            leak: self.next_param - 1,
            params: np,
            cfg,
            per_sample: per,
            out: alias(&y.x, name),
            count,
        });
        Ok(y)
    }

    pub fn build(&mut self, input: &Flow) -> Result<Flow> {
        let shapes = self.cfg.shapes()?;
        let mut cur = input.clone();
        for (i, layer) in self.cfg.layers.iter().enumerate() {
            let name = layer_prefix(self.cfg, i);
            let out_shape = shapes[i].clone();
            let mut bwd = Vec::new();
            let last = i + 1 == self.cfg.layers.len();
            cur = match layer {
                LayerSpec::Conv {
                    out, k, stride, pad, ..
                } => {
                    let y = self.flow(&name, &out_shape, cur.spiking)?;
                    let s = conv_shape(self.rows(cur.spiking), &cur.shape, *out, *k, *stride, *pad);
                    let (w, b) = (self.param("weight")?, self.param("bias")?);
                    self.conv(&name, &cur, &y, &s, w, b, &mut bwd)?;
                    y
                }
                LayerSpec::Linear { out, .. } => {
                    let y = self.flow(&name, &out_shape, cur.spiking)?;
                    let (w, b) = (self.param("weight")?, self.param("bias")?);
                    self.linear(&name, &cur, &y, cur.shape[0], *out, w, b, &mut bwd)?;
                    y
                }
                LayerSpec::Act { .. } => self.neuron(&name, &cur, &mut bwd)?,
                LayerSpec::Dropout { p } => self.dropout(&name, &cur, *p, &mut bwd)?,
                LayerSpec::MaxPool { k, stride } | LayerSpec::AvgPool { k, stride } => {
                    let y = self.flow(&name, &out_shape, cur.spiking)?;
                    let sh = &cur.shape;
                    let s = PoolShape {
                        n: self.rows(cur.spiking),
                        c: sh[0],
                        h: sh[1],
                        w: sh[2],
                        k: *k,
                        stride: *stride,
                    };
                    if matches!(layer, LayerSpec::MaxPool { .. }) {
                        let arg = self.scratch(&format!("{name}.argmax"), &y.x.shape)?;
                        self.both(maxpool2d_forward(self.gpu, &name, &s, &cur.x, &y.x, &arg)?);
                        if let (Some(gx), Some(gy)) = (&cur.g, &y.g) {
                            bwd.push(self.arena.op(maxpool2d_backward(
                                self.gpu,
                                &format!("{name}.dx"),
                                &s,
                                gy,
                                &arg,
                                gx,
                            )?));
                        }
                        self.arena.tensor(arg);
                    } else {
                        self.both(avgpool2d_forward(self.gpu, &name, &s, &cur.x, &y.x)?);
                        if let (Some(gx), Some(gy)) = (&cur.g, &y.g) {
                            bwd.push(
                                self.arena
                                    .op(avgpool2d_backward(self.gpu, &format!("{name}.dx"), &s, gy, gx)?),
                            );
                        }
                    }
                    y
                }
                LayerSpec::Flatten => {
                    let mut shape = cur.x.shape.clone();
                    shape.truncate(1);
                    shape.push(out_shape[0]);
                    let view = |t: &Tensor| Tensor {
                        buffer: t.buffer.clone(),
                        shape: shape.clone(),
                        label: name.clone(),
                    };
                    Flow {
                        x: view(&cur.x),
                        g: cur.g.as_ref().map(view),
                        shape: out_shape.clone(),
                        spiking: cur.spiking,
                    }
                }
                LayerSpec::Block { out, stride, dropout } => {
                    super::build_block::block(self, &name, &cur, &out_shape, *out, *stride, *dropout, &mut bwd)?
                }
            };
            if last && !cur.spiking {
                return Err(Error::Config(format!(
                    "model `{}` has no threshold-ReLU: nothing to convert into spikes",
                    self.cfg.name
                )));
            }
            self.bwd_layers.push(bwd);
        }
        Ok(cur)
    }

    /// Dropout: identity at inference; in training one mask per sample, kept
    /// across the T steps (rows t*B + b share mask row b).
    pub fn dropout(&mut self, name: &str, x: &Flow, p: f32, bwd: &mut Vec<Step>) -> Result<Flow> {
        if !self.opts.train || p == 0.0 {
            return Ok(x.clone());
        }
        let y = self.flow(name, &x.shape, x.spiking)?;
        let mask = self.scratch(&format!("{name}.mask"), &y.x.shape)?;
        let rows = self.rows(x.spiking);
        let per = y.x.len() / rows;
        let d = dropout_forward(self.gpu, name, rows, per, self.opts.batch, p, 0, &x.x, &y.x, &mask)?;
        let s = self.arena.dropout(d);
        self.fwd_train.push(s);
        let (xi, yi) = (self.arena.tensor(alias(&x.x, "x")), self.arena.tensor(alias(&y.x, "y")));
        self.fwd.push(Step::Copy(xi, yi));
        if let (Some(gx), Some(gy)) = (&x.g, &y.g) {
            bwd.push(self.arena.op(dropout_backward(
                self.gpu,
                &format!("{name}.dx"),
                y.x.len(),
                gy,
                &mask,
                gx,
            )?));
        }
        self.arena.tensor(mask);
        Ok(y)
    }

    /// The residual join y = a + b (backward: dL/da = dL/db = dL/dy).
    pub fn add(&mut self, name: &str, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<()> {
        self.both(residual_add(self.gpu, name, a, b, y)?);
        Ok(())
    }

    pub fn block_shortcut_needed(in_shape: &[usize], out_shape: &[usize]) -> bool {
        block_needs_shortcut(in_shape, out_shape)
    }
}
