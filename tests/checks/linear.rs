use ultraspike::gpu::Gpu;
use ultraspike::{cpu, nn, Error};

use super::{assert_close, gpu_err, rng, CheckResult};

/// (n, in_f, out_f): odd sizes, edge tiles in every dimension, one exactly tiled.
const SHAPES: [(usize, usize, usize); 5] = [(1, 1, 1), (3, 5, 7), (5, 33, 17), (32, 64, 48), (7, 130, 67)];

/// Forward and both backward GEMMs against the CPU, atol/rtol scaled to the reduction length.
pub async fn linear(gpu: &Gpu) -> CheckResult {
    for (si, &(n, in_f, out_f)) in SHAPES.iter().enumerate() {
        let mut r = rng(100 + si as u64);
        let x = r.vec_uniform(n * in_f, -1.0, 1.0);
        let w = r.vec_uniform(out_f * in_f, -1.0, 1.0);
        let b = r.vec_uniform(out_f, -1.0, 1.0);
        let dy = r.vec_uniform(n * out_f, -1.0, 1.0);
        let t = |l: &str, s: &[usize], d: &[f32]| gpu.tensor_from(l, s, d).map_err(gpu_err);
        let (tx, tw, tb, tdy) = (
            t("x", &[n, in_f], &x)?,
            t("w", &[out_f, in_f], &w)?,
            t("b", &[out_f], &b)?,
            t("dy", &[n, out_f], &dy)?,
        );
        // Outputs start as NaN-free garbage to prove the kernels overwrite.
        let ty = t("y", &[n, out_f], &vec![7.0; n * out_f])?;
        let tdx = t("dx", &[n, in_f], &vec![7.0; n * in_f])?;
        let tdw = t("dw", &[out_f, in_f], &vec![7.0; out_f * in_f])?;
        let f = nn::linear::linear_forward(gpu, "fc", n, in_f, out_f, &tx, &tw, &tb, &ty).map_err(gpu_err)?;
        let bi = nn::linear::linear_backward_input(gpu, "fc.dx", n, in_f, out_f, &tdy, &tw, &tdx).map_err(gpu_err)?;
        let bw = nn::linear::linear_backward_weight(gpu, "fc.dw", n, in_f, out_f, &tx, &tdy, &tdw).map_err(gpu_err)?;
        gpu.run(&[&f, &bi, &bw]).map_err(gpu_err)?;
        let tag = format!("n={n} in={in_f} out={out_f}");
        let want = cpu::linear::linear_forward(n, in_f, out_f, &x, &w, &b);
        let got = gpu.read(&ty).await.map_err(gpu_err)?;
        assert_close(&format!("linear_forward {tag}"), &got, &want, 1e-6 * in_f as f32, 1e-5)?;
        let want = cpu::linear::linear_backward_input(n, in_f, out_f, &dy, &w);
        let got = gpu.read(&tdx).await.map_err(gpu_err)?;
        assert_close(
            &format!("linear_backward_input {tag}"),
            &got,
            &want,
            1e-6 * out_f as f32,
            1e-5,
        )?;
        let want = cpu::linear::linear_backward_weight(n, in_f, out_f, &x, &dy);
        let got = gpu.read(&tdw).await.map_err(gpu_err)?;
        assert_close(
            &format!("linear_backward_weight {tag}"),
            &got,
            &want,
            1e-6 * n as f32,
            1e-5,
        )?;
    }
    Ok(())
}

/// Linear (spatial 1), conv-like (spatial H*W, odd), and > 65,535 channels (one
/// workgroup per channel, so the grid folds into y).
/// The kernel's summation order, emulated: thread `lid` of 64 adds the terms t = lid + 64 k
/// of a channel in turn, then a tree halves the 64 partials. f32 adds are exact, so the GPU
/// must match this bit for bit (its order is part of what training reproduces).
fn bias_backward_in_kernel_order(n: usize, c: usize, spatial: usize, dy: &[f32]) -> Vec<f32> {
    (0..c)
        .map(|ch| {
            let mut part: Vec<f32> = (0..64)
                .map(|lid| {
                    (lid..n * spatial).step_by(64).fold(0.0f32, |acc, t| {
                        acc + dy[(t / spatial * c + ch) * spatial + t % spatial]
                    })
                })
                .collect();
            let mut h = 32;
            while h > 0 {
                (0..h).for_each(|l| part[l] += part[l + h]);
                h /= 2;
            }
            part[0]
        })
        .collect()
}

/// Against the CPU, and bit for bit against the kernel's order; spatial below, at and above
/// the 64 threads, and a VGG-sized 28x28.
pub async fn bias_backward(gpu: &Gpu) -> CheckResult {
    for (n, c, spatial) in [
        (1usize, 1usize, 1usize),
        (32, 10, 1),
        (3, 5, 49),
        (2, 3, 1000),
        (1, 70_001, 1),
        (3, 4, 64),
        (5, 3, 784),
    ] {
        let mut r = rng((n * 31 + c * 7 + spatial) as u64);
        let dy = r.vec_uniform(n * c * spatial, -1.0, 1.0);
        let tdy = gpu.tensor_from("dy", &[n, c, spatial], &dy).map_err(gpu_err)?;
        let tdb = gpu.tensor_from("db", &[c], &vec![7.0; c]).map_err(gpu_err)?;
        let op = nn::linear::bias_backward(gpu, "db", n, c, spatial, &tdy, &tdb).map_err(gpu_err)?;
        gpu.run(&[&op]).map_err(gpu_err)?;
        let got = gpu.read(&tdb).await.map_err(gpu_err)?;
        let want = cpu::linear::bias_backward(n, c, spatial, &dy);
        let atol = 1e-6 * (n * spatial) as f32;
        assert_close(
            &format!("bias_backward n={n} c={c} s={spatial}"),
            &got,
            &want,
            atol,
            1e-5,
        )?;
        assert_close(
            &format!("bias_backward order n={n} c={c} s={spatial}"),
            &got,
            &bias_backward_in_kernel_order(n, c, spatial, &dy),
            0.0,
            0.0,
        )?;
    }
    Ok(())
}

/// Ok only for `Err(Error::Shape)`.
pub fn expect_shape_err<T>(what: &str, r: ultraspike::Result<T>) -> CheckResult {
    match r {
        Err(Error::Shape(_)) => Ok(()),
        Err(e) => Err(format!("{what}: expected a shape error, got `{e}`")),
        Ok(_) => Err(format!("{what}: expected a shape error, got Ok")),
    }
}

pub async fn linear_shape_errors(gpu: &Gpu) -> CheckResult {
    let (n, i, o) = (2usize, 3usize, 4usize);
    let t = |s: &[usize]| gpu.tensor("t", s).map_err(gpu_err);
    let (x, w, b, y) = (t(&[n, i])?, t(&[o, i])?, t(&[o])?, t(&[n, o])?);
    let bad = t(&[5])?;
    use nn::linear::{linear_backward_input, linear_backward_weight, linear_forward};
    expect_shape_err("forward: bad w", linear_forward(gpu, "l", n, i, o, &x, &bad, &b, &y))?;
    expect_shape_err("forward: bad b", linear_forward(gpu, "l", n, i, o, &x, &w, &bad, &y))?;
    expect_shape_err("forward: bad y", linear_forward(gpu, "l", n, i, o, &x, &w, &b, &bad))?;
    expect_shape_err("forward: in_f 0", linear_forward(gpu, "l", n, 0, o, &x, &w, &b, &y))?;
    expect_shape_err(
        "backward_input: bad dx",
        linear_backward_input(gpu, "l", n, i, o, &y, &w, &bad),
    )?;
    expect_shape_err(
        "backward_input: swapped",
        linear_backward_input(gpu, "l", n, i, o, &x, &w, &x),
    )?;
    expect_shape_err(
        "backward_weight: bad dw",
        linear_backward_weight(gpu, "l", n, i, o, &x, &y, &bad),
    )?;
    expect_shape_err(
        "bias_backward: bad db",
        nn::linear::bias_backward(gpu, "l", n, o, 1, &y, &bad),
    )?;
    expect_shape_err(
        "bias_backward: bad dy",
        nn::linear::bias_backward(gpu, "l", n, o, 3, &y, &b),
    )?;
    Ok(())
}
