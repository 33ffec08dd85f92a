use ultraspike::cpu;
use ultraspike::gpu::{Encoder, Gpu};
use ultraspike::nn::reduce::{broadcast_over_t, histogram, reduce_max, reduce_min, reduce_sum, sum_over_t};

use super::{assert_close, assert_eq_u32, gpu_err, rng, CheckResult};

const BIG_N: usize = 65_535 * 256 + 77;

/// Sum, max and min over odd sizes, stage boundaries (256; 65,536, the largest
/// input a thread folds one value of) and longer inputs whose threads fold several
/// values first, with a ragged tail (100,003; BIG_N). Max/min exact; sum within
/// 1e-6 x sum|x|.
pub async fn reductions(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for n in [1usize, 255, 256, 257, 65_536, 100_003, BIG_N] {
        let mut r = rng(n as u64);
        let x = r.vec_uniform(n, -3.0, 1.0);
        let tx = gpu.tensor_from("x", &[n], &x).map_err(e)?;
        let ty = gpu.tensor_from("y", &[1], &[42.0]).map_err(e)?;
        let abs_sum: f32 = x.iter().map(|v| v.abs()).sum();
        let sum = reduce_sum(gpu, "sum", n, &tx, &ty).map_err(e)?;
        gpu.run(&sum.ops.iter().collect::<Vec<_>>()).map_err(e)?;
        let got = gpu.read(&ty).await.map_err(e)?;
        assert_close(
            &format!("reduce_sum n={n}"),
            &got,
            &[cpu::reduce::reduce_sum(&x)],
            1e-6 * abs_sum,
            0.0,
        )?;
        let max = reduce_max(gpu, "max", n, &tx, &ty).map_err(e)?;
        gpu.run(&max.ops.iter().collect::<Vec<_>>()).map_err(e)?;
        let got = gpu.read(&ty).await.map_err(e)?;
        assert_close(
            &format!("reduce_max n={n}"),
            &got,
            &[cpu::reduce::reduce_max(&x)],
            0.0,
            0.0,
        )?;
        let min = reduce_min(gpu, "min", n, &tx, &ty).map_err(e)?;
        gpu.run(&min.ops.iter().collect::<Vec<_>>()).map_err(e)?;
        let got = gpu.read(&ty).await.map_err(e)?;
        assert_close(
            &format!("reduce_min n={n}"),
            &got,
            &[cpu::reduce::reduce_min(&x)],
            0.0,
            0.0,
        )?;
    }
    // All-negative max and all-positive min: the padding identities must not win.
    let x = vec![-5.0f32, -2.5, -7.0];
    let tx = gpu.tensor_from("x", &[3], &x).map_err(e)?;
    let ty = gpu.tensor("y", &[1]).map_err(e)?;
    let max = reduce_max(gpu, "max", 3, &tx, &ty).map_err(e)?;
    gpu.run(&max.ops.iter().collect::<Vec<_>>()).map_err(e)?;
    assert_close(
        "reduce_max negatives",
        &gpu.read(&ty).await.map_err(e)?,
        &[-2.5],
        0.0,
        0.0,
    )?;
    Ok(())
}

/// Sum over T (added in t order: exact vs the CPU) and its broadcast backward,
/// odd n, T up to 5, and a big n at T = 1.
pub async fn time_axis(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for (t, n) in [(1usize, 1usize), (2, 37), (3, 1001), (5, 10), (1, BIG_N)] {
        let mut r = rng((t * 7 + n) as u64);
        let x = r.vec_uniform(t * n, -1.0, 1.0);
        let tx = gpu.tensor_from("x", &[t, n], &x).map_err(e)?;
        let ty = gpu.tensor("y", &[n]).map_err(e)?;
        let tb = gpu.tensor("yb", &[t, n]).map_err(e)?;
        let sum = sum_over_t(gpu, "sum_t", t, n, &tx, &ty).map_err(e)?;
        let bc = broadcast_over_t(gpu, "bcast_t", t, n, &ty, &tb).map_err(e)?;
        gpu.run(&[&sum, &bc]).map_err(e)?;
        let want = cpu::reduce::sum_over_t(t, n, &x);
        assert_close(
            &format!("sum_over_t T={t} n={n}"),
            &gpu.read(&ty).await.map_err(e)?,
            &want,
            0.0,
            0.0,
        )?;
        let want_b = cpu::reduce::broadcast_over_t(t, &want);
        assert_close(
            &format!("broadcast_over_t T={t} n={n}"),
            &gpu.read(&tb).await.map_err(e)?,
            &want_b,
            0.0,
            0.0,
        )?;
    }
    Ok(())
}

/// Histogram with few bins and many (5000: more than a workgroup could share),
/// values below, inside, at and above the range and NaN; counts
/// accumulate across dispatches; the range changes through `set_range`.
pub async fn histograms(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for (n, bins) in [
        (1usize, 1usize),
        (1001, 10),
        (70_001, 4094),
        (20_003, 5000),
        (BIG_N, 64),
    ] {
        let mut r = rng(n as u64 + bins as u64);
        let mut x = r.vec_uniform(n, -1.5, 5.0);
        for (i, v) in [0.0f32, 4.0, f32::NAN, -0.0, 3.999_999_8].into_iter().enumerate() {
            if i < n {
                x[i] = v;
            }
        }
        let tx = gpu.tensor_from("x", &[n], &x).map_err(e)?;
        let tc = gpu.tensor("counts", &[bins + 2]).map_err(e)?;
        let h = histogram(gpu, "hist", n, bins, 0.0, 4.0, &tx, &tc).map_err(e)?;
        // Two dispatches in one submission: counts must double.
        let mut enc = Encoder::new(gpu, "hist");
        enc.dispatch(&h.op);
        enc.dispatch(&h.op);
        enc.submit(gpu).map_err(e)?;
        let want: Vec<u32> = cpu::reduce::histogram(&x, bins, 0.0, 4.0)
            .iter()
            .map(|c| 2 * c)
            .collect();
        assert_eq_u32(
            &format!("histogram n={n} bins={bins}"),
            &gpu.read_u32(&tc).await.map_err(e)?,
            &want,
        )?;
        h.set_range(gpu, -1.0, 2.5).map_err(e)?;
        let mut enc = Encoder::new(gpu, "hist2");
        enc.clear(tc.bind());
        enc.dispatch(&h.op);
        enc.submit(gpu).map_err(e)?;
        let want = cpu::reduce::histogram(&x, bins, -1.0, 2.5);
        assert_eq_u32(
            &format!("histogram n={n} bins={bins} new range"),
            &gpu.read_u32(&tc).await.map_err(e)?,
            &want,
        )?;
        if want.iter().map(|&c| c as usize).sum::<usize>() != n {
            return Err("histogram reference lost values".into());
        }
    }
    let tx = gpu.tensor("x", &[4]).map_err(e)?;
    let tc = gpu.tensor("counts", &[5]).map_err(e)?;
    if histogram(gpu, "bad", 4, 3, 1.0, 1.0, &tx, &tc).is_ok()
        || histogram(gpu, "bad", 4, 4, 0.0, 1.0, &tx, &tc).is_ok()
    {
        return Err("histogram accepted an empty range or a wrong counter size".into());
    }
    Ok(())
}
