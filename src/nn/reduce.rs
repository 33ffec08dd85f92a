//! Deterministic reductions (fixed-order trees, no float atomics), the time
//! axis of the SNN (sum over T and its backward, broadcast over T) and a
//! histogram for activation statistics.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::shape_err;

/// Uniform of `reduce_stage`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ReduceParams {
    pub n: u32,
    /// 0 sum, 1 max, 2 min.
    pub op: u32,
    /// Values each thread folds before the workgroup's tree.
    pub per_thread: u32,
    pub _pad: u32,
}

/// Workgroups a reduction stage aims for at most (see `reduce_stage.wgsl`: fewer
/// trees, each thread folding a run of values first).
const REDUCE_STAGE_GROUPS: usize = 256;

/// Uniform of `sum_over_t` and `broadcast_over_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct TimeParams {
    pub n: u32,
    pub t: u32,
    pub _pad: [u32; 2],
}

/// Uniform of `histogram`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct HistParams {
    pub n: u32,
    pub bins: u32,
    pub lo: f32,
    pub hi: f32,
    /// bins / (hi - lo), computed on the host so host and shader bin alike.
    pub scale: f32,
    pub _pad: [u32; 3],
}

/// The stages of one reduction (each folds 256 values into one) and the
/// scratch tensors between them.
pub struct Reduce {
    pub ops: Vec<Op>,
    scratch: Vec<Tensor>,
}

impl Reduce {
    /// The ops and the scratch they use (keep the scratch alive as long as the ops).
    pub fn into_parts(self) -> (Vec<Op>, Vec<Tensor>) {
        (self.ops, self.scratch)
    }
}

fn reduce(gpu: &Gpu, label: &str, n: usize, op: u32, x: &Tensor, y: &Tensor) -> Result<Reduce> {
    if n == 0 || x.len() < n {
        return Err(shape_err!(
            "{label}: reducing {n} values of `{}` ({} elements)",
            x.label,
            x.len()
        ));
    }
    if y.len() != 1 {
        return Err(shape_err!(
            "{label}: reduction output `{}` has {} elements, expected 1",
            y.label,
            y.len()
        ));
    }
    let (mut ops, mut scratch) = (Vec::new(), Vec::<Tensor>::new());
    let mut m = n;
    loop {
        let per_thread = m.div_ceil(256 * REDUCE_STAGE_GROUPS);
        let groups = grid_1d(m.div_ceil(per_thread), 256);
        let outs = (groups[0] * groups[1]) as usize;
        let src = scratch.last().map_or(x.bind(), |s| s.bind());
        let p = ReduceParams {
            n: m as u32,
            op,
            per_thread: per_thread as u32,
            _pad: 0,
        };
        let stage = format!("{label}.stage{}", ops.len());
        if outs == 1 {
            ops.push(gpu.op(Kernel::ReduceStage, &stage, &[src, y.bind()], &p, groups)?);
            return Ok(Reduce { ops, scratch });
        }
        let dst = gpu.tensor(&stage, &[outs])?;
        ops.push(gpu.op(Kernel::ReduceStage, &stage, &[src, dst.bind()], &p, groups)?);
        scratch.push(dst);
        m = outs;
    }
}

/// y[0] = sum of x[0..n] (overwritten).
pub fn reduce_sum(gpu: &Gpu, label: &str, n: usize, x: &Tensor, y: &Tensor) -> Result<Reduce> {
    reduce(gpu, label, n, 0, x, y)
}

/// y[0] = max of x[0..n] (overwritten).
pub fn reduce_max(gpu: &Gpu, label: &str, n: usize, x: &Tensor, y: &Tensor) -> Result<Reduce> {
    reduce(gpu, label, n, 1, x, y)
}

/// y[0] = min of x[0..n] (overwritten).
pub fn reduce_min(gpu: &Gpu, label: &str, n: usize, x: &Tensor, y: &Tensor) -> Result<Reduce> {
    reduce(gpu, label, n, 2, x, y)
}

fn time_shapes(label: &str, t: usize, n: usize, x: &Tensor, xl: usize, y: &Tensor, yl: usize) -> Result<TimeParams> {
    if t == 0 || n == 0 || t.checked_mul(n).is_none_or(|tn| tn > u32::MAX as usize) {
        return Err(shape_err!("{label}: bad time-axis shape T={t}, n={n}"));
    }
    if x.len() != xl || y.len() != yl {
        return Err(shape_err!(
            "{label}: `{}` has {} elements and `{}` {}, expected {xl} and {yl} (T={t}, n={n})",
            x.label,
            x.len(),
            y.label,
            y.len()
        ));
    }
    Ok(TimeParams {
        n: n as u32,
        t: t as u32,
        _pad: [0; 2],
    })
}

/// y[i] = sum over t of x[t, i]: x [T, n], y [n] (overwritten).
pub fn sum_over_t(gpu: &Gpu, label: &str, t: usize, n: usize, x: &Tensor, y: &Tensor) -> Result<Op> {
    let p = time_shapes(label, t, n, x, t * n, y, n)?;
    gpu.op(Kernel::SumOverT, label, &[x.bind(), y.bind()], &p, grid_1d(n, 256))
}

/// y[t, i] = x[i]: x [n], y [T, n] (overwritten); the backward of `sum_over_t`.
pub fn broadcast_over_t(gpu: &Gpu, label: &str, t: usize, n: usize, x: &Tensor, y: &Tensor) -> Result<Op> {
    let p = time_shapes(label, t, n, x, n, y, t * n)?;
    gpu.op(
        Kernel::BroadcastOverT,
        label,
        &[x.bind(), y.bind()],
        &p,
        grid_1d(t * n, 256),
    )
}

/// A histogram op whose range can be changed between dispatches.
pub struct Histogram {
    pub op: Op,
    params: HistParams,
}

fn hist_params(n: u32, bins: u32, lo: f32, hi: f32) -> Result<HistParams> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(shape_err!("histogram range [{lo}, {hi}) is empty or not finite"));
    }
    let scale = bins as f32 / (hi - lo);
    if !scale.is_finite() {
        return Err(shape_err!("histogram range [{lo}, {hi}) too narrow for {bins} bins"));
    }
    Ok(HistParams {
        n,
        bins,
        lo,
        hi,
        scale,
        _pad: [0; 3],
    })
}

impl Histogram {
    /// Rebin over [lo, hi) for the next dispatches.
    pub fn set_range(&self, gpu: &Gpu, lo: f32, hi: f32) -> Result<()> {
        let p = hist_params(self.params.n, self.params.bins, lo, hi)?;
        self.op.set_params(gpu, &p);
        Ok(())
    }
}

/// Count x[0..n] into `counts` u32 [bins + 2] = [under (< lo), bins of [lo, hi),
/// over (>= hi, and NaN)]. Accumulates: the caller clears `counts`.
#[allow(clippy::too_many_arguments)]
pub fn histogram(
    gpu: &Gpu,
    label: &str,
    n: usize,
    bins: usize,
    lo: f32,
    hi: f32,
    x: &Tensor,
    counts: &Tensor,
) -> Result<Histogram> {
    if n == 0 || x.len() < n || n > u32::MAX as usize {
        return Err(shape_err!(
            "{label}: histogram of {n} values of `{}` ({} elements)",
            x.label,
            x.len()
        ));
    }
    if bins == 0 || bins > (u32::MAX - 2) as usize || counts.len() != bins + 2 {
        return Err(shape_err!(
            "{label}: {bins} bins need a counter of bins + 2, `{}` has {}",
            counts.label,
            counts.len()
        ));
    }
    let params = hist_params(n as u32, bins as u32, lo, hi)?;
    let groups = (n.div_ceil(256) as u32).min(1024);
    let op = gpu.op(
        Kernel::Histogram,
        label,
        &[x.bind(), counts.bind()],
        &params,
        [groups, 1, 1],
    )?;
    Ok(Histogram { op, params })
}
