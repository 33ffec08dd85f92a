//! The workgroup-memory tiled convolution (`ConvAlgo::Tiled`, shaders/conv2d_*_tiled.wgsl,
//! written by scripts/gen-tiled-wgsl.py): every pass an implicit GEMM in 64 x 128 output tiles of
//! 256 threads, K in steps of 16 through workgroup memory, 4 x 8 outputs per thread. Any kernel
//! size, stride and padding; no subgroups. Sums run in the other variants' order, so the bits
//! are theirs (backward-weight: Subgroup's, whose split-K slices it takes).

use crate::error::{Error, Result};
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};

use super::conv::{params, Conv2dShape};

/// Output tile of one workgroup: rows (m: channels) and columns (n: pixels or weights).
pub const TILE_M: usize = 64;
pub const TILE_N: usize = 128;

/// Whether `gpu` runs the tiled kernels (conv and linear): workgroups of 256 invocations and
/// 12 KiB of workgroup memory, both within WebGPU's default limits.
pub fn fits_limits(gpu: &Gpu) -> bool {
    let l = &gpu.limits;
    l.max_compute_invocations_per_workgroup >= 256
        && l.max_compute_workgroup_size_x >= 256
        && l.max_compute_workgroup_storage_size >= 12 * 1024
}

/// An error naming the layer where `gpu` cannot run the tiled kernels.
pub fn require(gpu: &Gpu, label: &str) -> Result<()> {
    if fits_limits(gpu) {
        return Ok(());
    }
    Err(Error::Gpu(format!(
        "{label}: the Tiled kernels need 256 invocations and 12 KiB of workgroup memory per workgroup"
    )))
}

/// Grid of `cols` output columns in 128-wide tiles (x, folded into z past 65,535) by `rows`
/// in 64-high tiles (y), and the number of column tiles.
fn grid(cols: usize, rows: usize) -> ([u32; 3], usize) {
    let tiles = cols.div_ceil(TILE_N);
    let [gx, gz, _] = grid_1d(tiles, 1);
    ([gx, rows.div_ceil(TILE_M) as u32, gz], tiles)
}

/// `y = conv(x, w) + b`: m = output channels, n = the N*OH*OW output pixels.
pub fn forward(gpu: &Gpu, label: &str, s: &Conv2dShape, x: &Tensor, w: &Tensor, b: &Tensor, y: &Tensor) -> Result<Op> {
    require(gpu, label)?;
    let (groups, tiles) = grid(s.n * s.out_h() * s.out_w(), s.c_out);
    let bufs = [x.bind(), w.bind(), b.bind(), y.bind()];
    gpu.op(Kernel::Conv2dForwardTiled, label, &bufs, &params(s, tiles, 0), groups)
}

/// `dx = conv_transpose(dy, w)`: m = input channels, n = the N*H*W input pixels.
pub fn backward_input(gpu: &Gpu, label: &str, s: &Conv2dShape, dy: &Tensor, w: &Tensor, dx: &Tensor) -> Result<Op> {
    require(gpu, label)?;
    let (groups, tiles) = grid(s.n * s.h * s.w, s.c_in);
    let bufs = [dy.bind(), w.bind(), dx.bind()];
    gpu.op(
        Kernel::Conv2dBackwardInputTiled,
        label,
        &bufs,
        &params(s, tiles, 0),
        groups,
    )
}

/// Grid of backward-weight with `splits` slices: m = output channels, n = Ci*K*K weights.
pub fn backward_weight_grid(s: &Conv2dShape, splits: usize) -> [u32; 3] {
    let rs = s.c_in * s.k * s.k;
    [
        rs.div_ceil(TILE_N) as u32,
        s.c_out.div_ceil(TILE_M) as u32,
        splits as u32,
    ]
}
