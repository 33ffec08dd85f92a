//! SnnBuilder's conv, linear, pooling, flatten, dropout and residual-add layers, moved out of build.rs for size.

use super::build::{alias, CountLimit, Flow, SnnBuilder};
use super::net::{SnnParam, Synapse};
use crate::error::Result;
use crate::gpu::Tensor;
use crate::nn::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward, Conv2dShape, ConvAlgo};
use crate::nn::dropout::{dropout_backward, dropout_forward};
use crate::nn::linear::{bias_backward, linear_backward_input, linear_backward_weight, linear_forward};
use crate::nn::pool::{avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward, PoolShape};
use crate::nn::program::Step;
use crate::nn::residual::residual_add;
use crate::nn::spikes::{spike_map_count, SPIKE_MAP_COUNT_LIMIT_WORD};

impl SnnBuilder<'_> {
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
        for op in conv2d_forward(self.gpu, name, s, ConvAlgo::Auto, &x.x, &w.value, &b.value, &y.x)? {
            self.both(op);
        }
        self.synapse(name, x, s.c_out * s.out_h() * s.out_w(), Some(*s), s.n)?;
        if let (Some(gy), true) = (&y.g, self.opts.train) {
            if let Some(gx) = &x.g {
                bwd.extend(self.arena.ops(conv2d_backward_input(
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

    /// The per-row pooling geometry over `x`'s rows.
    fn pool_shape(&self, x: &Flow, k: usize, stride: usize) -> PoolShape {
        let sh = &x.shape;
        PoolShape {
            n: self.rows(x.spiking),
            c: sh[0],
            h: sh[1],
            w: sh[2],
            k,
            stride,
        }
    }

    /// Max pooling; its backward routes the gradient through the saved argmax.
    pub(super) fn max_pool(
        &mut self,
        name: &str,
        x: &Flow,
        out_shape: &[usize],
        k: usize,
        stride: usize,
        bwd: &mut Vec<Step>,
    ) -> Result<Flow> {
        let y = self.flow(name, out_shape, x.spiking)?;
        let s = self.pool_shape(x, k, stride);
        let arg = self.scratch(&format!("{name}.argmax"), &y.x.shape)?;
        self.both(maxpool2d_forward(self.gpu, name, &s, &x.x, &y.x, &arg)?);
        if let (Some(gx), Some(gy)) = (&x.g, &y.g) {
            bwd.push(
                self.arena
                    .op(maxpool2d_backward(self.gpu, &format!("{name}.dx"), &s, gy, &arg, gx)?),
            );
        }
        self.arena.tensor(arg);
        Ok(y)
    }

    /// Average pooling.
    pub(super) fn avg_pool(
        &mut self,
        name: &str,
        x: &Flow,
        out_shape: &[usize],
        k: usize,
        stride: usize,
        bwd: &mut Vec<Step>,
    ) -> Result<Flow> {
        let y = self.flow(name, out_shape, x.spiking)?;
        let s = self.pool_shape(x, k, stride);
        self.both(avgpool2d_forward(self.gpu, name, &s, &x.x, &y.x)?);
        if let (Some(gx), Some(gy)) = (&x.g, &y.g) {
            bwd.push(
                self.arena
                    .op(avgpool2d_backward(self.gpu, &format!("{name}.dx"), &s, gy, gx)?),
            );
        }
        Ok(y)
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
}

/// Flatten: a view of `x` (and its gradient) with `out_shape` per row; no op.
pub(super) fn flatten(name: &str, x: &Flow, out_shape: &[usize]) -> Flow {
    let mut shape = x.x.shape.clone();
    shape.truncate(1);
    shape.push(out_shape[0]);
    let view = |t: &Tensor| t.view(&shape, name);
    Flow {
        x: view(&x.x),
        g: x.g.as_ref().map(view),
        shape: out_shape.to_vec(),
        spiking: x.spiking,
    }
}
