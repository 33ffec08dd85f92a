//! Reduction, time-axis and histogram references.

/// Sum in f64 (the GPU's tree sum in f32 is compared with a tolerance).
pub fn reduce_sum(x: &[f32]) -> f32 {
    x.iter().map(|&v| v as f64).sum::<f64>() as f32
}

pub fn reduce_max(x: &[f32]) -> f32 {
    x.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

pub fn reduce_min(x: &[f32]) -> f32 {
    x.iter().copied().fold(f32::INFINITY, f32::min)
}

/// y[i] = sum over t of x[t, i], added in t order in f32 (as the shader does).
pub fn sum_over_t(t: usize, n: usize, x: &[f32]) -> Vec<f32> {
    (0..n)
        .map(|i| (0..t).fold(0.0f32, |acc, s| acc + x[s * n + i]))
        .collect()
}

/// y[t, i] = x[i].
pub fn broadcast_over_t(t: usize, x: &[f32]) -> Vec<f32> {
    (0..t).flat_map(|_| x.iter().copied()).collect()
}

/// The counter slot of `v`: 0 = below `lo`, 1..=bins the bins of [lo, hi),
/// bins+1 = at or above `hi` (NaN too). `scale` = bins / (hi - lo) in f32, so
/// that the host and the shader compute the same bin.
pub fn histogram_slot(v: f32, lo: f32, hi: f32, bins: usize, scale: f32) -> usize {
    if v < lo {
        0
    } else if v < hi {
        1 + (((v - lo) * scale) as usize).min(bins - 1)
    } else {
        bins + 1
    }
}

/// Counts [under, bins..., over] of `x` over [lo, hi).
pub fn histogram(x: &[f32], bins: usize, lo: f32, hi: f32) -> Vec<u32> {
    let scale = bins as f32 / (hi - lo);
    let mut counts = vec![0u32; bins + 2];
    for &v in x {
        counts[histogram_slot(v, lo, hi, bins, scale)] += 1;
    }
    counts
}
