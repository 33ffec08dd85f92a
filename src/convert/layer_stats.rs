//! One layer's calibration statistics: the range, the fine histogram, the exact
//! percentiles, the mean post-activation overall and per channel, and how they
//! are put together from what the GPU counted (`stats::Calibrator`).

use serde::{Deserialize, Serialize};

use super::stats::BINS;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    pub name: String,
    /// The trained threshold-ReLU ceiling.
    pub mu: f32,
    /// Pre-activation values seen.
    pub count: u64,
    pub min: f32,
    pub max: f32,
    /// Histogram over [min, hist_top) (`BINS` bins); hist_top is max nudged up
    /// so that the max lands in the last bin.
    pub hist: Vec<u32>,
    pub hist_top: f32,
    /// Percentiles q = 1..=99 (index q-1) of the pre-activation, before the clip:
    /// the k-th smallest value itself, k = 1 + round(q/100 (n-1)) (ties to even).
    pub percentiles: Vec<f64>,
    pub p99_9: f64,
    pub p99_99: f64,
    /// Upper bound of every percentile's error: 0 (exact); one histogram bin for
    /// statistics from before the exact count (kept in older saved sessions).
    pub percentile_error: f64,
    /// Mean DNN post-activation clip(x, 0, mu).
    pub mean_post: f64,
    /// Images the statistics come from (the first of the training set).
    #[serde(default)]
    pub images: u64,
    /// Mean post-activation per channel of the bias that feeds the layer
    /// (`models::params::neuron_biases`; one value when there is none).
    #[serde(default)]
    pub channel_means: Vec<f64>,
}

impl LayerStats {
    fn bin_width(&self) -> f64 {
        (self.hist_top as f64 - self.min as f64) / BINS as f64
    }

    /// (bin centre, count) pairs, for K(mu), h(T, mu) and plots.
    pub fn weighted_values(&self) -> Vec<(f64, f64)> {
        let w = self.bin_width();
        self.hist
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (self.min as f64 + (i as f64 + 0.5) * w, c as f64))
            .collect()
    }
}

pub fn percentile_from_hist(hist: &[u32], lo: f64, hi: f64, count: u64, q: f64) -> f64 {
    if count == 0 || hist.is_empty() {
        return lo;
    }
    let k = 1 + ((q / 100.0) * (count - 1) as f64).round_ties_even() as u64;
    let w = (hi - lo) / hist.len() as f64;
    let mut cum = 0u64;
    for (i, &c) in hist.iter().enumerate() {
        if c > 0 && cum + c as u64 >= k {
            let frac = ((k - cum) as f64 - 0.5) / c as f64;
            return lo + (i as f64 + frac) * w;
        }
        cum += c as u64;
    }
    hi
}

/// One layer's statistics from its histogram counts `[under, bins..., over]`.
pub(super) fn layer_stats(
    name: String,
    mu: f32,
    counts: &[u32],
    (min, max, post_sum): (f32, f32, f64),
    top: f32,
) -> LayerStats {
    // under/over are empty by construction; fold them in anyway.
    let mut hist = counts[1..=BINS].to_vec();
    hist[0] += counts[0];
    hist[BINS - 1] += counts[BINS + 1];
    let count: u64 = hist.iter().map(|&c| c as u64).sum();
    let (lo, hi) = (min as f64, top as f64);
    let pct = |q: f64| percentile_from_hist(&hist, lo, hi, count, q);
    LayerStats {
        name,
        mu,
        count,
        min,
        max,
        percentiles: (1..=99).map(|q| pct(q as f64)).collect(),
        p99_9: pct(99.9),
        p99_99: pct(99.99),
        percentile_error: (hi - lo) / BINS as f64,
        mean_post: post_sum / count.max(1) as f64,
        hist,
        hist_top: top,
        images: 0,
        channel_means: Vec::new(),
    }
}
