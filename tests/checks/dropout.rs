use ultraspike::gpu::{Gpu, Kernel};
use ultraspike::{cpu, nn};

use super::linear::expect_shape_err;
use super::{assert_close, expect_kernel, gpu_err, rng, variant, CheckResult};

/// Mask and output equal to the CPU's bit for bit (same hash), and after `set_seed`. Sizes
/// that are multiples of 4 take the vec4 kernels: rows of 1000, rows of 37 and 3 (a vec4
/// spans two rows, and the mask row wraps at rows_per_mask) and rows of 1 (every element
/// is a new row).
pub async fn dropout(gpu: &Gpu) -> CheckResult {
    for (rows, per_row, rpm, p, seed) in [
        (1usize, 1usize, 1usize, 0.5f32, 0u32),
        (6, 37, 3, 0.2, 7),
        (8, 1000, 8, 0.5, 123),
        (5, 3, 5, 0.0, 9),
        (8, 37, 3, 0.2, 5),
        (12, 3, 5, 0.3, 11),
        (8, 1, 3, 0.5, 3),
    ] {
        let n = rows * per_row;
        let x = rng(seed as u64).vec_uniform(n, -1.0, 1.0);
        let dy = rng(seed as u64 + 1).vec_uniform(n, -1.0, 1.0);
        let tx = gpu.tensor_from("x", &[rows, per_row], &x).map_err(gpu_err)?;
        let tdy = gpu.tensor_from("dy", &[rows, per_row], &dy).map_err(gpu_err)?;
        let (ty, tm, tdx) = (
            gpu.tensor("y", &[n]).map_err(gpu_err)?,
            gpu.tensor("m", &[n]).map_err(gpu_err)?,
            gpu.tensor("dx", &[n]).map_err(gpu_err)?,
        );
        let d =
            nn::dropout::dropout_forward(gpu, "drop", rows, per_row, rpm, p, seed, &tx, &ty, &tm).map_err(gpu_err)?;
        let b = nn::dropout::dropout_backward(gpu, "drop.dx", n, &tdy, &tm, &tdx).map_err(gpu_err)?;
        expect_kernel(&d.op, variant(n, Kernel::DropoutForward, Kernel::DropoutForwardVec4))?;
        expect_kernel(&b, variant(n, Kernel::DropoutBackward, Kernel::DropoutBackwardVec4))?;
        for s in [seed, seed.wrapping_add(0x9e37_79b9)] {
            d.set_seed(gpu, s);
            gpu.run(&[&d.op, &b]).map_err(gpu_err)?;
            let tag = format!("rows={rows} per_row={per_row} rpm={rpm} p={p} seed={s}");
            let (want_y, want_m) = cpu::dropout::dropout_forward(rows, per_row, rpm, p, s, &x);
            assert_close(
                &format!("dropout mask {tag}"),
                &gpu.read(&tm).await.map_err(gpu_err)?,
                &want_m,
                0.0,
                0.0,
            )?;
            assert_close(
                &format!("dropout y {tag}"),
                &gpu.read(&ty).await.map_err(gpu_err)?,
                &want_y,
                0.0,
                0.0,
            )?;
            let want_dx = cpu::dropout::dropout_backward(&dy, &want_m);
            assert_close(
                &format!("dropout_backward {tag}"),
                &gpu.read(&tdx).await.map_err(gpu_err)?,
                &want_dx,
                0.0,
                0.0,
            )?;
        }
    }
    Ok(())
}

/// Keep rate within 6 binomial standard deviations; rows t*B+b share one mask
/// across t; another seed gives another mask.
pub async fn dropout_statistics(gpu: &Gpu) -> CheckResult {
    let (t_steps, batch, per_row, p) = (4usize, 8usize, 4099usize, 0.3f32);
    let (rows, n) = (t_steps * batch, t_steps * batch * per_row);
    let tx = gpu.tensor_from("x", &[n], &vec![1.0; n]).map_err(gpu_err)?;
    let (ty, tm) = (
        gpu.tensor("y", &[n]).map_err(gpu_err)?,
        gpu.tensor("m", &[n]).map_err(gpu_err)?,
    );
    let d = nn::dropout::dropout_forward(gpu, "drop", rows, per_row, batch, p, 42, &tx, &ty, &tm).map_err(gpu_err)?;
    gpu.run(&[&d.op]).map_err(gpu_err)?;
    let m = gpu.read(&tm).await.map_err(gpu_err)?;
    let scale = 1.0 / (1.0 - p);
    if let Some(v) = m.iter().find(|&&v| v != 0.0 && v != scale) {
        return Err(format!("mask value {v} is neither 0 nor {scale}"));
    }
    let unique = batch * per_row;
    let kept = m[..unique].iter().filter(|&&v| v != 0.0).count() as f64;
    let (mean, sd) = (
        unique as f64 * (1.0 - p as f64),
        (unique as f64 * p as f64 * (1.0 - p as f64)).sqrt(),
    );
    if (kept - mean).abs() > 6.0 * sd {
        return Err(format!(
            "kept {kept} of {unique}, expected {mean:.0} +- {:.0} (6 sd)",
            6.0 * sd
        ));
    }
    for t in 1..t_steps {
        if m[t * unique..(t + 1) * unique] != m[..unique] {
            return Err(format!("mask of step {t} differs from step 0"));
        }
    }
    // Different rows of one step, and different seeds, must differ.
    if m[..per_row] == m[per_row..2 * per_row] {
        return Err("rows 0 and 1 share a mask".into());
    }
    d.set_seed(gpu, 43);
    gpu.run(&[&d.op]).map_err(gpu_err)?;
    let m2 = gpu.read(&tm).await.map_err(gpu_err)?;
    let same = m.iter().zip(&m2).filter(|(a, b)| a == b).count() as f64 / n as f64;
    // Two independent masks agree on (1-p)^2 + p^2 = 0.58 of the entries.
    if !(0.5..0.66).contains(&same) {
        return Err(format!(
            "seeds 42 and 43 agree on {same:.3} of the mask, expected about 0.58"
        ));
    }
    Ok(())
}

pub async fn dropout_shape_errors(gpu: &Gpu) -> CheckResult {
    let t = |n: usize| gpu.tensor("t", &[n]).map_err(gpu_err);
    let (x, y, m, bad) = (t(12)?, t(12)?, t(12)?, t(11)?);
    use nn::dropout::*;
    expect_shape_err(
        "forward: bad mask",
        dropout_forward(gpu, "d", 3, 4, 3, 0.5, 0, &x, &y, &bad),
    )?;
    expect_shape_err(
        "forward: bad x",
        dropout_forward(gpu, "d", 3, 4, 3, 0.5, 0, &bad, &y, &m),
    )?;
    expect_shape_err("forward: p = 1", dropout_forward(gpu, "d", 3, 4, 3, 1.0, 0, &x, &y, &m))?;
    expect_shape_err(
        "forward: rows_per_mask 0",
        dropout_forward(gpu, "d", 3, 4, 0, 0.5, 0, &x, &y, &m),
    )?;
    expect_shape_err("backward: bad dx", dropout_backward(gpu, "d", 12, &x, &m, &bad))?;
    Ok(())
}
