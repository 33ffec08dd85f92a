//! Builds the DNN's buffers and programs layer by layer, pairing each layer's
//! forward ops with its backward ops (llm.c style). Residual blocks are built
//! explicitly (`build_block`): the gradient of the block input is the sum of both branches.

use super::params::GpuParam;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::nn::activation::{qcfs_forward, threshold_relu_forward};
use crate::nn::activation_backward::activation_backward;
use crate::nn::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dShape, ConvAlgo};
use crate::nn::dropout::{dropout_backward, dropout_forward};
use crate::nn::linear::{bias_backward, linear_backward_input, linear_backward_weight, linear_forward};
use crate::nn::pool::{avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward, PoolShape};
use crate::nn::program::{Arena, Step};
use crate::spec::shapes::conv_shape;

pub struct Built {
    pub input: Tensor,
    pub acts: Vec<Tensor>,
    pub grads: Vec<Tensor>,
    pub arena: Arena,
    pub fwd_train: Vec<Step>,
    pub fwd_eval: Vec<Step>,
    pub bwd: Vec<Step>,
    /// Input and output of every threshold-ReLU, in parameter (mu) order.
    pub pre_acts: Vec<Tensor>,
    pub post_acts: Vec<Tensor>,
}

impl Built {
    pub fn dlogits(&self) -> &Tensor {
        // grads has one entry per act; the last is the logits' gradient.
        &self.grads[self.grads.len() - 1]
    }
}

pub struct Builder<'a> {
    pub(super) gpu: &'a Gpu,
    cfg: &'a ModelConfig,
    pub(super) n: usize,
    params: &'a [GpuParam],
    next_param: usize,
    acts: Vec<Tensor>,
    grads: Vec<Tensor>,
    pub(super) arena: Arena,
    fwd_train: Vec<Step>,
    fwd_eval: Vec<Step>,
    /// Backward steps per layer, reversed at the end.
    bwd_layers: Vec<Vec<Step>>,
    pre_acts: Vec<Tensor>,
    post_acts: Vec<Tensor>,
}

/// The tensors of one layer: forward x -> y, backward gy -> gx.
#[derive(Clone, Copy)]
pub(super) struct Io<'t> {
    pub(super) x: &'t Tensor,
    pub(super) y: &'t Tensor,
    pub(super) gx: &'t Tensor,
    pub(super) gy: &'t Tensor,
}

pub(super) fn alias(t: &Tensor, shape: &[usize], label: &str) -> Tensor {
    t.view(shape, label)
}

impl<'a> Builder<'a> {
    pub fn new(gpu: &'a Gpu, cfg: &'a ModelConfig, n: usize, params: &'a [GpuParam]) -> Result<Self> {
        let mut shape = vec![n];
        shape.extend_from_slice(&cfg.input);
        let input = gpu.tensor("input", &shape)?;
        let ginput = gpu.tensor("input.grad", &[1])?; // never written: layer 0 computes no dx
        Ok(Builder {
            gpu,
            cfg,
            n,
            params,
            next_param: 0,
            acts: vec![input],
            grads: vec![ginput],
            arena: Arena::default(),
            fwd_train: Vec::new(),
            fwd_eval: Vec::new(),
            bwd_layers: Vec::new(),
            pre_acts: Vec::new(),
            post_acts: Vec::new(),
        })
    }

    /// The next parameter in `param_specs` order, checking its name suffix.
    pub(super) fn param(&mut self, suffix: &str) -> Result<&'a GpuParam> {
        let p = self
            .params
            .get(self.next_param)
            .ok_or_else(|| Error::Config("parameter list too short".into()))?;
        if !p.spec.name.ends_with(suffix) {
            return Err(Error::Config(format!(
                "expected a `{suffix}` parameter, found `{}`",
                p.spec.name
            )));
        }
        self.next_param += 1;
        Ok(p)
    }

    pub(super) fn tensor(&self, label: &str, per_sample: &[usize]) -> Result<Tensor> {
        let mut shape = vec![self.n];
        shape.extend_from_slice(per_sample);
        self.gpu.tensor(label, &shape)
    }

    pub fn build(&mut self) -> Result<()> {
        let shapes = self.cfg.shapes()?;
        for (i, layer) in self.cfg.layers.iter().enumerate() {
            self.layer(i, layer, &shapes[i])?;
        }
        if self.next_param != self.params.len() {
            return Err(Error::Config(format!(
                "{} parameters left unused",
                self.params.len() - self.next_param
            )));
        }
        Ok(())
    }

    /// Layer `i`: its output and gradient buffers, forward ops and backward ops.
    fn layer(&mut self, i: usize, layer: &LayerSpec, out_shape: &[usize]) -> Result<()> {
        let name = crate::models::params::layer_prefix(self.cfg, i);
        let in_shape: Vec<usize> = self.acts[i].shape[1..].to_vec();
        let (y, gy) = self.outputs(i, layer, &name, out_shape)?;
        let x = alias(&self.acts[i], &self.acts[i].shape, "x");
        let gx = alias(&self.grads[i], &self.grads[i].shape, "gx");
        let io = Io {
            x: &x,
            y: &y,
            gx: &gx,
            gy: &gy,
        };
        let need_dx = i > 0;
        let mut bwd = Vec::new();
        match *layer {
            LayerSpec::Conv {
                out, k, stride, pad, ..
            } => {
                let s = conv_shape(self.n, &in_shape, out, k, stride, pad);
                let (w, b) = (self.param("weight")?, self.param("bias")?);
                self.conv_pair(&name, &s, io, w, b, need_dx, &mut bwd)?;
            }
            LayerSpec::Linear { out, .. } => {
                self.linear_pair(&name, in_shape[0], out, io, need_dx, &mut bwd)?;
            }
            LayerSpec::Act { .. } => {
                let mu = self.param("mu")?;
                self.act_pair(&name, io, mu, &mut bwd)?;
            }
            LayerSpec::Dropout { p } => {
                let mask = self.tensor(&format!("{name}.mask"), out_shape)?;
                self.dropout_pair(&name, p, &mask, io, &mut bwd)?;
                self.arena.tensor(mask);
            }
            LayerSpec::MaxPool { k, stride } => {
                let s = self.pool_shape(&in_shape, k, stride);
                self.maxpool_pair(&name, &s, out_shape, io, need_dx, &mut bwd)?;
            }
            LayerSpec::AvgPool { k, stride } => {
                let s = self.pool_shape(&in_shape, k, stride);
                self.avgpool_pair(&name, &s, io, need_dx, &mut bwd)?;
            }
            LayerSpec::Flatten => {}
            LayerSpec::Block { out, stride, dropout } => {
                let s1 = conv_shape(self.n, &in_shape, out, 3, stride, 1);
                self.block(&name, &s1, stride, dropout, io, &mut bwd)?;
            }
        }
        self.acts.push(y);
        self.grads.push(gy);
        self.bwd_layers.push(bwd);
        Ok(())
    }

    /// Layer `i`'s output and its gradient; Flatten's are views of its input's.
    fn outputs(&self, i: usize, layer: &LayerSpec, name: &str, out_shape: &[usize]) -> Result<(Tensor, Tensor)> {
        if let LayerSpec::Flatten = layer {
            let mut s = vec![self.n];
            s.extend_from_slice(out_shape);
            return Ok((
                alias(&self.acts[i], &s, name),
                alias(&self.grads[i], &s, &format!("{name}.grad")),
            ));
        }
        Ok((
            self.tensor(name, out_shape)?,
            self.tensor(&format!("{name}.grad"), out_shape)?,
        ))
    }

    fn pool_shape(&self, in_shape: &[usize], k: usize, stride: usize) -> PoolShape {
        PoolShape {
            n: self.n,
            c: in_shape[0],
            h: in_shape[1],
            w: in_shape[2],
            k,
            stride,
        }
    }

    /// Push a forward op used in both training and evaluation.
    pub(super) fn both(&mut self, op: crate::gpu::Op) {
        let s = self.arena.op(op);
        self.fwd_train.push(s.clone());
        self.fwd_eval.push(s);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv_pair(
        &mut self,
        name: &str,
        s: &Conv2dShape,
        io: Io,
        w: &GpuParam,
        b: &GpuParam,
        need_dx: bool,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        for op in conv2d_forward(self.gpu, name, s, ConvAlgo::Auto, io.x, &w.value, &b.value, io.y)? {
            self.both(op);
        }
        if need_dx {
            let dx_name = format!("{name}.dx");
            let ops = conv2d_backward_input(self.gpu, &dx_name, s, io.gy, &w.value, io.gx)?;
            bwd.extend(self.arena.ops(ops));
        }
        let dw_name = format!("{name}.dw");
        let ops = conv2d_backward_weight(self.gpu, &dw_name, s, io.x, io.gy, &w.grad)?;
        bwd.extend(self.arena.ops(ops));
        if b.spec.trainable {
            let spatial = s.out_h() * s.out_w();
            let db_name = format!("{name}.db");
            let op = bias_backward(self.gpu, &db_name, s.n, s.c_out, spatial, io.gy, &b.grad)?;
            bwd.push(self.arena.op(op));
        }
        Ok(())
    }

    fn linear_pair(
        &mut self,
        name: &str,
        inf: usize,
        out: usize,
        io: Io,
        need_dx: bool,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let (w, b) = (self.param("weight")?, self.param("bias")?);
        let (gpu, n) = (self.gpu, self.n);
        self.both(linear_forward(gpu, name, n, inf, out, io.x, &w.value, &b.value, io.y)?);
        if need_dx {
            let dx_name = format!("{name}.dx");
            let op = linear_backward_input(gpu, &dx_name, n, inf, out, io.gy, &w.value, io.gx)?;
            bwd.push(self.arena.op(op));
        }
        let dw_name = format!("{name}.dw");
        let op = linear_backward_weight(gpu, &dw_name, n, inf, out, io.x, io.gy, &w.grad)?;
        bwd.push(self.arena.op(op));
        if b.spec.trainable {
            let op = bias_backward(gpu, &format!("{name}.db"), n, out, 1, io.gy, &b.grad)?;
            bwd.push(self.arena.op(op));
        }
        Ok(())
    }

    pub(super) fn act_pair(&mut self, name: &str, io: Io, mu: &GpuParam, bwd: &mut Vec<Step>) -> Result<()> {
        let (x, n) = (io.x, io.x.len());
        self.pre_acts.push(alias(x, &x.shape, name));
        self.post_acts.push(alias(io.y, &io.y.shape, name));
        let forward = match self.cfg.act_levels {
            None => threshold_relu_forward(self.gpu, name, n, x, &mu.value, io.y)?,
            Some(l) => qcfs_forward(self.gpu, name, n, l, x, &mu.value, io.y)?,
        };
        self.both(forward);
        // dx and dmu in one fused pass (QCFS's floor is straight-through, so dx is the same).
        let bwd_name = format!("{name}.bwd");
        let levels = self.cfg.act_levels;
        let grad = activation_backward(self.gpu, &bwd_name, n, levels, [x, &mu.value, io.gy], io.gx, &mu.grad)?;
        bwd.extend(self.arena.ops(grad.ops));
        Ok(())
    }

    /// Dropout while training, a plain copy at evaluation (`mask` is the caller's to keep).
    pub(super) fn dropout_pair(
        &mut self,
        name: &str,
        p: f32,
        mask: &Tensor,
        io: Io,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let (n, per_row) = (self.n, io.y.len() / self.n);
        let d = dropout_forward(self.gpu, name, n, per_row, n, p, 0, io.x, io.y, mask)?;
        // Dropouts are seeded by their arena index: build them in layer order.
        let step = self.arena.dropout(d);
        self.fwd_train.push(step);
        let (xi, yi) = (
            self.arena.tensor(alias(io.x, &io.x.shape, "x")),
            self.arena.tensor(alias(io.y, &io.y.shape, "y")),
        );
        self.fwd_eval.push(Step::Copy(xi, yi));
        let dx_name = format!("{name}.dx");
        let op = dropout_backward(self.gpu, &dx_name, io.y.len(), io.gy, mask, io.gx)?;
        bwd.push(self.arena.op(op));
        Ok(())
    }

    fn maxpool_pair(
        &mut self,
        name: &str,
        s: &PoolShape,
        out_shape: &[usize],
        io: Io,
        need_dx: bool,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let argmax = self.tensor(&format!("{name}.argmax"), out_shape)?;
        self.both(maxpool2d_forward(self.gpu, name, s, io.x, io.y, &argmax)?);
        if need_dx {
            let dx_name = format!("{name}.dx");
            let op = maxpool2d_backward(self.gpu, &dx_name, s, io.gy, &argmax, io.gx)?;
            bwd.push(self.arena.op(op));
        }
        self.arena.tensor(argmax);
        Ok(())
    }

    fn avgpool_pair(&mut self, name: &str, s: &PoolShape, io: Io, need_dx: bool, bwd: &mut Vec<Step>) -> Result<()> {
        self.both(avgpool2d_forward(self.gpu, name, s, io.x, io.y)?);
        if need_dx {
            let dx_name = format!("{name}.dx");
            let op = avgpool2d_backward(self.gpu, &dx_name, s, io.gy, io.gx)?;
            bwd.push(self.arena.op(op));
        }
        Ok(())
    }

    pub fn finish(self) -> Built {
        let mut bwd = Vec::new();
        for v in self.bwd_layers.into_iter().rev() {
            bwd.extend(v);
        }
        Built {
            input: alias(&self.acts[0], &self.acts[0].shape, "input"),
            acts: self.acts,
            grads: self.grads,
            arena: self.arena,
            fwd_train: self.fwd_train,
            fwd_eval: self.fwd_eval,
            bwd,
            pre_acts: self.pre_acts,
            post_acts: self.post_acts,
        }
    }
}
