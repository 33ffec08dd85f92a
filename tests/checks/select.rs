use ultraspike::cpu::select::{
    percentile_rank, plan_ranks, radix_count_high, radix_count_low, select_ranks, HIGH_BUCKETS, LOW_DIGITS,
};
use ultraspike::gpu::{Encoder, Gpu};
use ultraspike::nn::select::{radix_count_high as gpu_high, radix_count_low as gpu_low};

use super::{assert_eq_u32, gpu_err, rng, CheckResult};

/// Both radix passes on the GPU equal their CPU twins count for count, and the ranks read
/// off the counts are exactly the sorted values' (ties, point masses, -0.0 and 0.0, values
/// a bin of the old histogram apart, negatives; one value; 300,001 values).
pub async fn radix_select(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for n in [1usize, 1000, 300_001] {
        let mut r = rng(n as u64 + 5);
        let mut x = r.vec_uniform(n, -2.0, 6.0);
        for (i, v) in x.iter_mut().enumerate() {
            match i % 7 {
                0 => *v = 0.25,        // a point mass (a conv of a blank patch)
                1 => *v = 0.25 + 1e-7, // its neighbour in the same low digit range
                2 if i % 14 == 2 => *v = -0.0,
                3 => *v = (*v * 8.0).round() / 8.0, // ties
                _ => {}
            }
        }
        let tx = gpu.tensor_from("x", &[n], &x).map_err(e)?;
        let th = gpu.tensor("high", &[HIGH_BUCKETS]).map_err(e)?;
        let op = gpu_high(gpu, "high", n, &tx, &th).map_err(e)?;
        let mut enc = Encoder::new(gpu, "radix.high");
        enc.dispatch(&op);
        enc.submit(gpu).map_err(e)?;
        let high = gpu.read_u32(&th).await.map_err(e)?;
        let mut want = vec![0u32; HIGH_BUCKETS];
        radix_count_high(&x, &mut want);
        assert_eq_u32(&format!("radix_count_high n={n}"), &high, &want)?;

        let qs: Vec<f64> = (1..=99).map(f64::from).chain([99.9, 99.99, 0.0, 100.0]).collect();
        let ranks: Vec<u64> = qs.iter().map(|&q| percentile_rank(q, n as u64)).collect();
        let plan = plan_ranks(&high, &ranks).map_err(|err| err.to_string())?;
        let tr = gpu
            .tensor_from_u32("region", &[HIGH_BUCKETS], &plan.region_of)
            .map_err(e)?;
        let tl = gpu.tensor("low", &[plan.buckets.len() * LOW_DIGITS]).map_err(e)?;
        let op = gpu_low(gpu, "low", n, &tx, &tr, &tl).map_err(e)?;
        let mut enc = Encoder::new(gpu, "radix.low");
        enc.dispatch(&op);
        enc.submit(gpu).map_err(e)?;
        let low = gpu.read_u32(&tl).await.map_err(e)?;
        let mut want = vec![0u32; plan.buckets.len() * LOW_DIGITS];
        radix_count_low(&x, &plan.region_of, &mut want);
        assert_eq_u32(&format!("radix_count_low n={n}"), &low, &want)?;

        let mut sorted = x.clone();
        sorted.sort_by(f32::total_cmp);
        for ((q, k), got) in qs.iter().zip(&ranks).zip(select_ranks(&plan, &low)) {
            let want = sorted[*k as usize - 1];
            if got != want {
                return Err(format!("n={n} q={q}: rank {k} is {want}, selected {got}"));
            }
        }
    }
    Ok(())
}
