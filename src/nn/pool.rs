//! 2-D max and average pooling (NCHW, square window, no padding). Max pooling
//! records the flat index of the FIRST maximum of each window (PyTorch's rule,
//! which matters on binary spike maps where ties are the norm).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::nn::linear::check_len;

pub use crate::spec::shapes::PoolShape;

/// The uniform of a pooling kernel over `total` outputs.
fn pool_params(s: &PoolShape, total: usize) -> PoolParams {
    PoolParams {
        total: total as u32,
        h: s.h as u32,
        w: s.w as u32,
        k: s.k as u32,
        stride: s.stride as u32,
        out_h: s.out_h() as u32,
        out_w: s.out_w() as u32,
        _pad: 0,
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
pub fn maxpool2d_forward(gpu: &Gpu, label: &str, s: &PoolShape, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<Op> {
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
        &pool_params(s, total),
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
        &pool_params(s, total),
        grid_1d(total, 256),
    )
}

/// `y` = window means.
pub fn avgpool2d_forward(gpu: &Gpu, label: &str, s: &PoolShape, x: &Tensor, y: &Tensor) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "x", x, s.in_len())?;
    check_len(label, "y", y, s.out_len())?;
    let total = s.out_len();
    gpu.op(
        Kernel::AvgPool2dForward,
        label,
        &[&x.buffer, &y.buffer],
        &pool_params(s, total),
        grid_1d(total, 256),
    )
}

/// Spreads each `dy / (k*k)` over its window; OVERWRITES dx.
pub fn avgpool2d_backward(gpu: &Gpu, label: &str, s: &PoolShape, dy: &Tensor, dx: &Tensor) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "dy", dy, s.out_len())?;
    check_len(label, "dx", dx, s.in_len())?;
    let total = s.in_len();
    gpu.op(
        Kernel::AvgPool2dBackward,
        label,
        &[&dy.buffer, &dx.buffer],
        &pool_params(s, total),
        grid_1d(total, 256),
    )
}
