use ultraspike::gpu::Gpu;
use ultraspike::nn::linear::LinearAlgo;
use ultraspike::{cpu, nn, Error};

use super::{assert_close, gpu_err, rng, CheckResult};

/// (n, in_f, out_f): odd sizes, edge tiles in every dimension, one exactly tiled; the last four
/// have feature counts divisible by 4 (the subgroup kernels' vec4 rows): batch 1, rows and
/// columns past one 32 x 256 tile, and a tile-exact one; then one odd past a 64 x 128 tile
/// (Tiled) in every dimension, its batch (backward-weight's K) ending in a one-term step of 16;
/// the last two are odd against the register kernels' 16 x 4, 8 x 16 and 8 x 8 tiles (17 rows,
/// 19 features) at batch 1 and 17.
const SHAPES: [(usize, usize, usize); 12] = [
    (1, 1, 1),
    (3, 5, 7),
    (5, 33, 17),
    (32, 64, 48),
    (7, 130, 67),
    (1, 4, 4),
    (33, 260, 36),
    (70, 128, 300),
    (32, 256, 64),
    (65, 131, 129),
    (17, 19, 23),
    (1, 37, 9),
];

/// The three passes' outputs (y, dx, dw) of one variant on one shape.
async fn run_linear(
    gpu: &Gpu,
    algo: LinearAlgo,
    dims: [usize; 3],
    data: &[Vec<f32>; 4],
) -> Result<[Vec<f32>; 3], String> {
    let [n, in_f, out_f] = dims;
    let [x, w, b, dy] = data;
    let t = |l: &str, s: &[usize], d: &[f32]| gpu.tensor_from(l, s, d).map_err(gpu_err);
    let (tx, tw, tb, tdy) = (
        t("x", &[n, in_f], x)?,
        t("w", &[out_f, in_f], w)?,
        t("b", &[out_f], b)?,
        t("dy", &[n, out_f], dy)?,
    );
    // Outputs start as NaN-free garbage to prove the kernels overwrite.
    let ty = t("y", &[n, out_f], &vec![7.0; n * out_f])?;
    let tdx = t("dx", &[n, in_f], &vec![7.0; n * in_f])?;
    let tdw = t("dw", &[out_f, in_f], &vec![7.0; out_f * in_f])?;
    use nn::linear::{linear_backward_input_with_algo, linear_backward_weight_with_algo, linear_forward_with_algo};
    let f = linear_forward_with_algo(gpu, "fc", dims, algo, &tx, &tw, &tb, &ty).map_err(gpu_err)?;
    let bi = linear_backward_input_with_algo(gpu, "fc.dx", dims, algo, &tdy, &tw, &tdx).map_err(gpu_err)?;
    let bw = linear_backward_weight_with_algo(gpu, "fc.dw", dims, algo, &tx, &tdy, &tdw).map_err(gpu_err)?;
    gpu.run(&[&f, &bi, &bw]).map_err(gpu_err)?;
    let mut out = Vec::new();
    for tensor in [&ty, &tdx, &tdw] {
        out.push(gpu.read(tensor).await.map_err(gpu_err)?);
    }
    let [y, dx, dw]: [Vec<f32>; 3] = out.try_into().map_err(|_| "three outputs".to_string())?;
    Ok([y, dx, dw])
}

/// Forward and both backward GEMMs of every variant this adapter runs against the CPU, atol/rtol
/// scaled to the reduction length; the subgroup, tiled and register variants must give the plain
/// one's bits.
pub async fn linear(gpu: &Gpu) -> CheckResult {
    use nn::linear::LinearPass;
    for (si, &(n, in_f, out_f)) in SHAPES.iter().enumerate() {
        let mut r = rng(100 + si as u64);
        let data = [
            r.vec_uniform(n * in_f, -1.0, 1.0),
            r.vec_uniform(out_f * in_f, -1.0, 1.0),
            r.vec_uniform(out_f, -1.0, 1.0),
            r.vec_uniform(n * out_f, -1.0, 1.0),
        ];
        let [x, w, b, dy] = &data;
        let want = [
            cpu::linear::linear_forward(n, in_f, out_f, x, w, b),
            cpu::linear::linear_backward_input(n, in_f, out_f, dy, w),
            cpu::linear::linear_backward_weight(n, in_f, out_f, x, dy),
        ];
        let passes = [
            LinearPass::Forward,
            LinearPass::BackwardInput,
            LinearPass::BackwardWeight,
        ];
        let names = ["linear_forward", "linear_backward_input", "linear_backward_weight"];
        let reduced = [in_f, out_f, n];
        let plain = run_linear(gpu, LinearAlgo::Plain, [n, in_f, out_f], &data).await?;
        for i in 0..3 {
            let tag = format!("{} Plain n={n} in={in_f} out={out_f}", names[i]);
            assert_close(&tag, &plain[i], &want[i], 1e-6 * reduced[i] as f32, 1e-5)?;
        }
        // Subgroup (where it runs), Tiled and Register must give Plain's bits.
        for algo in [LinearAlgo::Subgroup, LinearAlgo::Tiled, LinearAlgo::Register] {
            if !passes.iter().all(|&p| algo.supported(gpu, p, in_f, out_f)) {
                continue;
            }
            let got = run_linear(gpu, algo, [n, in_f, out_f], &data).await?;
            for i in 0..3 {
                let tag = format!("{} {algo:?} n={n} in={in_f} out={out_f}", names[i]);
                assert_close(&tag, &got[i], &want[i], 1e-6 * reduced[i] as f32, 1e-5)?;
                if got[i].iter().zip(&plain[i]).any(|(a, b)| a.to_bits() != b.to_bits()) {
                    return Err(format!("{tag}: not bit-identical to the Plain variant"));
                }
            }
        }
    }
    Ok(())
}

/// Every variant refuses what it cannot run by name: Subgroup on features not divisible by 4.
pub async fn linear_variant_errors(gpu: &Gpu) -> CheckResult {
    let (n, i, o) = (2usize, 6usize, 4usize);
    let t = |s: &[usize]| gpu.tensor("t", s).map_err(gpu_err);
    let (x, w, b, y) = (t(&[n, i])?, t(&[o, i])?, t(&[o])?, t(&[n, o])?);
    let r = nn::linear::linear_forward_with_algo(gpu, "fc6", [n, i, o], LinearAlgo::Subgroup, &x, &w, &b, &y);
    match r {
        Err(Error::Shape(m)) if m.contains("fc6") && m.contains("in 6") => Ok(()),
        Err(e) => Err(format!(
            "Subgroup on in_f 6: expected a shape error naming the layer, got `{e}`"
        )),
        Ok(_) => Err("Subgroup on in_f 6: expected a shape error, got Ok".into()),
    }
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
