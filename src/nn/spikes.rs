//! Counting the spikes that enter a synaptic layer, per spatial position, so
//! that synaptic operations (ACs) can be counted exactly with each position's
//! fan-out (edges of a padded conv touch fewer outputs than the centre).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{Gpu, Kernel, Op, Tensor};
use crate::shape_err;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct SpikeMapParams {
    pub n: u32,
    pub hw: u32,
    /// Values per time step (batch x per-image size).
    pub step: u32,
    /// Values counted per step (valid images x per-image size).
    pub count_n: u32,
    /// Threads per position (each sums every `chunks`-th value at its position).
    pub chunks: u32,
    pub _pad: [u32; 3],
}

/// Threads the count aims for: enough to fill a GPU's cores for this small op,
/// few enough that each thread sums a run of values in a register.
const SPIKE_MAP_THREADS: usize = 1 << 16;

/// Index of `count_n` among the words of `SpikeMapParams` (for `Op::set_param_word`).
pub const SPIKE_MAP_COUNT_LIMIT_WORD: usize = 3;

/// `counts[i % hw] += (x[i] != 0)` over the first `n` values of `x`, in steps of
/// `step` values of which all count until `SPIKE_MAP_COUNT_LIMIT_WORD` is set
/// lower; counts u32 [hw], accumulated.
pub fn spike_map_count(
    gpu: &Gpu,
    label: &str,
    n: usize,
    step: usize,
    hw: usize,
    x: &Tensor,
    counts: &Tensor,
) -> Result<Op> {
    let bad_step = step == 0 || !n.is_multiple_of(step) || !step.is_multiple_of(hw.max(1));
    if n == 0 || hw == 0 || bad_step || x.len() < n || counts.len() != hw || n > u32::MAX as usize - SPIKE_MAP_THREADS {
        return Err(shape_err!(
            "{label}: spike map of {n} values of `{}` ({}) in steps of {step} into {hw} positions (`{}` has {})",
            x.label,
            x.len(),
            counts.label,
            counts.len()
        ));
    }
    // Values per position; each of `chunks` threads per position sums every chunks-th.
    let per_position = n / hw;
    let chunks = (SPIKE_MAP_THREADS / hw).clamp(1, per_position);
    let p = SpikeMapParams {
        n: n as u32,
        hw: hw as u32,
        step: step as u32,
        count_n: step as u32,
        chunks: chunks as u32,
        _pad: [0; 3],
    };
    let groups = (hw * chunks).div_ceil(256) as u32;
    gpu.op(
        Kernel::SpikeMapCount,
        label,
        &[x.bind(), counts.bind()],
        &p,
        [groups, 1, 1],
    )
}
