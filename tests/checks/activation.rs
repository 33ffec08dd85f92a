use ultraspike::gpu::{Encoder, Gpu, Kernel};
use ultraspike::{cpu, nn};

use super::linear::expect_shape_err;
use super::{assert_close, expect_kernel, gpu_err, rng, variant, CheckResult};

pub const MU: f32 = 0.75;

/// Uniform in [-0.5, 1.5*mu] but at least 1e-2 away from 0 and mu, so masks are exact.
pub fn away_from_kinks(n: usize, seed: u64) -> Vec<f32> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| loop {
            let v = r.range(-0.5, 1.5 * MU);
            if v.abs() > 1e-2 && (v - MU).abs() > 1e-2 {
                break v;
            }
        })
        .collect()
}

/// Forward, dx and dmu on odd sizes (dmu: one, several and many stage-1 partials), and on
/// multiples of 4, which take the vec4 kernels.
pub async fn threshold_relu(gpu: &Gpu) -> CheckResult {
    for n in [1usize, 255, 4097, 100_003, 4, 256, 4096, 100_000] {
        let x = away_from_kinks(n, n as u64);
        let dy = rng(n as u64 + 1).vec_uniform(n, -1.0, 1.0);
        let tx = gpu.tensor_from("x", &[n], &x).map_err(gpu_err)?;
        let tmu = gpu.tensor_from("mu", &[1], &[MU]).map_err(gpu_err)?;
        let tdy = gpu.tensor_from("dy", &[n], &dy).map_err(gpu_err)?;
        let ty = gpu.tensor("y", &[n]).map_err(gpu_err)?;
        let tdx = gpu.tensor_from("dx", &[n], &vec![7.0; n]).map_err(gpu_err)?;
        let tdmu = gpu.tensor_from("dmu", &[1], &[7.0]).map_err(gpu_err)?;
        let f = nn::activation::threshold_relu_forward(gpu, "clip", n, &tx, &tmu, &ty).map_err(gpu_err)?;
        let b = nn::activation::threshold_relu_backward(gpu, "clip.dx", n, &tx, &tmu, &tdy, &tdx).map_err(gpu_err)?;
        let m =
            nn::activation::threshold_relu_backward_mu(gpu, "clip.dmu", n, &tx, &tmu, &tdy, &tdmu).map_err(gpu_err)?;
        expect_kernel(
            &f,
            variant(n, Kernel::ThresholdReluForward, Kernel::ThresholdReluForwardVec4),
        )?;
        expect_kernel(
            &b,
            variant(n, Kernel::ThresholdReluBackward, Kernel::ThresholdReluBackwardVec4),
        )?;
        let mut enc = Encoder::new(gpu, "clip");
        enc.dispatch(&f);
        enc.dispatch(&b);
        m.ops.iter().for_each(|op| enc.dispatch(op));
        enc.submit(gpu).map_err(gpu_err)?;
        let want = cpu::activation::threshold_relu_forward(&x, MU);
        assert_close(
            &format!("threshold_relu_forward n={n}"),
            &gpu.read(&ty).await.map_err(gpu_err)?,
            &want,
            0.0,
            0.0,
        )?;
        let want = cpu::activation::threshold_relu_backward(&x, MU, &dy);
        assert_close(
            &format!("threshold_relu_backward n={n}"),
            &gpu.read(&tdx).await.map_err(gpu_err)?,
            &want,
            0.0,
            0.0,
        )?;
        let want = cpu::activation::threshold_relu_backward_mu(&x, MU, &dy);
        let got = gpu.read(&tdmu).await.map_err(gpu_err)?;
        // f32 tree sums of n terms in [-1, 1] against an f64 sum.
        assert_close(
            &format!("threshold_relu_backward_mu n={n}"),
            &got,
            &[want],
            1e-6 * (n as f32).sqrt() * 4.0,
            1e-5,
        )?;
        // Deterministic: a second run gives the same bits, and so do both stage-1 kernels (the
        // workgroup tree and the register-only one).
        for register in [None, Some(false), Some(true)] {
            let variant = match register {
                None => None,
                Some(r) => Some(
                    nn::activation::threshold_relu_backward_mu_variant(
                        gpu,
                        "clip.dmu.v",
                        n,
                        [&tx, &tmu, &tdy],
                        &tdmu,
                        r,
                    )
                    .map_err(gpu_err)?,
                ),
            };
            let ops = variant.as_ref().map_or(&m.ops, |v| &v.ops);
            gpu.run(&ops.iter().collect::<Vec<_>>()).map_err(gpu_err)?;
            let again = gpu.read(&tdmu).await.map_err(gpu_err)?;
            if again[0].to_bits() != got[0].to_bits() {
                return Err(format!(
                    "threshold_relu_backward_mu n={n} (register stage 1: {register:?}): {} then {}",
                    got[0], again[0]
                ));
            }
        }
    }
    Ok(())
}

/// 65,535*256 + 77 elements: the grid folds into y; a cheap per-thread cost.
pub async fn threshold_relu_big_grid(gpu: &Gpu) -> CheckResult {
    let n = 65_535 * 256 + 77;
    let x: Vec<f32> = (0..n).map(|i| ((i % 7) as f32 - 2.5) * 0.25).collect();
    let tx = gpu.tensor_from("x", &[n], &x).map_err(gpu_err)?;
    let tmu = gpu.tensor_from("mu", &[1], &[0.5]).map_err(gpu_err)?;
    let ty = gpu.tensor("y", &[n]).map_err(gpu_err)?;
    let f = nn::activation::threshold_relu_forward(gpu, "clip", n, &tx, &tmu, &ty).map_err(gpu_err)?;
    if f.groups[1] < 2 {
        return Err(format!("expected a grid folded into y, got {:?}", f.groups));
    }
    gpu.run(&[&f]).map_err(gpu_err)?;
    let want = cpu::activation::threshold_relu_forward(&x, 0.5);
    assert_close(
        &format!("threshold_relu_forward n={n}"),
        &gpu.read(&ty).await.map_err(gpu_err)?,
        &want,
        0.0,
        0.0,
    )
}

pub async fn threshold_relu_shape_errors(gpu: &Gpu) -> CheckResult {
    let t = |n: usize| gpu.tensor("t", &[n]).map_err(gpu_err);
    let (x, mu, y, bad) = (t(10)?, t(1)?, t(10)?, t(9)?);
    use nn::activation::*;
    expect_shape_err("forward: bad y", threshold_relu_forward(gpu, "c", 10, &x, &mu, &bad))?;
    expect_shape_err("forward: mu of 10", threshold_relu_forward(gpu, "c", 10, &x, &y, &y))?;
    expect_shape_err("forward: n 0", threshold_relu_forward(gpu, "c", 0, &x, &mu, &y))?;
    expect_shape_err(
        "backward: bad dy",
        threshold_relu_backward(gpu, "c", 10, &x, &mu, &bad, &y),
    )?;
    expect_shape_err(
        "backward_mu: dmu of 10",
        threshold_relu_backward_mu(gpu, "c", 10, &x, &mu, &y, &x),
    )?;
    expect_shape_err(
        "backward_mu: bad x",
        threshold_relu_backward_mu(gpu, "c", 10, &bad, &mu, &y, &mu),
    )?;
    Ok(())
}

/// Uniform in [-0.5, 1.5*mu], each at least 1e-3 (in units of mu / L) away from QCFS's
/// rounding edges (x L / mu + 1/2 an integer), from 0 and from mu, so a division that
/// is not correctly rounded on the device cannot move an element to the next level.
pub fn away_from_levels(n: usize, seed: u64, mu: f32, levels: u32) -> Vec<f32> {
    let mut r = rng(seed);
    let l = levels as f32;
    (0..n)
        .map(|_| loop {
            let v = r.range(-0.5, 1.5 * mu);
            let z = v * l / mu + 0.5;
            if (z - z.round()).abs() > 1e-3 && v.abs() > 1e-3 && (v - mu).abs() > 1e-3 {
                break v;
            }
        })
        .collect()
}

/// QCFS forward (every level hit, exactly) and its straight-through mu gradient on odd
/// sizes, multiples of 4 (the vec4 forward) and several L; dx is `threshold_relu_backward`,
/// checked above.
pub async fn qcfs(gpu: &Gpu) -> CheckResult {
    for (n, levels) in [
        (1usize, 1u32),
        (255, 2),
        (4097, 4),
        (100_003, 8),
        (999, 1024),
        (4096, 4),
        (100_000, 8),
    ] {
        let x = away_from_levels(n, n as u64 + 7, MU, levels);
        let dy = rng(n as u64 + 2).vec_uniform(n, -1.0, 1.0);
        let tx = gpu.tensor_from("x", &[n], &x).map_err(gpu_err)?;
        let tmu = gpu.tensor_from("mu", &[1], &[MU]).map_err(gpu_err)?;
        let tdy = gpu.tensor_from("dy", &[n], &dy).map_err(gpu_err)?;
        let ty = gpu.tensor("y", &[n]).map_err(gpu_err)?;
        let tdmu = gpu.tensor_from("dmu", &[1], &[7.0]).map_err(gpu_err)?;
        let f = nn::activation::qcfs_forward(gpu, "qcfs", n, levels, &tx, &tmu, &ty).map_err(gpu_err)?;
        expect_kernel(&f, variant(n, Kernel::QcfsForward, Kernel::QcfsForwardVec4))?;
        let m =
            nn::activation::qcfs_backward_mu(gpu, "qcfs.dmu", n, levels, &tx, &tmu, &tdy, &tdmu).map_err(gpu_err)?;
        let mut enc = Encoder::new(gpu, "qcfs");
        enc.dispatch(&f);
        m.ops.iter().for_each(|op| enc.dispatch(op));
        enc.submit(gpu).map_err(gpu_err)?;
        let want = cpu::activation::qcfs_forward(&x, MU, levels);
        let got = gpu.read(&ty).await.map_err(gpu_err)?;
        // Level heights k * mu / L: the division may differ by an ulp, the level may not.
        assert_close(&format!("qcfs_forward n={n} L={levels}"), &got, &want, 1e-6, 1e-6)?;
        if n > 1000 && levels <= 8 {
            let distinct: std::collections::BTreeSet<u32> = got.iter().map(|v| v.to_bits()).collect();
            if distinct.len() != levels as usize + 1 {
                return Err(format!("qcfs_forward L={levels}: {} distinct outputs", distinct.len()));
            }
        }
        let want = cpu::activation::qcfs_backward_mu(&x, MU, levels, &dy);
        assert_close(
            &format!("qcfs_backward_mu n={n} L={levels}"),
            &gpu.read(&tdmu).await.map_err(gpu_err)?,
            &[want],
            1e-6 * (n as f32).sqrt() * 4.0,
            1e-5,
        )?;
    }
    use nn::activation::*;
    let t = |n: usize| gpu.tensor("t", &[n]).map_err(gpu_err);
    let (x, mu, y) = (t(10)?, t(1)?, t(10)?);
    expect_shape_err("qcfs: 0 levels", qcfs_forward(gpu, "q", 10, 0, &x, &mu, &y))?;
    expect_shape_err("qcfs: 1025 levels", qcfs_forward(gpu, "q", 10, 1025, &x, &mu, &y))?;
    expect_shape_err("qcfs: mu of 10", qcfs_forward(gpu, "q", 10, 4, &x, &y, &y))?;
    expect_shape_err(
        "qcfs dmu: dmu of 10",
        qcfs_backward_mu(gpu, "q", 10, 4, &x, &mu, &y, &x),
    )?;
    Ok(())
}
