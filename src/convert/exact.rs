//! Exact percentiles for the calibration: each layer's pre-activations are counted
//! twice on the GPU by order-preserving key (`nn::select`): in pass 1 by their top
//! 19 bits, then - once the total is known and the buckets that hold the wanted
//! ranks are planned - in pass 2 by the low 13 bits of those buckets only. A rank's
//! value is then read off the counts as a key: the k-th smallest pre-activation
//! itself, with no interpolation inside a bin. Memory per layer: 2 MiB of bucket
//! counters and 32 KiB per distinct wanted bucket (at most one per percentile).

use crate::cpu::select::{percentile_rank, plan_ranks, select_ranks, RankPlan};
use crate::cpu::select::{HIGH_BUCKETS, LOW_DIGITS};
use crate::error::Result;
use crate::gpu::{Gpu, Op, Tensor};
use crate::nn::select::{radix_count_high, radix_count_low};

/// The percentiles a calibration reports: q = 1..=99, then 99.9 and 99.99.
pub fn wanted_percentiles() -> Vec<f64> {
    (1..=99).map(f64::from).chain([99.9, 99.99]).collect()
}

/// The second pass of one layer, built once the first pass is counted.
struct LowPass {
    plan: RankPlan,
    op: Op,
    counts: Tensor,
    /// The region table, kept alive with the op that reads it.
    _region: Tensor,
}

/// One layer's exact-rank counting over the calibration batches.
pub struct RankCounter {
    name: String,
    pre: Tensor,
    high: Tensor,
    high_op: Op,
    low: Option<LowPass>,
}

impl RankCounter {
    /// Counters for the pre-activations `pre` (one batch's worth per dispatch).
    pub fn new(gpu: &Gpu, name: &str, pre: &Tensor) -> Result<RankCounter> {
        let high = gpu.tensor(&format!("{name}.rank_high"), &[HIGH_BUCKETS])?;
        let high_op = radix_count_high(gpu, &format!("{name}.rank_high"), pre.len(), pre, &high)?;
        Ok(RankCounter {
            name: name.to_string(),
            pre: pre.clone(),
            high,
            high_op,
            low: None,
        })
    }

    /// The dispatch of the current pass: high buckets before `plan`, low digits after.
    pub fn op(&self) -> &Op {
        self.low.as_ref().map_or(&self.high_op, |l| &l.op)
    }

    /// The first pass's bucket counters, to read with the other layers' in one map.
    pub fn high_counts(&self) -> &Tensor {
        &self.high
    }

    /// Between the passes, given the bucket counts read back: place every wanted
    /// percentile's rank, and build the second pass over the buckets that hold them.
    pub fn plan(&mut self, gpu: &Gpu, high: &[u32]) -> Result<()> {
        let n: u64 = high.iter().map(|&c| c as u64).sum();
        let ranks: Vec<u64> = wanted_percentiles().iter().map(|&q| percentile_rank(q, n)).collect();
        let plan = plan_ranks(high, &ranks)?;
        let region_of = gpu.tensor_from_u32(&format!("{}.rank_region", self.name), &[HIGH_BUCKETS], &plan.region_of)?;
        let counts = gpu.tensor(&format!("{}.rank_low", self.name), &[plan.buckets.len() * LOW_DIGITS])?;
        let label = format!("{}.rank_low", self.name);
        let op = radix_count_low(gpu, &label, self.pre.len(), &self.pre, &region_of, &counts)?;
        self.low = Some(LowPass {
            plan,
            op,
            counts,
            _region: region_of,
        });
        Ok(())
    }

    /// After pass 2: the second pass's counters, to read with the other layers' in one map.
    pub fn low_counts(&self) -> Option<&Tensor> {
        self.low.as_ref().map(|l| &l.counts)
    }

    /// The exact value of every wanted percentile (in `wanted_percentiles` order), given
    /// the second pass's counts; None before `plan`.
    pub fn values(&self, low_counts: &[u32]) -> Option<Vec<f64>> {
        let l = self.low.as_ref()?;
        Some(select_ranks(&l.plan, low_counts).into_iter().map(f64::from).collect())
    }
}
