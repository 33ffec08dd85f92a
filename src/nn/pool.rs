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
        zero: 0,
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
    /// Always 0: padding, except that the 2x2 max-pool backward kernels read it as a +0.0
    /// the compiler cannot fold away (see shaders/maxpool2d_backward_2x2.wgsl).
    pub zero: u32,
}

/// `y` = window maxima, `argmax` (u32, same length as y) = flat index into x
/// (over all of n, c, h, w) of the first maximum in row-major window order.
pub fn maxpool2d_forward(gpu: &Gpu, label: &str, s: &PoolShape, x: &Tensor, y: &Tensor, argmax: &Tensor) -> Result<Op> {
    s.validate(label)?;
    check_len(label, "x", x, s.in_len())?;
    check_len(label, "y", y, s.out_len())?;
    check_len(label, "argmax", argmax, s.out_len())?;
    let total = s.out_len();
    let bufs = [x.bind(), y.bind(), argmax.bind()];
    let (kernel, grid) = maxpool_forward_kernel(s);
    gpu.op(kernel, label, &bufs, &pool_params(s, total), grid)
}

/// The max-pool forward variant for `s` and its grid. For 2x2 windows of stride 2 on maps
/// of even width, a thread reads its window's two input rows as vectors: vec4 rows for
/// pairs of outputs when w % 4 == 0, vec2 rows for one output otherwise (on llvmpipe an
/// access costs about the same at any width). Else one thread per output, element by element.
fn maxpool_forward_kernel(s: &PoolShape) -> (Kernel, [u32; 3]) {
    let outs = s.out_len();
    match (s.k == 2 && s.stride == 2, s.w % 4) {
        (true, 0) => (Kernel::MaxPool2dForward2x2, grid_1d(outs / 2, 256)),
        (true, 2) => (Kernel::MaxPool2dForward2x2Single, grid_1d(outs, 256)),
        _ => (Kernel::MaxPool2dForward, grid_1d(outs, 256)),
    }
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
    let (kernel, total, grid) = maxpool_backward_kernel(s);
    let bufs = [dy.bind(), argmax.bind(), dx.bind()];
    gpu.op(kernel, label, &bufs, &pool_params(s, total), grid)
}

/// The max-pool backward variant for `s`, the count its uniform's `total` holds, and its
/// grid. When 2x2 windows of stride 2 tile the map (even h and w), each input has exactly
/// one window, so a thread per window writes its inputs: two vec4 rows per pair of
/// outputs when out_w is even, two vec2 rows per output otherwise (on llvmpipe an access
/// costs about the same at any width). Else the gather kernel, one thread per input.
fn maxpool_backward_kernel(s: &PoolShape) -> (Kernel, usize, [u32; 3]) {
    let tiled = s.k == 2 && s.stride == 2 && s.h.is_multiple_of(2) && s.w.is_multiple_of(2);
    let outs = s.out_len();
    match (tiled, s.out_w().is_multiple_of(2)) {
        (true, true) => (Kernel::MaxPool2dBackward2x2, outs, grid_1d(outs / 2, 256)),
        (true, false) => (Kernel::MaxPool2dBackward2x2Single, outs, grid_1d(outs, 256)),
        (false, _) => (Kernel::MaxPool2dBackward, s.in_len(), grid_1d(s.in_len(), 256)),
    }
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
        &[x.bind(), y.bind()],
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
        &[dy.bind(), dx.bind()],
        &pool_params(s, total),
        grid_1d(total, 256),
    )
}
