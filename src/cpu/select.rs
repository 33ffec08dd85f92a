//! Exact rank selection by a two-pass radix count over order-preserving keys: the
//! CPU twins of `shaders/radix_count_high.wgsl` / `radix_count_low.wgsl`, and the
//! host logic between and after them (which high buckets hold the wanted ranks,
//! then which key each rank is). Used for the calibration's exact percentiles.

use crate::error::{Error, Result};

/// Bits of the key counted in the second pass; the first counts the other 19.
pub const LOW_BITS: u32 = 13;
/// Buckets of the first pass (2^19: 2 MiB of u32 counters).
pub const HIGH_BUCKETS: usize = 1 << (32 - LOW_BITS);
/// Counters per region of the second pass (2^13).
pub const LOW_DIGITS: usize = 1 << LOW_BITS;
/// "No region" in the region table.
pub const NONE: u32 = u32::MAX;

/// f32 bits as a u32 in the order of the values: negatives have every bit flipped,
/// the rest the sign bit set (so -0.0 sorts just below +0.0, NaN after +inf).
pub fn order_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The value of an order key.
pub fn from_key(k: u32) -> f32 {
    f32::from_bits(if k & 0x8000_0000 != 0 { k & 0x7fff_ffff } else { !k })
}

/// counts[key >> LOW_BITS] += 1 for every x (accumulates; counts has HIGH_BUCKETS entries).
pub fn radix_count_high(x: &[f32], counts: &mut [u32]) {
    for &v in x {
        counts[(order_key(v) >> LOW_BITS) as usize] += 1;
    }
}

/// counts[region * LOW_DIGITS + low digit] += 1 for every x whose high bucket has a region.
pub fn radix_count_low(x: &[f32], region: &[u32], counts: &mut [u32]) {
    for &v in x {
        let k = order_key(v);
        let r = region[(k >> LOW_BITS) as usize];
        if r != NONE {
            counts[r as usize * LOW_DIGITS + (k as usize & (LOW_DIGITS - 1))] += 1;
        }
    }
}

/// Between the passes: the region table (a region per high bucket holding a wanted
/// rank), the bucket of each region, and per wanted rank its region and its place
/// (1-based) among the bucket's values.
#[derive(Clone, Debug, PartialEq)]
pub struct RankPlan {
    pub region_of: Vec<u32>,
    pub buckets: Vec<usize>,
    pub wanted: Vec<(usize, u64)>,
}

/// The plan for `ranks` (1-based, any order) given the first pass's counts.
pub fn plan_ranks(high: &[u32], ranks: &[u64]) -> Result<RankPlan> {
    let n: u64 = high.iter().map(|&c| c as u64).sum();
    if let Some(&k) = ranks.iter().find(|&&k| k == 0 || k > n) {
        return Err(Error::Config(format!("rank {k} of {n} values")));
    }
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    order.sort_by_key(|&i| ranks[i]);
    let mut plan = RankPlan {
        region_of: vec![NONE; high.len()],
        buckets: Vec::new(),
        wanted: vec![(0, 0); ranks.len()],
    };
    let (mut bucket, mut below) = (0usize, 0u64); // `below`: values in buckets before `bucket`
    for i in order {
        while below + (high[bucket] as u64) < ranks[i] {
            below += high[bucket] as u64;
            bucket += 1;
        }
        if plan.region_of[bucket] == NONE {
            plan.region_of[bucket] = plan.buckets.len() as u32;
            plan.buckets.push(bucket);
        }
        plan.wanted[i] = (plan.region_of[bucket] as usize, ranks[i] - below);
    }
    Ok(plan)
}

/// After the second pass: the exact value of every planned rank.
pub fn select_ranks(plan: &RankPlan, low: &[u32]) -> Vec<f32> {
    plan.wanted
        .iter()
        .map(|&(region, place)| {
            let digits = &low[region * LOW_DIGITS..(region + 1) * LOW_DIGITS];
            let (mut digit, mut seen) = (0usize, 0u64);
            while digit + 1 < LOW_DIGITS && seen + (digits[digit] as u64) < place {
                seen += digits[digit] as u64;
                digit += 1;
            }
            from_key(((plan.buckets[region] as u32) << LOW_BITS) | digit as u32)
        })
        .collect()
}

/// The rank of percentile q of n values: k = 1 + round(q/100 (n-1)), ties to even.
pub fn percentile_rank(q: f64, n: u64) -> u64 {
    1 + ((q / 100.0) * (n.saturating_sub(1)) as f64).round_ties_even() as u64
}
