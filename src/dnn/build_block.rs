//! The DNN's residual block: conv1(stride) - act1 - dropout - conv2, plus the
//! shortcut (a 1x1 conv when the shape changes, else the input itself), summed
//! before act2. The gradient of the block input is the sum of both branches.

use super::build::{alias, Builder, Io};
use crate::error::Result;
use crate::gpu::Tensor;
use crate::nn::conv::Conv2dShape;
use crate::nn::program::{Arena, Step};
use crate::nn::residual::residual_add;
use crate::spec::shapes::conv_shape;

impl Builder<'_> {
    /// conv1(stride) - act1 - dropout - conv2 - add shortcut - act2, where `s1`
    /// is conv1's shape. Backward: the inner layers in reverse, then
    /// dL/dx = the sum of both branches' gradients.
    pub(super) fn block(
        &mut self,
        name: &str,
        s1: &Conv2dShape,
        stride: usize,
        p: f32,
        io: Io,
        bwd: &mut Vec<Step>,
    ) -> Result<()> {
        let in_shape = &io.x.shape[1..];
        let out_shape = &io.y.shape[1..];
        let bt = BlockTensors::new(self, name, out_shape)?;
        let mut inner = Vec::new(); // backward in forward order; reversed below
        let (w1, b1) = (self.param("conv1.weight")?, self.param("conv1.bias")?);
        let gx1 = self.tensor(&format!("{name}.x.grad1"), in_shape)?;
        let conv1 = Io {
            x: io.x,
            y: &bt.c1,
            gx: &gx1,
            gy: &bt.gc1,
        };
        inner.push(self.steps(|b, v| b.conv_pair(&format!("{name}.conv1"), s1, conv1, w1, b1, true, v))?);
        let mu1 = self.param("act1.mu")?;
        let act1 = Io {
            x: &bt.c1,
            y: &bt.a1,
            gx: &bt.gc1,
            gy: &bt.ga1,
        };
        inner.push(self.steps(|b, v| b.act_pair(&format!("{name}.act1"), act1, mu1, v))?);
        let mask = self.tensor(&format!("{name}.mask"), out_shape)?;
        let drop = Io {
            x: &bt.a1,
            y: &bt.d1,
            gx: &bt.ga1,
            gy: &bt.gd1,
        };
        inner.push(self.steps(|b, v| b.dropout_pair(&format!("{name}.drop"), p, &mask, drop, v))?);
        let s2 = conv_shape(self.n, out_shape, s1.c_out, 3, 1, 1);
        let (w2, b2) = (self.param("conv2.weight")?, self.param("conv2.bias")?);
        let conv2 = Io {
            x: &bt.d1,
            y: &bt.c2,
            gx: &bt.gd1,
            gy: &bt.gsum,
        };
        inner.push(self.steps(|b, v| b.conv_pair(&format!("{name}.conv2"), &s2, conv2, w2, b2, true, v))?);
        let gx2 = self.shortcut(name, io.x, stride, &bt, &mut inner)?;
        let mu2 = self.param("act2.mu")?;
        let act2 = Io {
            x: &bt.sum,
            y: io.y,
            gx: &bt.gsum,
            gy: io.gy,
        };
        inner.push(self.steps(|b, v| b.act_pair(&format!("{name}.act2"), act2, mu2, v))?);
        let add = residual_add(self.gpu, &format!("{name}.dx"), &gx1, &gx2, io.gx)?;
        let add = self.arena.op(add);
        for v in inner.into_iter().rev() {
            bwd.extend(v);
        }
        bwd.push(add);
        bt.keep(&mut self.arena);
        for keep in [mask, gx1, gx2] {
            self.arena.tensor(keep);
        }
        Ok(())
    }

    /// The steps that `f` adds to a fresh list.
    fn steps(&mut self, f: impl FnOnce(&mut Self, &mut Vec<Step>) -> Result<()>) -> Result<Vec<Step>> {
        let mut v = Vec::new();
        f(self, &mut v)?;
        Ok(v)
    }

    /// The block's `sum = conv2 + shortcut(x)`: a 1x1 conv (with `stride`) when
    /// the shape changes, else x itself. Returns the shortcut's gradient of x.
    fn shortcut(
        &mut self,
        name: &str,
        x: &Tensor,
        stride: usize,
        bt: &BlockTensors,
        inner: &mut Vec<Vec<Step>>,
    ) -> Result<Tensor> {
        let (in_shape, out_shape) = (&x.shape[1..], &bt.sum.shape[1..]);
        let add_name = format!("{name}.add");
        if !crate::models::params::block_needs_shortcut(in_shape, out_shape) {
            self.both(residual_add(self.gpu, &add_name, &bt.c2, x, &bt.sum)?);
            return Ok(alias(&bt.gsum, &bt.gsum.shape, "gsum"));
        }
        let ss = conv_shape(self.n, in_shape, out_shape[0], 1, stride, 0);
        let (ws, bs) = (self.param("shortcut.weight")?, self.param("shortcut.bias")?);
        let sc = self.tensor(&format!("{name}.shortcut"), out_shape)?;
        let gx2 = self.tensor(&format!("{name}.x.grad2"), in_shape)?;
        let io = Io {
            x,
            y: &sc,
            gx: &gx2,
            gy: &bt.gsum,
        };
        inner.push(self.steps(|b, v| b.conv_pair(&format!("{name}.shortcut"), &ss, io, ws, bs, true, v))?);
        self.both(residual_add(self.gpu, &add_name, &bt.c2, &sc, &bt.sum)?);
        self.arena.tensor(sc);
        Ok(gx2)
    }
}

/// A residual block's inner activations and their gradients, all [N, out_shape].
struct BlockTensors {
    c1: Tensor,
    a1: Tensor,
    d1: Tensor,
    c2: Tensor,
    sum: Tensor,
    gc1: Tensor,
    ga1: Tensor,
    gd1: Tensor,
    gsum: Tensor,
}

impl BlockTensors {
    fn new(b: &Builder, name: &str, out_shape: &[usize]) -> Result<Self> {
        let t = |s: &str| b.tensor(&format!("{name}.{s}"), out_shape);
        Ok(BlockTensors {
            c1: t("conv1")?,
            a1: t("act1")?,
            d1: t("drop")?,
            c2: t("conv2")?,
            sum: t("sum")?,
            gc1: t("conv1.grad")?,
            ga1: t("act1.grad")?,
            gd1: t("drop.grad")?,
            gsum: t("sum.grad")?,
        })
    }

    /// Hand every buffer to the arena, which keeps them for the net's lifetime.
    fn keep(self, arena: &mut Arena) {
        let BlockTensors {
            c1,
            a1,
            d1,
            c2,
            sum,
            gc1,
            ga1,
            gd1,
            gsum,
        } = self;
        for t in [c1, a1, d1, c2, sum, gc1, ga1, gd1, gsum] {
            arena.tensor(t);
        }
    }
}
