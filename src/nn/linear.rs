//! Fully connected layer, PyTorch layout (`w [out_f, in_f]`), and the bias
//! gradient shared with conv. The three GEMMs are register-blocked (4x4 outputs
//! per thread) so each loaded value feeds four FMAs.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{Gpu, Kernel, Op, Tensor};
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

/// `y[n,o] = b[o] + sum_i x[n,i] w[o,i]`; overwrites y.
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
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "x", x, n * in_f)?;
    check_len(label, "w", w, out_f * in_f)?;
    check_len(label, "b", b, out_f)?;
    check_len(label, "y", y, n * out_f)?;
    let bufs = [&x.buffer, &w.buffer, &b.buffer, &y.buffer];
    gpu.op(Kernel::LinearForward, label, &bufs, &p, tile_grid(out_f, n))
}

/// `dx[n,i] = sum_o dy[n,o] w[o,i]`; overwrites dx.
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
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "dy", dy, n * out_f)?;
    check_len(label, "w", w, out_f * in_f)?;
    check_len(label, "dx", dx, n * in_f)?;
    let bufs = [&dy.buffer, &w.buffer, &dx.buffer];
    gpu.op(Kernel::LinearBackwardInput, label, &bufs, &p, tile_grid(in_f, n))
}

/// `dw[o,i] = sum_n dy[n,o] x[n,i]`; overwrites dw.
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
    let p = check_dims(label, n, in_f, out_f)?;
    check_len(label, "x", x, n * in_f)?;
    check_len(label, "dy", dy, n * out_f)?;
    check_len(label, "dw", dw, out_f * in_f)?;
    let bufs = [&x.buffer, &dy.buffer, &dw.buffer];
    gpu.op(Kernel::LinearBackwardWeight, label, &bufs, &p, tile_grid(in_f, out_f))
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
    gpu.op(Kernel::BiasBackward, label, &[&dy.buffer, &db.buffer], &p, groups)
}
