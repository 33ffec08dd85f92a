use ultraspike::gpu::{Gpu, Kernel};
use ultraspike::nn::pool::PoolShape;
use ultraspike::{cpu, nn};

use super::linear::expect_shape_err;
use super::{assert_close, assert_eq_u32, expect_kernel, gpu_err, rng, CheckResult};

fn ps(n: usize, c: usize, h: usize, w: usize, k: usize, stride: usize) -> PoolShape {
    PoolShape { n, c, h, w, k, stride }
}

/// Odd maps with unreachable trailing rows, overlapping windows (k=3, s=2; k=3, s=1),
/// the usual 2x2/2 (even out_w: pairs of outputs; odd out_w, as VGG's 14x14 -> 7x7: one
/// output a thread; a non-square map; odd h with even w, whose forward skips the last row),
/// a non-square map and global pooling.
fn shapes() -> Vec<PoolShape> {
    vec![
        ps(2, 3, 7, 9, 2, 2),
        ps(1, 2, 9, 8, 3, 2),
        ps(2, 3, 5, 5, 3, 1),
        ps(3, 4, 8, 8, 2, 2),
        ps(1, 1, 4, 7, 4, 3),
        PoolShape::global(2, 5, 7, 7),
        ps(2, 3, 28, 28, 2, 2),
        ps(3, 2, 14, 14, 2, 2),
        ps(2, 3, 6, 10, 2, 2),
        ps(2, 3, 7, 8, 2, 2),
        ps(1, 2, 5, 6, 2, 2),
    ]
}

/// The forward kernel the builder must pick: the 2x2 forms on maps of even width.
fn forward_kernel(s: &PoolShape) -> Kernel {
    match (s.k == 2 && s.stride == 2, s.w % 4) {
        (true, 0) => Kernel::MaxPool2dForward2x2,
        (true, 2) => Kernel::MaxPool2dForward2x2Single,
        _ => Kernel::MaxPool2dForward,
    }
}

/// The backward kernel the builder must pick: the 2x2 forms where 2x2 windows of stride 2
/// tile the map, the gather form elsewhere.
fn backward_kernel(s: &PoolShape) -> Kernel {
    match (
        s.k == 2 && s.stride == 2 && s.h.is_multiple_of(2) && s.w.is_multiple_of(2),
        s.out_w().is_multiple_of(2),
    ) {
        (true, true) => Kernel::MaxPool2dBackward2x2,
        (true, false) => Kernel::MaxPool2dBackward2x2Single,
        (false, _) => Kernel::MaxPool2dBackward,
    }
}

/// Uniform in [-1, 1] with every 5th value -0.0: the CPU's `0.0 + dy` makes it +0.0.
fn grads(r: &mut ultraspike::util::rng::Rng, n: usize) -> Vec<f32> {
    let mut dy = r.vec_uniform(n, -1.0, 1.0);
    dy.iter_mut().step_by(5).for_each(|v| *v = -0.0);
    dy
}

/// Forward (y and argmax) and backward of max pooling on `x`, against the CPU.
async fn maxpool_case(gpu: &Gpu, s: &PoolShape, x: &[f32], dy: &[f32]) -> CheckResult {
    let tag = format!("{s:?}");
    let tx = gpu.tensor_from("x", &[s.n, s.c, s.h, s.w], x).map_err(gpu_err)?;
    let out = [s.n, s.c, s.out_h(), s.out_w()];
    let ty = gpu.tensor("y", &out).map_err(gpu_err)?;
    let targ = gpu.tensor("argmax", &out).map_err(gpu_err)?;
    let tdy = gpu.tensor_from("dy", &out, dy).map_err(gpu_err)?;
    let tdx = gpu
        .tensor_from("dx", &[s.in_len()], &vec![7.0; s.in_len()])
        .map_err(gpu_err)?;
    let f = nn::pool::maxpool2d_forward(gpu, "mp", s, &tx, &ty, &targ).map_err(gpu_err)?;
    let b = nn::pool::maxpool2d_backward(gpu, "mp.dx", s, &tdy, &targ, &tdx).map_err(gpu_err)?;
    expect_kernel(&f, forward_kernel(s))?;
    expect_kernel(&b, backward_kernel(s))?;
    gpu.run(&[&f, &b]).map_err(gpu_err)?;
    let (want_y, want_arg) = cpu::pool::maxpool2d_forward(s, x);
    assert_close(
        &format!("maxpool2d_forward y {tag}"),
        &gpu.read(&ty).await.map_err(gpu_err)?,
        &want_y,
        0.0,
        0.0,
    )?;
    assert_eq_u32(
        &format!("maxpool2d_forward argmax {tag}"),
        &gpu.read_u32(&targ).await.map_err(gpu_err)?,
        &want_arg,
    )?;
    // Exact: every kernel sums an input's windows in the CPU's (row-major output) order.
    let want_dx = cpu::pool::maxpool2d_backward(s, dy, &want_arg);
    assert_close(
        &format!("maxpool2d_backward {tag}"),
        &gpu.read(&tdx).await.map_err(gpu_err)?,
        &want_dx,
        0.0,
        0.0,
    )
}

pub async fn maxpool2d(gpu: &Gpu) -> CheckResult {
    for (si, s) in shapes().iter().enumerate() {
        let mut r = rng(200 + si as u64);
        let x = r.vec_uniform(s.in_len(), -1.0, 1.0);
        let dy = grads(&mut r, s.out_len());
        maxpool_case(gpu, s, &x, &dy).await?;
    }
    Ok(())
}

/// Binary 0/1 maps (spikes): ties everywhere, so argmax must follow the
/// first-max rule exactly; overlapping windows then share inputs in backward.
pub async fn maxpool2d_ties(gpu: &Gpu) -> CheckResult {
    for (si, s) in shapes().iter().enumerate() {
        let mut r = rng(300 + si as u64);
        let x: Vec<f32> = (0..s.in_len())
            .map(|_| if r.uniform() < 0.4 { 1.0 } else { 0.0 })
            .collect();
        let dy = grads(&mut r, s.out_len());
        maxpool_case(gpu, s, &x, &dy).await?;
    }
    // An all-zero map: every window picks its top-left element.
    let s = ps(1, 1, 5, 5, 3, 2);
    let (_, arg) = cpu::pool::maxpool2d_forward(&s, &[0.0; 25]);
    assert_eq_u32("cpu first-max on zeros", &arg, &[0, 2, 10, 12])?;
    maxpool_case(gpu, &s, &[0.0; 25], &[1.0, 2.0, 3.0, 4.0]).await
}

pub async fn avgpool2d(gpu: &Gpu) -> CheckResult {
    let mut all = shapes();
    all.push(PoolShape::global(3, 2, 4, 4));
    for (si, s) in all.iter().enumerate() {
        let mut r = rng(400 + si as u64);
        let x = r.vec_uniform(s.in_len(), -1.0, 1.0);
        let dy = r.vec_uniform(s.out_len(), -1.0, 1.0);
        let out = [s.n, s.c, s.out_h(), s.out_w()];
        let tx = gpu.tensor_from("x", &[s.n, s.c, s.h, s.w], &x).map_err(gpu_err)?;
        let ty = gpu.tensor("y", &out).map_err(gpu_err)?;
        let tdy = gpu.tensor_from("dy", &out, &dy).map_err(gpu_err)?;
        let tdx = gpu
            .tensor_from("dx", &[s.in_len()], &vec![7.0; s.in_len()])
            .map_err(gpu_err)?;
        let f = nn::pool::avgpool2d_forward(gpu, "ap", s, &tx, &ty).map_err(gpu_err)?;
        let b = nn::pool::avgpool2d_backward(gpu, "ap.dx", s, &tdy, &tdx).map_err(gpu_err)?;
        gpu.run(&[&f, &b]).map_err(gpu_err)?;
        let tag = format!("{s:?}");
        let want = cpu::pool::avgpool2d_forward(s, &x);
        assert_close(
            &format!("avgpool2d_forward {tag}"),
            &gpu.read(&ty).await.map_err(gpu_err)?,
            &want,
            1e-6,
            1e-5,
        )?;
        let want = cpu::pool::avgpool2d_backward(s, &dy);
        assert_close(
            &format!("avgpool2d_backward {tag}"),
            &gpu.read(&tdx).await.map_err(gpu_err)?,
            &want,
            1e-6,
            1e-5,
        )?;
    }
    // Global pooling is the plane mean.
    let s = PoolShape::global(1, 2, 3, 3);
    let x: Vec<f32> = (0..18).map(|v| v as f32).collect();
    assert_close(
        "cpu global avg",
        &cpu::pool::avgpool2d_forward(&s, &x),
        &[4.0, 13.0],
        1e-6,
        0.0,
    )
}

pub async fn pool_shape_errors(gpu: &Gpu) -> CheckResult {
    let s = ps(1, 2, 4, 4, 2, 2);
    let t = |n: usize| gpu.tensor("t", &[n]).map_err(gpu_err);
    let (x, y, a) = (t(32)?, t(8)?, t(8)?);
    let bad = t(9)?;
    use nn::pool::*;
    expect_shape_err("maxpool fwd: bad y", maxpool2d_forward(gpu, "p", &s, &x, &bad, &a))?;
    expect_shape_err("maxpool fwd: bad argmax", maxpool2d_forward(gpu, "p", &s, &x, &y, &bad))?;
    expect_shape_err("maxpool fwd: bad x", maxpool2d_forward(gpu, "p", &s, &bad, &y, &a))?;
    expect_shape_err("maxpool bwd: bad dx", maxpool2d_backward(gpu, "p", &s, &y, &a, &bad))?;
    expect_shape_err("avgpool fwd: bad y", avgpool2d_forward(gpu, "p", &s, &x, &bad))?;
    expect_shape_err("avgpool bwd: bad dy", avgpool2d_backward(gpu, "p", &s, &bad, &x))?;
    expect_shape_err(
        "window > map",
        avgpool2d_forward(gpu, "p", &ps(1, 2, 4, 4, 5, 1), &x, &y),
    )?;
    expect_shape_err("stride 0", avgpool2d_forward(gpu, "p", &ps(1, 2, 4, 4, 2, 0), &x, &y))?;
    expect_shape_err(
        "non-square global",
        avgpool2d_forward(gpu, "p", &PoolShape::global(1, 2, 4, 8), &t(64)?, &t(2)?),
    )?;
    Ok(())
}
