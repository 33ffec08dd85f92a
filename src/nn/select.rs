//! Exact rank selection on the GPU: two counting passes over order-preserving
//! keys (`shaders/radix_count_high.wgsl`, `radix_count_low.wgsl`); the host logic
//! between and after them is `cpu::select` (plan the regions, read the ranks).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{Gpu, Kernel, Op, Tensor};
use crate::shape_err;

use crate::cpu::select::{HIGH_BUCKETS, LOW_BITS, LOW_DIGITS};

/// Uniform of `radix_count_high` / `radix_count_low`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RadixParams {
    pub n: u32,
    pub low_bits: u32,
    pub _pad: [u32; 2],
}

fn params(label: &str, n: usize, x: &Tensor) -> Result<RadixParams> {
    if n == 0 || x.len() < n || n > u32::MAX as usize {
        return Err(shape_err!(
            "{label}: radix count of {n} values of `{}` ({} elements)",
            x.label,
            x.len()
        ));
    }
    Ok(RadixParams {
        n: n as u32,
        low_bits: LOW_BITS,
        _pad: [0; 2],
    })
}

fn groups(n: usize) -> [u32; 3] {
    [(n.div_ceil(256) as u32).min(1024), 1, 1]
}

/// counts[key(x) >> LOW_BITS] += 1 over x[0..n]; `counts` u32 [HIGH_BUCKETS], accumulated.
pub fn radix_count_high(gpu: &Gpu, label: &str, n: usize, x: &Tensor, counts: &Tensor) -> Result<Op> {
    let p = params(label, n, x)?;
    if counts.len() != HIGH_BUCKETS {
        return Err(shape_err!(
            "{label}: `{}` has {} counters, the first radix pass needs {HIGH_BUCKETS}",
            counts.label,
            counts.len()
        ));
    }
    gpu.op(Kernel::RadixCountHigh, label, &[x.bind(), counts.bind()], &p, groups(n))
}

/// counts[region[key >> LOW_BITS] * LOW_DIGITS + low digit] += 1 where the bucket has a region;
/// `region` u32 [HIGH_BUCKETS] (NONE: skip), `counts` u32 [regions * LOW_DIGITS], accumulated.
pub fn radix_count_low(gpu: &Gpu, label: &str, n: usize, x: &Tensor, region: &Tensor, counts: &Tensor) -> Result<Op> {
    let p = params(label, n, x)?;
    if region.len() != HIGH_BUCKETS || counts.is_empty() || !counts.len().is_multiple_of(LOW_DIGITS) {
        return Err(shape_err!(
            "{label}: region table of {} (needs {HIGH_BUCKETS}), counters {} (a multiple of {LOW_DIGITS})",
            region.len(),
            counts.len()
        ));
    }
    let bufs = [x.bind(), region.bind(), counts.bind()];
    gpu.op(Kernel::RadixCountLow, label, &bufs, &p, groups(n))
}
