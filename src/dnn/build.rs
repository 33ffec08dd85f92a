//! Builds the DNN's buffers and programs layer by layer, pairing each layer's
//! forward ops with its backward ops (llm.c style). Residual blocks are built
//! explicitly: the gradient of the block input is the sum of both branches.

use super::net::GpuParam;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::models::config::{LayerSpec, ModelConfig};
use crate::nn::activation::{
    threshold_relu_backward, threshold_relu_backward_mu, threshold_relu_forward,
};
use crate::nn::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dShape, ConvAlgo,
};
use crate::nn::dropout::{dropout_backward, dropout_forward};
use crate::nn::linear::{
    bias_backward, linear_backward_input, linear_backward_weight, linear_forward,
};
use crate::nn::pool::{
    avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward, PoolShape,
};
use crate::nn::program::{Arena, Step};
use crate::nn::residual::residual_add;
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
    gpu: &'a Gpu,
    cfg: &'a ModelConfig,
    n: usize,
    params: &'a [GpuParam],
    next_param: usize,
    acts: Vec<Tensor>,
    grads: Vec<Tensor>,
    arena: Arena,
    fwd_train: Vec<Step>,
    fwd_eval: Vec<Step>,
    /// Backward steps per layer, reversed at the end.
    bwd_layers: Vec<Vec<Step>>,
    pre_acts: Vec<Tensor>,
    post_acts: Vec<Tensor>,
}

fn alias(t: &Tensor, shape: &[usize], label: &str) -> Tensor {
    Tensor {
        buffer: t.buffer.clone(),
        shape: shape.to_vec(),
        label: label.into(),
    }
}

impl<'a> Builder<'a> {
    pub fn new(
        gpu: &'a Gpu,
        cfg: &'a ModelConfig,
        n: usize,
        params: &'a [GpuParam],
    ) -> Result<Self> {
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
    fn param(&mut self, suffix: &str) -> Result<&'a GpuParam> {
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

    fn tensor(&self, label: &str, per_sample: &[usize]) -> Result<Tensor> {
        let mut shape = vec![self.n];
        shape.extend_from_slice(per_sample);
        self.gpu.tensor(label, &shape)
    }

    pub fn build(&mut self) -> Result<()> {
        let shapes = self.cfg.shapes()?;
        for (i, layer) in self.cfg.layers.iter().enumerate() {
            let name = crate::models::params::layer_prefix(self.cfg, i);
            let in_shape: Vec<usize> = self.acts[i].shape[1..].to_vec();
            let out_shape = &shapes[i];
            let mut bwd = Vec::new();
            let (y, gy) = match layer {
                LayerSpec::Flatten => {
                    let mut s = vec![self.n];
                    s.extend_from_slice(out_shape);
                    (
                        alias(&self.acts[i], &s, &name),
                        alias(&self.grads[i], &s, &format!("{name}.grad")),
                    )
                }
                _ => (
                    self.tensor(&name, out_shape)?,
                    self.tensor(&format!("{name}.grad"), out_shape)?,
                ),
            };
            let x = &alias(&self.acts[i], &self.acts[i].shape, "x");
            let gx = &alias(&self.grads[i], &self.grads[i].shape, "gx");
            let need_dx = i > 0;
            match layer {
                LayerSpec::Conv {
                    out,
                    k,
                    stride,
                    pad,
                    ..
                } => {
                    let s = conv_shape(self.n, &in_shape, *out, *k, *stride, *pad);
                    let (w, b) = (self.param("weight")?, self.param("bias")?);
                    self.conv_pair(&name, &s, x, &y, gx, &gy, w, b, need_dx, &mut bwd)?;
                }
                LayerSpec::Linear { out, .. } => {
                    let (w, b) = (self.param("weight")?, self.param("bias")?);
                    let (n, inf) = (self.n, in_shape[0]);
                    let f =
                        linear_forward(self.gpu, &name, n, inf, *out, x, &w.value, &b.value, &y)?;
                    self.both(f);
                    if need_dx {
                        let op = linear_backward_input(
                            self.gpu,
                            &format!("{name}.dx"),
                            n,
                            inf,
                            *out,
                            &gy,
                            &w.value,
                            gx,
                        )?;
                        bwd.push(self.arena.op(op));
                    }
                    let op = linear_backward_weight(
                        self.gpu,
                        &format!("{name}.dw"),
                        n,
                        inf,
                        *out,
                        x,
                        &gy,
                        &w.grad,
                    )?;
                    bwd.push(self.arena.op(op));
                    if b.spec.trainable {
                        bwd.push(self.arena.op(bias_backward(
                            self.gpu,
                            &format!("{name}.db"),
                            n,
                            *out,
                            1,
                            &gy,
                            &b.grad,
                        )?));
                    }
                }
                LayerSpec::Act { .. } => {
                    let mu = self.param("mu")?;
                    self.act_pair(&name, x, &y, gx, &gy, mu, &mut bwd)?;
                }
                LayerSpec::Dropout { p } => {
                    let mask = self.tensor(&format!("{name}.mask"), out_shape)?;
                    let per_row = y.len() / self.n;
                    let d = dropout_forward(
                        self.gpu, &name, self.n, per_row, self.n, *p, 0, x, &y, &mask,
                    )?;
                    let step = self.arena.dropout(d);
                    self.fwd_train.push(step);
                    let (xi, yi) = (
                        self.arena.tensor(alias(x, &x.shape, "x")),
                        self.arena.tensor(alias(&y, &y.shape, "y")),
                    );
                    self.fwd_eval.push(Step::Copy(xi, yi));
                    let op =
                        dropout_backward(self.gpu, &format!("{name}.dx"), y.len(), &gy, &mask, gx)?;
                    bwd.push(self.arena.op(op));
                    self.arena.tensor(mask);
                }
                LayerSpec::MaxPool { k, stride } | LayerSpec::AvgPool { k, stride } => {
                    let s = PoolShape {
                        n: self.n,
                        c: in_shape[0],
                        h: in_shape[1],
                        w: in_shape[2],
                        k: *k,
                        stride: *stride,
                    };
                    if matches!(layer, LayerSpec::MaxPool { .. }) {
                        let argmax = self.tensor(&format!("{name}.argmax"), out_shape)?;
                        self.both(maxpool2d_forward(self.gpu, &name, &s, x, &y, &argmax)?);
                        if need_dx {
                            bwd.push(self.arena.op(maxpool2d_backward(
                                self.gpu,
                                &format!("{name}.dx"),
                                &s,
                                &gy,
                                &argmax,
                                gx,
                            )?));
                        }
                        self.arena.tensor(argmax);
                    } else {
                        self.both(avgpool2d_forward(self.gpu, &name, &s, x, &y)?);
                        if need_dx {
                            bwd.push(self.arena.op(avgpool2d_backward(
                                self.gpu,
                                &format!("{name}.dx"),
                                &s,
                                &gy,
                                gx,
                            )?));
                        }
                    }
                }
                LayerSpec::Flatten => {}
                LayerSpec::Block {
                    out,
                    stride,
                    dropout,
                } => {
                    self.block(
                        &name, &in_shape, out_shape, *out, *stride, *dropout, &y, &gy, &mut bwd,
                    )?;
                }
            }
            self.acts.push(y);
            self.grads.push(gy);
            self.bwd_layers.push(bwd);
        }
        if self.next_param != self.params.len() {
            return Err(Error::Config(format!(
                "{} parameters left unused",
                self.params.len() - self.next_param
            )));
        }
        Ok(())
    }

    /// Push a forward op used in both training and evaluation.
    fn both(&mut self, op: crate::gpu::Op) {
        let s = self.arena.op(op);
        self.fwd_train.push(s.clone());
        self.fwd_eval.push(s);
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_pair(
        &mut self,
        name: &str,
        s: &Conv2dShape,
        x: &Tensor,
        y: &Tensor,
        gx: &Tensor,
        gy: &Tensor,
        w: &GpuParam,
        b: &GpuParam,
        need_dx: bool,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        self.both(conv2d_forward(
            self.gpu,
            name,
            s,
            ConvAlgo::Auto,
            x,
            &w.value,
            &b.value,
            y,
        )?);
        if need_dx {
            bwd.push(self.arena.op(conv2d_backward_input(
                self.gpu,
                &format!("{name}.dx"),
                s,
                gy,
                &w.value,
                gx,
            )?));
        }
        let ops = conv2d_backward_weight(self.gpu, &format!("{name}.dw"), s, x, gy, &w.grad)?;
        bwd.extend(self.arena.ops(ops));
        if b.spec.trainable {
            let spatial = s.out_h() * s.out_w();
            bwd.push(self.arena.op(bias_backward(
                self.gpu,
                &format!("{name}.db"),
                s.n,
                s.c_out,
                spatial,
                gy,
                &b.grad,
            )?));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn act_pair(
        &mut self,
        name: &str,
        x: &Tensor,
        y: &Tensor,
        gx: &Tensor,
        gy: &Tensor,
        mu: &GpuParam,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let n = x.len();
        self.pre_acts.push(alias(x, &x.shape, name));
        self.post_acts.push(alias(y, &y.shape, name));
        self.both(threshold_relu_forward(self.gpu, name, n, x, &mu.value, y)?);
        bwd.push(self.arena.op(threshold_relu_backward(
            self.gpu,
            &format!("{name}.dx"),
            n,
            x,
            &mu.value,
            gy,
            gx,
        )?));
        let g = threshold_relu_backward_mu(
            self.gpu,
            &format!("{name}.dmu"),
            n,
            x,
            &mu.value,
            gy,
            &mu.grad,
        )?;
        bwd.extend(self.arena.ops(g.ops));
        Ok(())
    }

    /// conv1(stride) - act1 - dropout - conv2 - add shortcut - act2.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        name: &str,
        in_shape: &[usize],
        out_shape: &[usize],
        out: usize,
        stride: usize,
        p: f32,
        y: &Tensor,
        gy: &Tensor,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let i = self.acts.len() - 1;
        let x = alias(&self.acts[i], &self.acts[i].shape, "block.x");
        let gx = alias(&self.grads[i], &self.grads[i].shape, "block.gx");
        let t = |b: &Self, s: &str| b.tensor(&format!("{name}.{s}"), out_shape);
        let (c1, a1, d1, c2, sum) = (
            t(self, "conv1")?,
            t(self, "act1")?,
            t(self, "drop")?,
            t(self, "conv2")?,
            t(self, "sum")?,
        );
        let (gc1, ga1, gd1, gsum) = (
            t(self, "conv1.grad")?,
            t(self, "act1.grad")?,
            t(self, "drop.grad")?,
            t(self, "sum.grad")?,
        );
        let mut inner = Vec::new(); // backward in forward order; reversed below
        let s1 = conv_shape(self.n, in_shape, out, 3, stride, 1);
        let (w1, b1) = (self.param("conv1.weight")?, self.param("conv1.bias")?);
        let gx1 = self.tensor(&format!("{name}.x.grad1"), in_shape)?;
        let mut v = Vec::new();
        self.conv_pair(
            &format!("{name}.conv1"),
            &s1,
            &x,
            &c1,
            &gx1,
            &gc1,
            w1,
            b1,
            true,
            &mut v,
        )?;
        inner.push(v);
        let mu1 = self.param("act1.mu")?;
        let mut v = Vec::new();
        self.act_pair(&format!("{name}.act1"), &c1, &a1, &gc1, &ga1, mu1, &mut v)?;
        inner.push(v);
        let mask = t(self, "mask")?;
        let d = dropout_forward(
            self.gpu,
            &format!("{name}.drop"),
            self.n,
            a1.len() / self.n,
            self.n,
            p,
            0,
            &a1,
            &d1,
            &mask,
        )?;
        let ds = self.arena.dropout(d);
        self.fwd_train.push(ds);
        let (ai, di) = (
            self.arena.tensor(alias(&a1, &a1.shape, "a1")),
            self.arena.tensor(alias(&d1, &d1.shape, "d1")),
        );
        self.fwd_eval.push(Step::Copy(ai, di));
        inner.push(vec![self.arena.op(dropout_backward(
            self.gpu,
            &format!("{name}.drop.dx"),
            d1.len(),
            &gd1,
            &mask,
            &ga1,
        )?)]);
        let s2 = conv_shape(self.n, out_shape, out, 3, 1, 1);
        let (w2, b2) = (self.param("conv2.weight")?, self.param("conv2.bias")?);
        let mut v = Vec::new();
        self.conv_pair(
            &format!("{name}.conv2"),
            &s2,
            &d1,
            &c2,
            &gd1,
            &gsum,
            w2,
            b2,
            true,
            &mut v,
        )?;
        inner.push(v);
        // Shortcut: a 1x1 conv when the shape changes, else the identity.
        let gx2 = if crate::models::params::block_needs_shortcut(in_shape, out_shape) {
            let ss = conv_shape(self.n, in_shape, out, 1, stride, 0);
            let (ws, bs) = (self.param("shortcut.weight")?, self.param("shortcut.bias")?);
            let sc = t(self, "shortcut")?;
            let gx2 = self.tensor(&format!("{name}.x.grad2"), in_shape)?;
            let mut v = Vec::new();
            self.conv_pair(
                &format!("{name}.shortcut"),
                &ss,
                &x,
                &sc,
                &gx2,
                &gsum,
                ws,
                bs,
                true,
                &mut v,
            )?;
            inner.push(v);
            self.both(residual_add(
                self.gpu,
                &format!("{name}.add"),
                &c2,
                &sc,
                &sum,
            )?);
            self.arena.tensor(sc);
            gx2
        } else {
            self.both(residual_add(
                self.gpu,
                &format!("{name}.add"),
                &c2,
                &x,
                &sum,
            )?);
            alias(&gsum, &gsum.shape, "gsum")
        };
        let mu2 = self.param("act2.mu")?;
        let mut v = Vec::new();
        self.act_pair(&format!("{name}.act2"), &sum, y, &gsum, gy, mu2, &mut v)?;
        inner.push(v);
        // Backward: the inner layers in reverse, then dL/dx = both branches.
        let mut add = vec![self.arena.op(residual_add(
            self.gpu,
            &format!("{name}.dx"),
            &gx1,
            &gx2,
            &gx,
        )?)];
        for v in inner.into_iter().rev() {
            bwd.extend(v);
        }
        bwd.append(&mut add);
        for keep in [c1, a1, d1, c2, sum, gc1, ga1, gd1, gsum, mask, gx1, gx2] {
            self.arena.tensor(keep);
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
