//! 2-D max and average pooling (NCHW, square window, no padding). Max pooling
//! records the flat index of the FIRST maximum of each window (PyTorch's rule,
//! which matters on binary spike maps where ties are the norm).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::nn::linear::check_len;
use crate::shape_err;

/// Pooling geometry: input `[n, c, h, w]`, a `k x k` window moved by `stride`,
/// no padding, so `out = (h - k) / stride + 1` (trailing rows/cols a window
/// cannot reach are ignored, as in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
}

impl PoolShape {
    pub fn out_h(&self) -> usize {
        (self.h.saturating_sub(self.k)) / self.stride.max(1) + 1
    }

    pub fn out_w(&self) -> usize {
        (self.w.saturating_sub(self.k)) / self.stride.max(1) + 1
    }

    /// Global pooling over square `h x w` maps (k = stride = h). Non-square maps
    /// get `k = max(h, w)`, which the builders reject with a shape error.
    pub fn global(n: usize, c: usize, h: usize, w: usize) -> Self {
        let k = h.max(w);
        PoolShape {
            n,
            c,
            h,
            w,
            k,
            stride: k,
        }
    }

    pub fn in_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }

    pub fn out_len(&self) -> usize {
        self.n * self.c * self.out_h() * self.out_w()
    }

    /// Shape errors for an unusable geometry.
    pub fn validate(&self, label: &str) -> Result<()> {
        let s = self;
        if s.n == 0 || s.c == 0 || s.k == 0 || s.stride == 0 {
            return Err(shape_err!(
                "{label}: pool {s:?}: n, c, k and stride must be > 0"
            ));
        }
        if s.k > s.h || s.k > s.w {
            return Err(shape_err!(
                "{label}: pool {s:?}: window k={} larger than the {}x{} map",
                s.k,
                s.h,
                s.w
            ));
        }
        if s.in_len() > u32::MAX as usize {
            return Err(shape_err!("{label}: pool {s:?} overflows u32 indexing"));
        }
        Ok(())
    }

    fn params(&self, total: usize) -> PoolParams {
        PoolParams {
            total: total as u32,
            h: self.h as u32,
            w: self.w as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            out_h: self.out_h() as u32,
            out_w: self.out_w() as u32,
            _pad: 0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct PoolParams {
    pub total: u32,
    pub h: u32,
    pub w: u32,
    pub k: u32,
    pub stride: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub _pad: u32,
}

/// `y` = window maxima, `argmax` (u32, same length as y) = flat index into x
/// (over all of n, c, h, w) of the first maximum in row-major window order.
pub fn maxpool2d_forward(
    gpu: &Gpu,
    label: &str,
    s: &PoolShape,
    x: &Tensor,
    y: &Tensor,
    argmax: &Tensor,
) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "x", x, s.in_len())?;
    check_len(label, "y", y, s.out_len())?;
    check_len(label, "argmax", argmax, s.out_len())?;
    let total = s.out_len();
    let bufs = [&x.buffer, &y.buffer, &argmax.buffer];
    gpu.op(
        Kernel::MaxPool2dForward,
        label,
        &bufs,
        &s.params(total),
        grid_1d(total, 256),
    )
}

/// Routes each `dy` to the input its window chose; OVERWRITES dx (zeros where no
/// window chose an input, sums where overlapping windows chose the same one).
pub fn maxpool2d_backward(
    gpu: &Gpu,
    label: &str,
    s: &PoolShape,
    dy: &Tensor,
    argmax: &Tensor,
    dx: &Tensor,
) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "dy", dy, s.out_len())?;
    check_len(label, "argmax", argmax, s.out_len())?;
    check_len(label, "dx", dx, s.in_len())?;
    let total = s.in_len();
    let bufs = [&dy.buffer, &argmax.buffer, &dx.buffer];
    gpu.op(
        Kernel::MaxPool2dBackward,
        label,
        &bufs,
        &s.params(total),
        grid_1d(total, 256),
    )
}

/// `y` = window means.
pub fn avgpool2d_forward(
    gpu: &Gpu,
    label: &str,
    s: &PoolShape,
    x: &Tensor,
    y: &Tensor,
) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "x", x, s.in_len())?;
    check_len(label, "y", y, s.out_len())?;
    let total = s.out_len();
    gpu.op(
        Kernel::AvgPool2dForward,
        label,
        &[&x.buffer, &y.buffer],
        &s.params(total),
        grid_1d(total, 256),
    )
}

/// Spreads each `dy / (k*k)` over its window; OVERWRITES dx.
pub fn avgpool2d_backward(
    gpu: &Gpu,
    label: &str,
    s: &PoolShape,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "dy", dy, s.out_len())?;
    check_len(label, "dx", dx, s.in_len())?;
    let total = s.in_len();
    gpu.op(
        Kernel::AvgPool2dBackward,
        label,
        &[&dy.buffer, &dx.buffer],
        &s.params(total),
        grid_1d(total, 256),
    )
}
