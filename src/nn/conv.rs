//! 2-D convolution (NCHW activations, OIHW weights, square kernels): forward,
//! backward-input and backward-weight op builders. Kernels live in shaders/conv2d_*.wgsl;
//! the naive references in `cpu::conv`; the 3x3 implicit GEMM (`ConvAlgo::Vec4`) in `conv3x3`.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor, TunePass};
use crate::shape_err;

use super::conv3x3::{self, conv3x3_ops, Direction};
use super::conv_select::{is_real_gpu, pick, tuned, use_vec4, use_vec4_backward_weight, PassKernels};
use super::conv_tiled;

pub use crate::spec::shapes::Conv2dShape;

/// Kernel variant of each pass (forward, backward-input, backward-weight).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvAlgo {
    /// The fastest variant this adapter runs (see `ConvAlgo::resolve`).
    #[default]
    Auto,
    /// Register-blocked (8 channels x 4 pixels or weights per thread), workgroup-uniform
    /// weight (backward-weight: dy) loads.
    Direct,
    /// 32 channels x 4 pixels or weights per thread, the workgroup-uniform operand shared
    /// through `subgroupBroadcast`; needs subgroups of >= 8 lanes.
    Subgroup,
    /// Forward and backward-input of 3x3/stride-1/pad-1 layers whose planes hold whole quads
    /// (`conv3x3::fits`): an implicit GEMM with vec4 loads of the input and of weights packed
    /// per tap, 64 channels x 8 pixels per thread (5 vec4 loads feed 128 vec4 FMAs where
    /// Subgroup makes 8 scalar loads for 32); backward-weight, where rows hold whole quads
    /// (`conv3x3::fits_backward_weight`), a vec4 kernel of 9 taps x 32 channels per input
    /// channel, else Subgroup's kernel. Gives Subgroup's bits.
    Vec4,
    /// Every pass an implicit GEMM through workgroup memory (`conv_tiled`): 64 x 128 output
    /// tiles, 4 x 8 outputs per thread, any shape, no subgroups; the variant for real GPUs.
    /// Gives the other variants' bits (backward-weight: Subgroup's split-K slices).
    Tiled,
    /// Direct's kernels with wider register tiles, for CPU adapters without subgroups (the
    /// page's SwiftShader): 32 channels x 4 pixels per thread forward and backward-input;
    /// backward-weight 16 channels x 8 weights per thread over Direct's split-K slices, threads
    /// numbered densely (no idle lanes on layers with few weights). No subgroups, no workgroup
    /// memory; any shape, any adapter. Gives Direct's bits.
    Register,
}

impl ConvAlgo {
    pub const ALL: [ConvAlgo; 6] = [
        ConvAlgo::Auto,
        ConvAlgo::Direct,
        ConvAlgo::Subgroup,
        ConvAlgo::Vec4,
        ConvAlgo::Tiled,
        ConvAlgo::Register,
    ];

    /// Whether `gpu` can run this variant.
    pub fn supported(self, gpu: &Gpu) -> bool {
        match self {
            ConvAlgo::Subgroup | ConvAlgo::Vec4 => gpu.has_subgroups() && gpu.info.subgroup_min_size >= 8,
            ConvAlgo::Tiled => conv_tiled::fits_limits(gpu),
            _ => true,
        }
    }

    /// Whether this variant runs the forward / backward-input of `s` on `gpu` (Vec4 only
    /// computes `conv3x3::fits` shapes).
    pub fn supports_shape(self, gpu: &Gpu, s: &Conv2dShape) -> bool {
        self.supported(gpu) && (self != ConvAlgo::Vec4 || conv3x3::fits(s))
    }

    /// The concrete variant, the same rule for all three passes. Auto = Subgroup where
    /// supported, else Register off real GPUs (the page: SwiftShader, whose subgroups wgpu's
    /// WebGPU backend does not map; Register is 1.2-2x Direct there, BENCHMARKS.md), else
    /// Direct; `pick` refines this per pass and layer. On lavapipe each load with a per-lane address is a lane-by-lane
    /// gather, and Direct's workgroup-uniform loads are gathered too (Mesa 22.3 does not
    /// scalarize them); Subgroup loads each weight (backward-weight: each dy value) once per
    /// subgroup and broadcasts it, and its 32-channel block amortizes the per-lane gathers:
    /// about 3x Direct's GFLOP/CPU-s in every pass there (BENCHMARKS.md). On real GPUs both
    /// are sound; the broadcast saves memory requests there too. Tiled is never Auto's pick
    /// yet (no GPU measurement of it; the autotuner may choose it).
    pub fn resolve(self, gpu: &Gpu) -> ConvAlgo {
        match self {
            ConvAlgo::Auto if ConvAlgo::Subgroup.supported(gpu) => ConvAlgo::Subgroup,
            ConvAlgo::Auto if !is_real_gpu(gpu) => ConvAlgo::Register,
            ConvAlgo::Auto => ConvAlgo::Direct,
            a => a,
        }
    }
}

/// Uniform of every conv kernel (mirrors `Params` in shaders/conv2d_*.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Conv2dParams {
    pub n: u32,
    pub c_in: u32,
    pub h: u32,
    pub w: u32,
    pub c_out: u32,
    pub k: u32,
    pub stride: u32,
    pub pad: u32,
    pub out_h: u32,
    pub out_w: u32,
    /// 4-pixel tiles per image (forward: of the output, backward-input: of the input).
    pub tiles: u32,
    /// (image, output row) pairs per split-K slice (backward-weight).
    pub rows_per: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct ReduceParams {
    pub len: u32,
    pub splits: u32,
    pub _pad: [u32; 2],
}

/// Threads per workgroup and pixels per thread of the tiled kernels.
const WG: u32 = 64;
const PX: usize = 4;
/// Channels per thread (the workgroup's y block).
pub(super) const CB: usize = 8;
/// Channels per thread of the subgroup kernels: their uniform-operand loads are cheap
/// broadcasts, so a wider block amortizes the per-lane gathers further.
pub(super) const SG_CB: usize = 32;
/// Channels per thread of the register kernels' forward and backward-input (CONV_CO, CONV_CI in
/// scripts/gen-register-wgsl.py).
pub(super) const REG_CB: usize = 32;
/// Output channels x weights per thread of the register backward-weight (DW_CO, DW_R).
const REG_DW: [usize; 2] = [16, 8];
/// Below this many threads, backward-weight splits the (image, row) pairs (split-K) to fill the GPU.
const MIN_THREADS: usize = 8192;

pub(super) fn params(s: &Conv2dShape, tiles: usize, rows_per: usize) -> Conv2dParams {
    let u = |v: usize| v as u32;
    Conv2dParams {
        n: u(s.n),
        c_in: u(s.c_in),
        h: u(s.h),
        w: u(s.w),
        c_out: u(s.c_out),
        k: u(s.k),
        stride: u(s.stride),
        pad: u(s.pad),
        out_h: u(s.out_h()),
        out_w: u(s.out_w()),
        tiles: u(tiles),
        rows_per: u(rows_per),
    }
}

/// Grid of `n * tiles` pixel tiles (x, folded into z past 65,535) by `blocks` channel blocks (y).
fn tile_grid(n: usize, tiles: usize, blocks: usize) -> [u32; 3] {
    let [gx, gz, _] = grid_1d(n * tiles, WG);
    [gx, blocks as u32, gz]
}

fn check(s: &Conv2dShape, label: &str, named: &[(&Tensor, [usize; 4])]) -> Result<()> {
    s.validate().map_err(|e| shape_err!("{label}: {e}"))?;
    for (t, want) in named {
        t.expect_shape(want).map_err(|e| shape_err!("{label}: {e}"))?;
    }
    Ok(())
}

/// `y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n,ci,oh*s-p+kh,ow*s-p+kw] * w[co,ci,kh,kw]`.
/// One op, or two for Vec4 (pack the weights, convolve).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    algo: ConvAlgo,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    y: &Tensor,
) -> Result<Vec<Op>> {
    check(s, label, &[(x, s.x_shape()), (w, s.w_shape()), (y, s.y_shape())])?;
    b.expect_shape(&[s.c_out]).map_err(|e| shape_err!("{label}: {e}"))?;
    let algo = tuned(gpu, TunePass::ConvForward, s, algo);
    if algo == ConvAlgo::Tiled {
        return Ok(vec![conv_tiled::forward(gpu, label, s, x, w, b, y)?]);
    }
    if use_vec4(gpu, label, s, algo)? {
        return conv3x3_ops(gpu, label, s, Direction::Forward, x, w, Some(b), y);
    }
    let k = PassKernels {
        direct: Kernel::Conv2dForward,
        subgroup: Kernel::Conv2dForwardSubgroup,
        register: Kernel::Conv2dForwardReg,
    };
    let (kernel, cb) = pick(gpu, label, algo, k, s.c_out >= REG_CB)?;
    let tiles = (s.out_h() * s.out_w()).div_ceil(PX);
    let grid = tile_grid(s.n, tiles, s.c_out.div_ceil(cb));
    let bufs = [x.bind(), w.bind(), b.bind(), y.bind()];
    Ok(vec![gpu.op(kernel, label, &bufs, &params(s, tiles, 0), grid)?])
}

/// `dx = conv_transpose(dy, w)`; overwrites dx. Runs `ConvAlgo::Auto`'s variant: one op, or
/// two for Vec4.
pub fn conv2d_backward_input(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
) -> Result<Vec<Op>> {
    conv2d_backward_input_with_algo(gpu, label, s, dy, w, dx, ConvAlgo::Auto)
}

/// `conv2d_backward_input` with an explicit kernel variant (any stride for both).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_input_with_algo(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
    algo: ConvAlgo,
) -> Result<Vec<Op>> {
    check(s, label, &[(dy, s.y_shape()), (w, s.w_shape()), (dx, s.x_shape())])?;
    let algo = tuned(gpu, TunePass::ConvBackwardInput, s, algo);
    if algo == ConvAlgo::Tiled {
        return Ok(vec![conv_tiled::backward_input(gpu, label, s, dy, w, dx)?]);
    }
    if use_vec4(gpu, label, s, algo)? {
        return conv3x3_ops(gpu, label, s, Direction::BackwardInput, dy, w, None, dx);
    }
    let k = PassKernels {
        direct: Kernel::Conv2dBackwardInput,
        subgroup: Kernel::Conv2dBackwardInputSubgroup,
        register: Kernel::Conv2dBackwardInputReg,
    };
    let (kernel, cb) = pick(gpu, label, algo, k, s.c_in >= REG_CB)?;
    let tiles = (s.h * s.w).div_ceil(PX);
    let grid = tile_grid(s.n, tiles, s.c_in.div_ceil(cb));
    let bufs = [dy.bind(), w.bind(), dx.bind()];
    Ok(vec![gpu.op(kernel, label, &bufs, &params(s, tiles, 0), grid)?])
}

/// (image, output row) pairs per split-K slice of a backward-weight kernel with `cb` output
/// channels per thread, and the slice count: layers with fewer than MIN_THREADS threads split.
fn split_k(s: &Conv2dShape, cb: usize) -> (usize, usize) {
    let rs = s.c_in * s.k * s.k;
    let groups_x = rs.div_ceil(PX).div_ceil(WG as usize);
    let threads = groups_x * WG as usize * s.c_out.div_ceil(cb);
    let rows = s.n * s.out_h();
    let want = MIN_THREADS.div_ceil(threads).clamp(1, rows);
    let rows_per = rows.div_ceil(want);
    (rows_per, rows.div_ceil(rows_per))
}

/// Backward-weight's kernel, grid, rows per slice and slices under `algo`. Every variant sums
/// the same slices on a given adapter, those of the kernel Auto's default runs there (Subgroup's
/// 32-channel blocks where subgroups exist, else Direct's 8): each weight then sums the same
/// pixels in the same order whatever the variant, so the tuner's choice changes no number.
/// Channels per thread whose split-K slices every backward-weight variant uses on `gpu`.
fn slice_cb(gpu: &Gpu) -> usize {
    if ConvAlgo::Subgroup.supported(gpu) {
        SG_CB
    } else {
        CB
    }
}

fn backward_weight_plan(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    algo: ConvAlgo,
) -> Result<(Kernel, [u32; 3], usize, usize)> {
    if algo == ConvAlgo::Tiled {
        conv_tiled::require(gpu, label)?;
        let (rows_per, splits) = split_k(s, slice_cb(gpu));
        let grid = conv_tiled::backward_weight_grid(s, splits);
        return Ok((Kernel::Conv2dBackwardWeightTiled, grid, rows_per, splits));
    }
    let k = PassKernels {
        direct: Kernel::Conv2dBackwardWeight,
        subgroup: Kernel::Conv2dBackwardWeightSubgroup,
        register: Kernel::Conv2dBackwardWeightReg,
    };
    // Register's backward-weight wins on every layer measured (its 16-channel blocks numbered
    // densely: 1->8 channels 13 vs Direct's 203 CPU-ms on SwiftShader).
    let (kernel, cb) = pick(gpu, label, algo, k, true)?;
    let (rows_per, splits) = split_k(s, slice_cb(gpu));
    if kernel == Kernel::Conv2dBackwardWeightReg {
        let [co, r] = REG_DW;
        let rs = s.c_in * s.k * s.k;
        let grid = grid_1d(rs.div_ceil(r) * s.c_out.div_ceil(co) * splits, WG);
        return Ok((kernel, grid, rows_per, splits));
    }
    // Vec4's kernel sums each slice in Subgroup's order.
    if kernel == Kernel::Conv2dBackwardWeightSubgroup && use_vec4_backward_weight(gpu, s, algo) {
        let grid = conv3x3::backward_weight_grid(s, splits);
        return Ok((Kernel::Conv2d3x3BwSg, grid, rows_per, splits));
    }
    let groups_x = (s.c_in * s.k * s.k).div_ceil(PX).div_ceil(WG as usize);
    let grid = [groups_x as u32, s.c_out.div_ceil(cb) as u32, splits as u32];
    Ok((kernel, grid, rows_per, splits))
}

/// (Image, output row) pairs per split-K slice that backward-weight sums under `algo` on `gpu`:
/// two variants with the same slices sum every weight in the same order (same bits).
pub fn backward_weight_rows_per(gpu: &Gpu, s: &Conv2dShape, algo: ConvAlgo) -> Result<usize> {
    Ok(backward_weight_plan(gpu, "rows_per", s, algo)?.2)
}

/// `dw[co,ci,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,ci,oh*s-p+kh,ow*s-p+kw]`; overwrites dw.
/// Runs `ConvAlgo::Auto`'s variant; see `conv2d_backward_weight_with_algo`.
pub fn conv2d_backward_weight(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
) -> Result<Vec<Op>> {
    conv2d_backward_weight_with_algo(gpu, label, s, x, dy, dw, ConvAlgo::Auto)
}

/// `conv2d_backward_weight` with an explicit kernel variant. Layers with few weights split the
/// (image, output row) pairs into slices summed by a second op (split-K); the partial-sum
/// buffer is allocated here, once.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_weight_with_algo(
    gpu: &Gpu,
    label: &str,
    s: &Conv2dShape,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
    algo: ConvAlgo,
) -> Result<Vec<Op>> {
    check(s, label, &[(x, s.x_shape()), (dy, s.y_shape()), (dw, s.w_shape())])?;
    let algo = tuned(gpu, TunePass::ConvBackwardWeight, s, algo);
    let (kernel, grid, rows_per, splits) = backward_weight_plan(gpu, label, s, algo)?;
    let p = params(s, 0, rows_per);
    let run = |label: &str, out: &Tensor| gpu.op(kernel, label, &[x.bind(), dy.bind(), out.bind()], &p, grid);
    if splits == 1 {
        return Ok(vec![run(label, dw)?]);
    }
    let part = gpu.tensor(&format!("{label}.partial"), &[splits, dw.len()])?;
    let partial = run(&format!("{label}.partial"), &part)?;
    let len = dw.len();
    let rp = ReduceParams {
        len: len as u32,
        splits: splits as u32,
        _pad: [0; 2],
    };
    let reduce = gpu.op(
        Kernel::Conv2dBackwardWeightReduce,
        &format!("{label}.reduce"),
        &[part.bind(), dw.bind()],
        &rp,
        grid_1d(len, 256),
    )?;
    Ok(vec![partial, reduce])
}
