//! Fully connected layer, PyTorch layout (`w [out_f, in_f]`), and the bias
//! gradient shared with conv. Each GEMM has four variants that give the same bits
//! (`LinearAlgo`): a plain register-blocked one (4x4 outputs per thread), a subgroup one with
//! 32x4 register tiles and vec4 loads (shaders/linear_*_sg.wgsl), a register-only one with
//! wider tiles for CPU adapters without subgroups (shaders/linear_*_reg.wgsl), and a
//! workgroup-memory tiled one (64x128 tiles, shaders/linear_*_tiled.wgsl) for real GPUs.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor, TunePass, TuneShape};
use crate::shape_err;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct LinearParams {
    pub n: u32,
    pub in_f: u32,
    pub out_f: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct BiasParams {
    pub n: u32,
    pub c: u32,
    pub spatial: u32,
    pub _pad: u32,
}

/// Kernel variant of the three linear GEMMs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinearAlgo {
    /// `Subgroup` on CPU adapters where the shape allows it, else `Plain`.
    #[default]
    Auto,
    /// 4x4 outputs per thread, scalar loads: any shape, any adapter.
    Plain,
    /// 32x4 outputs per thread, vec4 loads, the shared operand broadcast through subgroups:
    /// needs subgroups of >= 8 lanes and feature counts that are multiples of 4.
    Subgroup,
    /// 64x128 output tiles of 256 threads, K in steps of 16 through workgroup memory, 4x8
    /// outputs per thread (scripts/gen-tiled-wgsl.py), vec4 loads where the feature counts are
    /// multiples of 4: any shape, any adapter, Plain's bits.
    Tiled,
    /// Plain's kernel with a wider register tile per thread (forward 16 x 4, backward-input
    /// 8 x 16, backward-weight 8 x 8), threads numbered densely; no subgroups, no workgroup
    /// memory: any shape, any adapter. Gives Plain's bits.
    Register,
}

/// Which pass a variant is chosen for (their vec4 operands differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinearPass {
    Forward,
    BackwardInput,
    BackwardWeight,
}

impl LinearAlgo {
    pub const ALL: [LinearAlgo; 5] = [
        LinearAlgo::Auto,
        LinearAlgo::Plain,
        LinearAlgo::Subgroup,
        LinearAlgo::Tiled,
        LinearAlgo::Register,
    ];

    /// Whether `gpu` can run this variant for a pass with these feature counts.
    pub fn supported(self, gpu: &Gpu, pass: LinearPass, in_f: usize, out_f: usize) -> bool {
        match self {
            LinearAlgo::Subgroup => {
                vec4_rows(pass, in_f, out_f) && gpu.has_subgroups() && gpu.info.subgroup_min_size >= 8
            }
            LinearAlgo::Tiled => super::conv_tiled::fits_limits(gpu),
            _ => true,
        }
    }

    /// The concrete variant. Auto picks Subgroup only off real GPUs: on lavapipe it is 5-10x the
    /// plain kernel (BENCHMARKS.md), but its 32x256 tiles leave most of a big GPU idle at small
    /// batches (linear 4096x4096 at batch 32 is 16 workgroups). Off real GPUs without Subgroup
    /// (the page: SwiftShader, whose subgroups wgpu's WebGPU backend does not map) it picks
    /// Register for GEMMs of at least `REG_MIN_MACS` multiply-adds, 2-3x Plain there
    /// (BENCHMARKS.md); small ones (vgg-tiny's 784x10) keep Plain, which is as fast there and
    /// whose short pipeline compiles in 0.03 instead of 0.15-0.3 s on SwiftShader. Tiled is
    /// never Auto's pick yet (not measured on a GPU; the autotuner may choose it).
    pub fn resolve(self, gpu: &Gpu, pass: LinearPass, dims: [usize; 3]) -> LinearAlgo {
        let [n, in_f, out_f] = dims;
        let real_gpu = matches!(
            gpu.info.device_type,
            wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
        );
        match self {
            LinearAlgo::Auto if !real_gpu && LinearAlgo::Subgroup.supported(gpu, pass, in_f, out_f) => {
                LinearAlgo::Subgroup
            }
            LinearAlgo::Auto if !real_gpu && n * in_f * out_f >= REG_MIN_MACS => LinearAlgo::Register,
            LinearAlgo::Auto => LinearAlgo::Plain,
            a => a,
        }
    }

    /// The kernel and grid of `pass` for an output of `cols x rows`, or an error naming the layer
    /// when the variant cannot run here.
    fn kernel(self, gpu: &Gpu, label: &str, pass: LinearPass, dims: [usize; 3]) -> Result<(Kernel, [u32; 3])> {
        let [n, in_f, out_f] = dims;
        let (cols, rows) = match pass {
            LinearPass::Forward => (out_f, n),
            LinearPass::BackwardInput => (in_f, n),
            LinearPass::BackwardWeight => (in_f, out_f),
        };
        let runs = |a: LinearAlgo| a.supported(gpu, pass, in_f, out_f);
        let shape = TuneShape::Linear { n, in_f, out_f };
        let all = &LinearAlgo::ALL;
        let default = || LinearAlgo::Auto.resolve(gpu, pass, dims);
        match super::tune::consult(gpu, pass.tune_pass(), shape, self, LinearAlgo::Auto, all, runs, default) {
            LinearAlgo::Subgroup if !LinearAlgo::Subgroup.supported(gpu, pass, in_f, out_f) => Err(shape_err!(
                "{label}: LinearAlgo::Subgroup needs subgroups of >= 8 lanes and in/out features divisible by 4 (in {in_f}, out {out_f})"
            )),
            LinearAlgo::Subgroup => {
                let kernel = match pass {
                    LinearPass::Forward => Kernel::LinearForwardSg,
                    LinearPass::BackwardInput => Kernel::LinearBackwardInputSg,
                    LinearPass::BackwardWeight => Kernel::LinearBackwardWeightSg,
                };
                Ok((kernel, [cols.div_ceil(SG_COLS) as u32, rows.div_ceil(SG_ROWS) as u32, 1]))
            }
            LinearAlgo::Register => {
                let (kernel, [tr, tc]) = match pass {
                    LinearPass::Forward => (Kernel::LinearForwardReg, REG_FWD),
                    LinearPass::BackwardInput => (Kernel::LinearBackwardInputReg, REG_BWD_IN),
                    LinearPass::BackwardWeight => (Kernel::LinearBackwardWeightReg, REG_BWD_W),
                };
                Ok((kernel, grid_1d(rows.div_ceil(tr) * cols.div_ceil(tc), 64)))
            }
            LinearAlgo::Tiled => {
                super::conv_tiled::require(gpu, label)?;
                // The _v4 kernels load both operands as vec4 (same bits).
                let kernel = match (pass, vec4_rows(pass, in_f, out_f)) {
                    (LinearPass::Forward, false) => Kernel::LinearForwardTiled,
                    (LinearPass::Forward, true) => Kernel::LinearForwardTiledV4,
                    (LinearPass::BackwardInput, false) => Kernel::LinearBackwardInputTiled,
                    (LinearPass::BackwardInput, true) => Kernel::LinearBackwardInputTiledV4,
                    (LinearPass::BackwardWeight, false) => Kernel::LinearBackwardWeightTiled,
                    (LinearPass::BackwardWeight, true) => Kernel::LinearBackwardWeightTiledV4,
                };
                Ok((kernel, [cols.div_ceil(TILED_COLS) as u32, rows.div_ceil(TILED_ROWS) as u32, 1]))
            }
            _ => {
                let kernel = match pass {
                    LinearPass::Forward => Kernel::LinearForward,
                    LinearPass::BackwardInput => Kernel::LinearBackwardInput,
                    LinearPass::BackwardWeight => Kernel::LinearBackwardWeight,
                };
                Ok((kernel, tile_grid(cols, rows)))
            }
        }
    }
}

impl LinearPass {
    /// The tuner's name of this pass.
    pub fn tune_pass(self) -> TunePass {
        match self {
            LinearPass::Forward => TunePass::LinearForward,
            LinearPass::BackwardInput => TunePass::LinearBackwardInput,
            LinearPass::BackwardWeight => TunePass::LinearBackwardWeight,
        }
    }
}

/// Whether both operands of `pass` have rows of a length divisible by 4 (vec4 loads): x and w
/// (in_f) forward, and dy (out_f) too in the backward passes.
fn vec4_rows(pass: LinearPass, in_f: usize, out_f: usize) -> bool {
    match pass {
        LinearPass::Forward => in_f.is_multiple_of(4),
        _ => in_f.is_multiple_of(4) && out_f.is_multiple_of(4),
    }
}

/// Output tile of one workgroup of the subgroup kernels: 64 threads x 4 columns, 32 rows.
const SG_COLS: usize = 256;
const SG_ROWS: usize = 32;
/// The smallest GEMM (n * in_f * out_f) for which Auto picks Register.
const REG_MIN_MACS: usize = 1 << 22;

/// Rows x columns per thread of the register kernels (LIN_TILES in scripts/gen-register-wgsl.py).
const REG_FWD: [usize; 2] = [16, 4];
const REG_BWD_IN: [usize; 2] = [8, 16];
const REG_BWD_W: [usize; 2] = [8, 8];
/// Output tile of the workgroup-tiled kernels: 64 rows x 128 columns per workgroup of 256.
const TILED_ROWS: usize = 64;
const TILED_COLS: usize = 128;

/// Threads per workgroup of the linear kernels: (16, 4), each thread a 4x4 tile.
const WG_X: usize = 16;
const WG_Y: usize = 4;
const TILE: usize = 4;
/// Threads per workgroup (one workgroup per channel) of `bias_backward`.
const BIAS_WG: usize = 64;

/// Grid for a `cols x rows` output of 4x4 tiles on (16, 4) workgroups.
fn tile_grid(cols: usize, rows: usize) -> [u32; 3] {
    let gx = cols.div_ceil(TILE).div_ceil(WG_X).max(1);
    let gy = rows.div_ceil(TILE).div_ceil(WG_Y).max(1);
    [gx.min(u32::MAX as usize) as u32, gy.min(u32::MAX as usize) as u32, 1]
}

/// `Error::Shape` unless `t` holds exactly `want` elements.
pub(crate) fn check_len(label: &str, what: &str, t: &Tensor, want: usize) -> Result<()> {
    if t.len() != want {
        return Err(shape_err!(
            "{label}: `{what}` ({}, shape {:?}) has {} elements, expected {want}",
            t.label,
            t.shape,
            t.len()
        ));
    }
    Ok(())
}

fn check_dims(label: &str, n: usize, in_f: usize, out_f: usize) -> Result<LinearParams> {
    if n == 0 || in_f == 0 || out_f == 0 {
        return Err(shape_err!(
            "{label}: linear with n={n}, in_f={in_f}, out_f={out_f} (all must be > 0)"
        ));
    }
    let big = [n * in_f, n * out_f, out_f * in_f]
        .into_iter()
        .any(|v| v > u32::MAX as usize);
    if big {
        return Err(shape_err!(
            "{label}: linear n={n}, in_f={in_f}, out_f={out_f} overflows u32 indexing"
        ));
    }
    Ok(LinearParams {
        n: n as u32,
        in_f: in_f as u32,
        out_f: out_f as u32,
        _pad: 0,
    })
}

/// `y[n,o] = b[o] + sum_i x[n,i] w[o,i]`; overwrites y. Runs `LinearAlgo::Auto`'s variant.
#[allow(clippy::too_many_arguments)]
pub fn linear_forward(
    gpu: &Gpu,
    label: &str,
    n: usize,
    in_f: usize,
    out_f: usize,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    y: &Tensor,
) -> Result<Op> {
    linear_forward_with_algo(gpu, label, [n, in_f, out_f], LinearAlgo::Auto, x, w, b, y)
}

/// `linear_forward` with an explicit variant; `dims` = [n, in_f, out_f].
#[allow(clippy::too_many_arguments)]
pub fn linear_forward_with_algo(
    gpu: &Gpu,
    label: &str,
    dims: [usize; 3],
    algo: LinearAlgo,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    y: &Tensor,
) -> Result<Op> {
    let [n, in_f, out_f] = dims;
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "x", x, n * in_f)?;
    check_len(label, "w", w, out_f * in_f)?;
    check_len(label, "b", b, out_f)?;
    check_len(label, "y", y, n * out_f)?;
    let bufs = [x.bind(), w.bind(), b.bind(), y.bind()];
    let (kernel, grid) = algo.kernel(gpu, label, LinearPass::Forward, dims)?;
    gpu.op(kernel, label, &bufs, &p, grid)
}

/// `dx[n,i] = sum_o dy[n,o] w[o,i]`; overwrites dx. Runs `LinearAlgo::Auto`'s variant.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_input(
    gpu: &Gpu,
    label: &str,
    n: usize,
    in_f: usize,
    out_f: usize,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
) -> Result<Op> {
    linear_backward_input_with_algo(gpu, label, [n, in_f, out_f], LinearAlgo::Auto, dy, w, dx)
}

/// `linear_backward_input` with an explicit variant; `dims` = [n, in_f, out_f].
pub fn linear_backward_input_with_algo(
    gpu: &Gpu,
    label: &str,
    dims: [usize; 3],
    algo: LinearAlgo,
    dy: &Tensor,
    w: &Tensor,
    dx: &Tensor,
) -> Result<Op> {
    let [n, in_f, out_f] = dims;
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "dy", dy, n * out_f)?;
    check_len(label, "w", w, out_f * in_f)?;
    check_len(label, "dx", dx, n * in_f)?;
    let bufs = [dy.bind(), w.bind(), dx.bind()];
    let (kernel, grid) = algo.kernel(gpu, label, LinearPass::BackwardInput, dims)?;
    gpu.op(kernel, label, &bufs, &p, grid)
}

/// `dw[o,i] = sum_n dy[n,o] x[n,i]`; overwrites dw. Runs `LinearAlgo::Auto`'s variant.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward_weight(
    gpu: &Gpu,
    label: &str,
    n: usize,
    in_f: usize,
    out_f: usize,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
) -> Result<Op> {
    linear_backward_weight_with_algo(gpu, label, [n, in_f, out_f], LinearAlgo::Auto, x, dy, dw)
}

/// `linear_backward_weight` with an explicit variant; `dims` = [n, in_f, out_f].
pub fn linear_backward_weight_with_algo(
    gpu: &Gpu,
    label: &str,
    dims: [usize; 3],
    algo: LinearAlgo,
    x: &Tensor,
    dy: &Tensor,
    dw: &Tensor,
) -> Result<Op> {
    let [n, in_f, out_f] = dims;
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "x", x, n * in_f)?;
    check_len(label, "dy", dy, n * out_f)?;
    check_len(label, "dw", dw, out_f * in_f)?;
    let bufs = [x.bind(), dy.bind(), dw.bind()];
    let (kernel, grid) = algo.kernel(gpu, label, LinearPass::BackwardWeight, dims)?;
    gpu.op(kernel, label, &bufs, &p, grid)
}

/// `db[c] = sum_{n,s} dy[n,c,s]` with dy `[n, c, spatial]` (conv: spatial = H*W,
/// linear: spatial = 1); overwrites db. Deterministic workgroup tree reduction.
pub fn bias_backward(
    gpu: &Gpu,
    label: &str,
    n: usize,
    c: usize,
    spatial: usize,
    dy: &Tensor,
    db: &Tensor,
) -> Result<Op> {
    if n == 0 || c == 0 || spatial == 0 {
        return Err(shape_err!(
            "{label}: bias_backward with n={n}, c={c}, spatial={spatial} (all must be > 0)"
        ));
    }
    if n * c * spatial > u32::MAX as usize {
        return Err(shape_err!(
            "{label}: bias_backward n={n}, c={c}, spatial={spatial} overflows u32 indexing"
        ));
    }
    check_len(label, "dy", dy, n * c * spatial)?;
    check_len(label, "db", db, c)?;
    let p = BiasParams {
        n: n as u32,
        c: c as u32,
        spatial: spatial as u32,
        _pad: 0,
    };
    let groups = crate::gpu::grid_1d(c * BIAS_WG, BIAS_WG as u32);
    gpu.op(Kernel::BiasBackward, label, &[dy.bind(), db.bind()], &p, groups)
}
