//! The 3x3, stride-1, pad-1 convolution as an implicit GEMM with vec4 loads
//! (`ConvAlgo::Vec4`, shaders/conv2d_3x3_sg.wgsl): the forward and the backward-input are one
//! kernel over weights packed per tap (shaders/conv2d_pack_weights.wgsl), the pack op recorded
//! first so that each step reads the weights the optimizer just wrote.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};

use super::conv::Conv2dShape;

/// Uniform of conv2d_3x3_sg (mirrors its `Params`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Conv3x3Params {
    pub n: u32,
    pub c_red: u32,
    pub c_out: u32,
    pub h: u32,
    pub w: u32,
    pub quads: u32,
    pub cout4: u32,
    pub neg: u32,
    pub has_bias: u32,
    /// Thread groups of `QUADS_PER_THREAD` quads per image plane.
    pub groups: u32,
    pub _pad: [u32; 2],
}

/// Uniform of conv2d_pack_weights (mirrors its `Params`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct PackParams {
    pub c_red: u32,
    pub c_out: u32,
    pub cout4: u32,
    pub transposed: u32,
}

/// Output channels per workgroup (64 vec4 accumulators per thread; CONV_CO in
/// scripts/gen-gemm-wgsl.py).
const CO_BLOCK: usize = 64;
/// Quads (4-pixel groups) per thread (CONV_QUADS in scripts/gen-gemm-wgsl.py).
const QUADS_PER_THREAD: usize = 2;

/// Output channels per thread of conv2d_3x3_bw_sg (BW_CO in scripts/gen-gemm-wgsl.py).
const BW_CO_BLOCK: usize = 32;

/// Whether the Vec4 kernel computes this shape: 3x3, stride 1, pad 1, planes of whole quads.
pub fn fits(s: &Conv2dShape) -> bool {
    s.k == 3 && s.stride == 1 && s.pad == 1 && (s.h * s.w).is_multiple_of(4)
}

/// Whether the Vec4 backward-weight kernel computes this shape: `fits` with rows of whole quads.
pub fn fits_backward_weight(s: &Conv2dShape) -> bool {
    fits(s) && s.w.is_multiple_of(4)
}

/// conv2d_3x3_bw_sg's grid over `splits` slices (the caller's, chosen as for the Subgroup
/// kernel, so that both sum the same pixels in the same order): [ceil(Ci/64), ceil(Co/32), S].
pub fn backward_weight_grid(s: &Conv2dShape, splits: usize) -> [u32; 3] {
    [
        s.c_in.div_ceil(64) as u32,
        s.c_out.div_ceil(BW_CO_BLOCK) as u32,
        splits as u32,
    ]
}

/// Which direction one `conv2d_3x3_sg` op runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// x -> y with the bias.
    Forward,
    /// dy -> dx (the transposed convolution), no bias.
    BackwardInput,
}

/// The pack op and the convolution op: `src` [N, Cr, H, W] -> `dst` [N, Co, H, W], where
/// (Cr, Co) = (c_in, c_out) forward and (c_out, c_in) backward-input. `bias` is read forward
/// only. The packed-weight buffer is allocated here, once.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_ops(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    dir: Direction,
    src: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    dst: &Tensor,
) -> Result<Vec<Op>> {
    let (c_red, c_out) = match dir {
        Direction::Forward => (s.c_in, s.c_out),
        Direction::BackwardInput => (s.c_out, s.c_in),
    };
    let cout4 = c_out.div_ceil(4);
    let packed = gpu.tensor(&format!("{label}.packed"), &[9, c_red, cout4 * 4])?;
    let u = |v: usize| v as u32;
    let pp = PackParams {
        c_red: u(c_red),
        c_out: u(c_out),
        cout4: u(cout4),
        transposed: u((dir == Direction::BackwardInput) as usize),
    };
    let pack = gpu.op(
        Kernel::Conv2dPackWeights,
        &format!("{label}.pack"),
        &[w.bind(), packed.bind()],
        &pp,
        grid_1d(packed.len(), 256),
    )?;
    let quads = s.h * s.w / 4;
    let groups = quads.div_ceil(QUADS_PER_THREAD);
    let p = Conv3x3Params {
        n: u(s.n),
        c_red: u(c_red),
        c_out: u(c_out),
        h: u(s.h),
        w: u(s.w),
        quads: u(quads),
        cout4: u(cout4),
        neg: pp.transposed,
        has_bias: u(bias.is_some() as usize),
        groups: u(groups),
        _pad: [0; 2],
    };
    // Without a bias the kernel never reads binding 2; the weights stand in for it.
    let b = bias.unwrap_or(w);
    let [gx, gz, _] = grid_1d(s.n * groups, 64);
    let grid = [gx, c_out.div_ceil(CO_BLOCK) as u32, gz];
    let bufs = [src.bind(), packed.bind(), b.bind(), dst.bind()];
    let conv = gpu.op(Kernel::Conv2d3x3Sg, label, &bufs, &p, grid)?;
    Ok(vec![pack, conv])
}
