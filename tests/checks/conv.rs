use ultraspike::gpu::{Gpu, Tensor};
use ultraspike::nn::conv::{self, Conv2dShape, ConvAlgo};
use ultraspike::util::rng::Rng;
use ultraspike::{cpu, Result};

use super::{assert_close, gpu_err, rng, CheckResult};

const ATOL: f32 = 2e-4;
const RTOL: f32 = 1e-4;

fn shape(v: [usize; 8]) -> Conv2dShape {
    let [n, c_in, h, w, c_out, k, stride, pad] = v;
    Conv2dShape {
        n,
        c_in,
        h,
        w,
        c_out,
        k,
        stride,
        pad,
    }
}

/// Odd sizes, k = 1/3/5, stride 1/2, pad 0/1/2, channel counts around the 8- and 32-channel
/// blocks (37 input, 45 output channels: partial last subgroup blocks), 2x2 maps, split-K with
/// slices that straddle images (the 5x32 case), plus three random shapes.
fn shapes(seed: u64) -> Vec<Conv2dShape> {
    let mut v: Vec<_> = [
        [3, 5, 7, 9, 6, 3, 1, 1],
        [2, 3, 8, 8, 16, 1, 2, 0],
        [1, 4, 9, 7, 9, 5, 1, 2],
        [2, 6, 11, 10, 5, 3, 2, 1],
        [1, 1, 5, 5, 1, 3, 1, 0],
        [3, 9, 6, 5, 17, 3, 2, 2],
        [2, 12, 2, 2, 10, 3, 1, 1],
        [2, 3, 7, 7, 4, 5, 2, 0],
        [5, 32, 4, 4, 160, 3, 1, 1],
        [2, 37, 5, 6, 11, 3, 2, 1],
        [3, 7, 6, 5, 45, 5, 1, 2],
        // 3x3/s1/p1 with whole-quad planes (ConvAlgo::Vec4): 1 channel at batch 1, rows of 14
        // (quads straddle rows), partial channel blocks, 2x2 and 3x4 maps.
        [1, 1, 28, 28, 32, 3, 1, 1],
        [2, 6, 14, 14, 9, 3, 1, 1],
        [3, 37, 6, 6, 45, 3, 1, 1],
        [2, 5, 2, 2, 7, 3, 1, 1],
        [2, 8, 3, 4, 33, 3, 1, 1],
        // Vec4 backward-weight: 70 input channels (two workgroups of 64), a partial block of 9.
        [2, 70, 4, 8, 9, 3, 1, 1],
        // ConvAlgo::Tiled's 64 x 128 tiles: channels past one tile both ways (70 = 64 + 6, 67),
        // stride 2 at batch 1, K = 9 * 67 ending in a partial 16-step.
        [1, 67, 9, 9, 70, 3, 2, 1],
        // ConvAlgo::Register: channels past one 32-channel block (forward 33 out, backward-input
        // 35 in), stride 2 with a 1-channel input at batch 1 (backward-weight: 9 weights, 16-
        // channel blocks over 17 outputs, many split-K slices).
        [2, 35, 5, 7, 33, 3, 1, 1],
        [1, 1, 9, 8, 17, 3, 2, 1],
    ]
    .into_iter()
    .map(shape)
    .collect();
    let mut r = rng(seed);
    while v.len() < 23 {
        let k = [1, 3, 5][r.below(3)];
        let pad = r.below(3);
        let s = shape([
            1 + r.below(3),
            1 + r.below(10),
            1 + r.below(12),
            1 + r.below(12),
            1 + r.below(20),
            k,
            1 + r.below(2),
            pad,
        ]);
        if s.validate().is_ok() {
            v.push(s);
        }
    }
    v
}

/// Device tensor of `len` random values in [-1, 1), with its host copy.
fn random(gpu: &Gpu, r: &mut Rng, label: &str, dims: &[usize]) -> Result<(Tensor, Vec<f32>)> {
    let data = r.vec_uniform(dims.iter().product(), -1.0, 1.0);
    Ok((gpu.tensor_from(label, dims, &data)?, data))
}

/// An output tensor pre-filled with garbage, so a kernel that skips an element is caught.
fn output(gpu: &Gpu, label: &str, dims: &[usize]) -> Result<Tensor> {
    gpu.tensor_from(label, dims, &vec![7.5; dims.iter().product()])
}

/// Every variant this adapter runs (Auto included, so the default path is tested too).
fn algos(gpu: &Gpu) -> Vec<ConvAlgo> {
    ConvAlgo::ALL.into_iter().filter(|a| a.supported(gpu)).collect()
}

/// Run a pass's ops (one, or Vec4's pack + convolution) and read `out`.
async fn run_read(gpu: &Gpu, ops: Vec<ultraspike::gpu::Op>, out: &Tensor) -> std::result::Result<Vec<f32>, String> {
    gpu.run(&ops.iter().collect::<Vec<_>>()).map_err(gpu_err)?;
    gpu.read(out).await.map_err(gpu_err)
}

/// Every variant sums each output's terms in the same order and form (only the tiling and
/// the loads differ), so all give the same bits; `results` holds (variant, split-K rows per
/// slice, output), and variants are compared where their slices agree (forward and
/// backward-input: one slice, rows_per 0).
fn same_bits(what: &str, results: &[(ConvAlgo, usize, Vec<f32>)]) -> CheckResult {
    for (i, (a, ra, va)) in results.iter().enumerate() {
        for (b, rb, vb) in &results[i + 1..] {
            if ra == rb && va.iter().zip(vb).any(|(x, y)| x.to_bits() != y.to_bits()) {
                return Err(format!("{what}: {b:?} is not bit-identical to {a:?}"));
            }
        }
    }
    Ok(())
}

pub async fn conv2d_forward(gpu: &Gpu) -> CheckResult {
    let algos = algos(gpu);
    for (i, s) in shapes(11).iter().enumerate() {
        let mut r = rng(100 + i as u64);
        let (x, hx) = random(gpu, &mut r, "x", &s.x_shape()).map_err(gpu_err)?;
        let (w, hw) = random(gpu, &mut r, "w", &s.w_shape()).map_err(gpu_err)?;
        let (b, hb) = random(gpu, &mut r, "b", &[s.c_out]).map_err(gpu_err)?;
        let want = cpu::conv::conv2d_forward(s, &hx, &hw, &hb);
        let mut results = Vec::new();
        for &algo in algos.iter().filter(|a| a.supports_shape(gpu, s)) {
            let y = output(gpu, "y", &s.y_shape()).map_err(gpu_err)?;
            let ops = conv::conv2d_forward(gpu, "conv", s, algo, &x, &w, &b, &y).map_err(gpu_err)?;
            let got = run_read(gpu, ops, &y).await?;
            assert_close(&format!("conv2d_forward {algo:?} {s:?}"), &got, &want, ATOL, RTOL)?;
            results.push((algo, 0, got));
        }
        same_bits(&format!("conv2d_forward {s:?}"), &results)?;
    }
    Ok(())
}

pub async fn conv2d_backward_input(gpu: &Gpu) -> CheckResult {
    let algos = algos(gpu);
    for (i, s) in shapes(12).iter().enumerate() {
        let mut r = rng(200 + i as u64);
        let (dy, hdy) = random(gpu, &mut r, "dy", &s.y_shape()).map_err(gpu_err)?;
        let (w, hw) = random(gpu, &mut r, "w", &s.w_shape()).map_err(gpu_err)?;
        let want = cpu::conv::conv2d_backward_input(s, &hdy, &hw);
        let mut results = Vec::new();
        for &algo in algos.iter().filter(|a| a.supports_shape(gpu, s)) {
            let dx = output(gpu, "dx", &s.x_shape()).map_err(gpu_err)?;
            let ops = conv::conv2d_backward_input_with_algo(gpu, "conv.dx", s, &dy, &w, &dx, algo).map_err(gpu_err)?;
            let got = run_read(gpu, ops, &dx).await?;
            let what = format!("conv2d_backward_input {algo:?} {s:?}");
            assert_close(&what, &got, &want, ATOL, RTOL)?;
            results.push((algo, 0, got));
        }
        same_bits(&format!("conv2d_backward_input {s:?}"), &results)?;
    }
    Ok(())
}

pub async fn conv2d_backward_weight(gpu: &Gpu) -> CheckResult {
    let algos = algos(gpu);
    for (i, s) in shapes(13).iter().enumerate() {
        let mut r = rng(300 + i as u64);
        let (x, hx) = random(gpu, &mut r, "x", &s.x_shape()).map_err(gpu_err)?;
        let (dy, hdy) = random(gpu, &mut r, "dy", &s.y_shape()).map_err(gpu_err)?;
        let want = cpu::conv::conv2d_backward_weight(s, &hx, &hdy);
        let mut results = Vec::new();
        for &algo in &algos {
            let dw = output(gpu, "dw", &s.w_shape()).map_err(gpu_err)?;
            let ops = conv::conv2d_backward_weight_with_algo(gpu, "conv.dw", s, &x, &dy, &dw, algo).map_err(gpu_err)?;
            gpu.run(&ops.iter().collect::<Vec<_>>()).map_err(gpu_err)?;
            let got = gpu.read(&dw).await.map_err(gpu_err)?;
            assert_close(
                &format!("conv2d_backward_weight {algo:?} {s:?} ({} ops)", ops.len()),
                &got,
                &want,
                ATOL,
                RTOL,
            )?;
            let rows_per = conv::backward_weight_rows_per(gpu, s, algo).map_err(gpu_err)?;
            results.push((algo, rows_per, got));
        }
        same_bits(&format!("conv2d_backward_weight {s:?}"), &results)?;
    }
    Ok(())
}

/// Backward-input on 4 x 2048 x 2048 input pixels = 65,536 workgroups of 64 4-pixel tiles:
/// the grid folds into z. 1x1 conv, one channel each way, so every thread does one MAC per pixel.
pub async fn conv2d_backward_large_grid(gpu: &Gpu) -> CheckResult {
    let s = shape([4, 1, 2048, 2048, 1, 1, 1, 0]);
    let mut r = rng(401);
    let (dy, hdy) = random(gpu, &mut r, "dy", &s.y_shape()).map_err(gpu_err)?;
    let (w, hw) = random(gpu, &mut r, "w", &s.w_shape()).map_err(gpu_err)?;
    let want = cpu::conv::conv2d_backward_input(&s, &hdy, &hw);
    for algo in algos(gpu).into_iter().filter(|a| a.supports_shape(gpu, &s)) {
        let dx = output(gpu, "dx", &s.x_shape()).map_err(gpu_err)?;
        let ops = conv::conv2d_backward_input_with_algo(gpu, "conv.dx.big", &s, &dy, &w, &dx, algo).map_err(gpu_err)?;
        let groups = ops.last().map(|o| o.groups).unwrap_or_default();
        if groups[0] as u64 * groups[2] as u64 <= 65_535 {
            return Err(format!("large-grid case only has grid {groups:?}"));
        }
        let got = run_read(gpu, ops, &dx).await?;
        assert_close(
            &format!("conv2d_backward_input {algo:?} large grid"),
            &got,
            &want,
            1e-6,
            1e-6,
        )?;
    }
    Ok(())
}

/// 4 x 2048 x 2048 output pixels = 65,536 workgroups of 64 4-pixel tiles (Tiled: 262,144 64-pixel
/// tiles): the grid folds into z. A 1x1 conv with one channel keeps the per-thread work tiny.
pub async fn conv2d_large_grid(gpu: &Gpu) -> CheckResult {
    let s = shape([4, 1, 2048, 2048, 1, 1, 1, 0]);
    let mut r = rng(400);
    let (x, hx) = random(gpu, &mut r, "x", &s.x_shape()).map_err(gpu_err)?;
    let (w, hw) = random(gpu, &mut r, "w", &s.w_shape()).map_err(gpu_err)?;
    let (b, hb) = random(gpu, &mut r, "b", &[1]).map_err(gpu_err)?;
    let want = cpu::conv::conv2d_forward(&s, &hx, &hw, &hb);
    for algo in [ConvAlgo::Auto, ConvAlgo::Tiled] {
        let y = output(gpu, "y", &s.y_shape()).map_err(gpu_err)?;
        let ops = conv::conv2d_forward(gpu, "conv.big", &s, algo, &x, &w, &b, &y).map_err(gpu_err)?;
        let groups = ops.last().map(|o| o.groups).unwrap_or_default();
        if groups[0] as u64 * groups[2] as u64 <= 65_535 {
            return Err(format!("{algo:?} large-grid case only has grid {groups:?}"));
        }
        let got = run_read(gpu, ops, &y).await?;
        assert_close(&format!("conv2d_forward {algo:?} large grid"), &got, &want, 1e-6, 1e-6)?;
    }
    Ok(())
}

/// Mismatched tensors and impossible shapes are errors, not wrong answers.
pub async fn conv2d_shape_errors(gpu: &Gpu) -> CheckResult {
    let s = shape([2, 3, 6, 6, 4, 3, 1, 1]);
    let t = |dims: &[usize]| gpu.tensor("t", dims).map_err(gpu_err);
    let (x, w, b, y) = (t(&s.x_shape())?, t(&s.w_shape())?, t(&[4])?, t(&s.y_shape())?);
    let (x_bad, w_bad, b_bad, y_bad) = (t(&[2, 3, 6, 5])?, t(&[4, 2, 3, 3])?, t(&[5])?, t(&[2, 4, 5, 6])?);
    let f = |x: &Tensor, w: &Tensor, b: &Tensor, y: &Tensor| {
        conv::conv2d_forward(gpu, "f", &s, ConvAlgo::Direct, x, w, b, y).is_err()
    };
    let bad = [
        ("forward x", f(&x_bad, &w, &b, &y)),
        ("forward w", f(&x, &w_bad, &b, &y)),
        ("forward b", f(&x, &w, &b_bad, &y)),
        ("forward y", f(&x, &w, &b, &y_bad)),
        (
            "backward_input dy",
            conv::conv2d_backward_input(gpu, "bi", &s, &y_bad, &w, &x).is_err(),
        ),
        (
            "backward_input dx",
            conv::conv2d_backward_input(gpu, "bi", &s, &y, &w, &x_bad).is_err(),
        ),
        (
            "backward_weight dw",
            conv::conv2d_backward_weight(gpu, "bw", &s, &x, &y, &w_bad).is_err(),
        ),
        (
            "backward_weight x",
            conv::conv2d_backward_weight(gpu, "bw", &s, &x_bad, &y, &w).is_err(),
        ),
        (
            "kernel > padded input",
            shape([1, 1, 2, 2, 1, 5, 1, 1]).validate().is_err(),
        ),
        ("stride 0", shape([1, 1, 4, 4, 1, 1, 0, 0]).validate().is_err()),
        ("zero channels", shape([1, 0, 4, 4, 1, 1, 1, 0]).validate().is_err()),
    ];
    if let Some((what, _)) = bad.iter().find(|(_, err)| !err) {
        return Err(format!("conv2d accepted a bad shape: {what}"));
    }
    if conv::conv2d_forward(gpu, "f", &s, ConvAlgo::Direct, &x, &w, &b, &y).is_err() {
        return Err("conv2d_forward rejected a good shape".into());
    }
    Ok(())
}

/// The Vec4 kernel on 8 x 2048 x 2048 pixels (8M quads in 4M two-quad groups, 65,536
/// workgroups of 64): its grid folds into z. One channel each way keeps the work small.
pub async fn conv2d_vec4_large_grid(gpu: &Gpu) -> CheckResult {
    let s = shape([8, 1, 2048, 2048, 1, 3, 1, 1]);
    if !ConvAlgo::Vec4.supports_shape(gpu, &s) {
        return Ok(());
    }
    let mut r = rng(402);
    let (x, hx) = random(gpu, &mut r, "x", &s.x_shape()).map_err(gpu_err)?;
    let (w, hw) = random(gpu, &mut r, "w", &s.w_shape()).map_err(gpu_err)?;
    let (b, hb) = random(gpu, &mut r, "b", &[1]).map_err(gpu_err)?;
    let y = output(gpu, "y", &s.y_shape()).map_err(gpu_err)?;
    let ops = conv::conv2d_forward(gpu, "conv.v4.big", &s, ConvAlgo::Vec4, &x, &w, &b, &y).map_err(gpu_err)?;
    let groups = ops.last().map(|o| o.groups).unwrap_or_default();
    if groups[0] as u64 * groups[2] as u64 <= 65_535 {
        return Err(format!("Vec4 large-grid case only has grid {groups:?}"));
    }
    let got = run_read(gpu, ops, &y).await?;
    let want = cpu::conv::conv2d_forward(&s, &hx, &hw, &hb);
    assert_close("conv2d_forward Vec4 large grid", &got, &want, 1e-5, 1e-5)
}
