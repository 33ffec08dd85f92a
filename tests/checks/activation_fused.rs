//! The fused activation backward (dx and dmu in one pass) against the unfused sequence it
//! replaces, bit for bit, in both fused variants, and against its CPU twin.

use ultraspike::cpu;
use ultraspike::gpu::{Gpu, Tensor};
use ultraspike::nn::activation_backward::{activation_backward_variant, choose, ActBackward};

use super::activation::{away_from_kinks, away_from_levels, MU};
use super::linear::expect_shape_err;
use super::{assert_close, gpu_err, rng, CheckResult};

/// dx and dmu of one variant, run on fresh outputs (so nothing stale can pass).
async fn run_variant(
    gpu: &Gpu,
    n: usize,
    levels: Option<u32>,
    inputs: [&Tensor; 3],
    variant: ActBackward,
) -> Result<(Vec<f32>, f32), String> {
    let dx = gpu.tensor_from("dx", &[n], &vec![7.0; n]).map_err(gpu_err)?;
    let dmu = gpu.tensor_from("dmu", &[1], &[7.0]).map_err(gpu_err)?;
    let g = activation_backward_variant(gpu, "act.bwd", n, levels, inputs, [&dx, &dmu], variant).map_err(gpu_err)?;
    if g.variant != variant {
        return Err(format!("asked for {variant:?}, built {:?}", g.variant));
    }
    gpu.run(&g.ops.iter().collect::<Vec<_>>()).map_err(gpu_err)?;
    let dmu = gpu.read(&dmu).await.map_err(gpu_err)?[0];
    Ok((gpu.read(&dx).await.map_err(gpu_err)?, dmu))
}

/// n: one, several and many partial sums, a chunk's last row cut short; threshold ReLU and QCFS.
pub async fn activation_backward_fused(gpu: &Gpu) -> CheckResult {
    for n in [4usize, 256, 4100, 100_000, 262_148] {
        for levels in [None, Some(1), Some(4), Some(1024)] {
            let x = match levels {
                None => away_from_kinks(n, n as u64 + 3),
                Some(l) => away_from_levels(n, n as u64 + 5, MU, l),
            };
            let dy = rng(n as u64 + 9).vec_uniform(n, -1.0, 1.0);
            let tx = gpu.tensor_from("x", &[n], &x).map_err(gpu_err)?;
            let tmu = gpu.tensor_from("mu", &[1], &[MU]).map_err(gpu_err)?;
            let tdy = gpu.tensor_from("dy", &[n], &dy).map_err(gpu_err)?;
            let inputs = [&tx, &tmu, &tdy];
            let what = format!("activation backward n={n} levels={levels:?}");
            let (dx, dmu) = run_variant(gpu, n, levels, inputs, ActBackward::Unfused).await?;
            let (want_dx, want_dmu) = cpu::activation::activation_backward(&x, MU, levels, &dy);
            assert_close(&format!("{what}: dx"), &dx, &want_dx, 0.0, 0.0)?;
            let tol = 1e-6 * (n as f32).sqrt() * 4.0;
            assert_close(&format!("{what}: dmu"), &[dmu], &[want_dmu], tol, 1e-5)?;
            for fused in [ActBackward::Fused, ActBackward::FusedReg] {
                let (fdx, fdmu) = run_variant(gpu, n, levels, inputs, fused).await?;
                let same_dx = fdx.iter().zip(&dx).all(|(a, b)| a.to_bits() == b.to_bits());
                if !same_dx || fdmu.to_bits() != dmu.to_bits() {
                    return Err(format!(
                        "{what}: {fused:?} differs from the unfused sequence (dx same: {same_dx}; dmu {fdmu} vs {dmu})"
                    ));
                }
            }
        }
    }
    // The builder's own pick: fused for n % 4 == 0, the unfused pair otherwise.
    if choose(gpu, 4097) != ActBackward::Unfused || choose(gpu, 4096) == ActBackward::Unfused {
        return Err(format!(
            "choose: {:?} for 4097, {:?} for 4096",
            choose(gpu, 4097),
            choose(gpu, 4096)
        ));
    }
    let t = |n: usize| gpu.tensor("t", &[n]).map_err(gpu_err);
    let (x, mu, odd) = (t(12)?, t(1)?, t(10)?);
    let fused = |n, levels, [a, b, c]: [&Tensor; 3], [d, e]: [&Tensor; 2]| {
        activation_backward_variant(gpu, "a", n, levels, [a, b, c], [d, e], ActBackward::Fused)
    };
    expect_shape_err("fused: n % 4 != 0", fused(10, None, [&odd, &mu, &odd], [&odd, &mu]))?;
    expect_shape_err("fused: 0 levels", fused(12, Some(0), [&x, &mu, &x], [&x, &mu]))?;
    expect_shape_err("fused: dmu of 12", fused(12, None, [&x, &mu, &x], [&x, &x]))?;
    expect_shape_err("fused: dy of 10", fused(12, None, [&x, &mu, &odd], [&x, &mu]))?;
    Ok(())
}
