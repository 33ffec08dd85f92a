use ultraspike::cpu;
use ultraspike::gpu::Gpu;
use ultraspike::nn::loss::softmax_xent;

use super::{assert_close, gpu_err, rng, CheckResult};

/// Mean softmax cross-entropy vs the f64 reference: odd sizes, 1 and 100
/// classes, large logits (stability), tied maxima (first wins), and a short
/// batch (n_valid < n) set after building. Tolerances: dlogits atol 1e-6 +
/// rtol 1e-4; loss sum atol 1e-5 x rows + rtol 1e-5; correct count exact.
pub async fn softmax_xent_vs_cpu(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for (n, classes, n_valid) in [
        (1usize, 1usize, 1usize),
        (7, 10, 7),
        (130, 100, 97),
        (300, 3, 0),
        (513, 10, 300),
    ] {
        let mut r = rng((n * 1000 + classes) as u64);
        let mut logits = r.vec_uniform(n * classes, -8.0, 8.0);
        if n > 1 {
            // Row 0 far from 0 (needs the max subtraction), row 1 with a tie.
            logits[..classes].iter_mut().for_each(|v| *v += 80.0);
            if classes > 2 {
                logits[classes] = 20.0;
                logits[classes + 2] = 20.0;
            }
        }
        let labels: Vec<u32> = (0..n)
            .map(|i| if i == 1 { 2 } else { r.below(classes) as u32 })
            .collect();
        let tl = gpu.tensor_from("logits", &[n, classes], &logits).map_err(e)?;
        let ty = gpu.tensor_from_u32("labels", &[n], &labels).map_err(e)?;
        let td = gpu
            .tensor_from("dlogits", &[n, classes], &vec![5.0; n * classes])
            .map_err(e)?;
        let ts = gpu.tensor("stats", &[2]).map_err(e)?;
        let x = softmax_xent(gpu, "xent", n, classes, &tl, &ty, &td, &ts).map_err(e)?;
        for valid in [n, n_valid] {
            x.set_valid(gpu, valid as u32).map_err(e)?;
            gpu.run(&x.ops.iter().collect::<Vec<_>>()).map_err(e)?;
            let want = cpu::loss::softmax_xent(n, classes, valid, &logits, &labels);
            let what = format!("softmax_xent n={n} classes={classes} n_valid={valid}");
            let got = gpu.read(&td).await.map_err(e)?;
            assert_close(&format!("{what} dlogits"), &got, &want.dlogits, 1e-6, 1e-4)?;
            let stats = gpu.read(&ts).await.map_err(e)?;
            let loss = want.loss_sum as f32;
            assert_close(
                &format!("{what} loss sum"),
                &stats[..1],
                &[loss],
                1e-5 * valid as f32,
                1e-5,
            )?;
            assert_close(
                &format!("{what} correct"),
                &stats[1..],
                &[want.correct as f32],
                0.0,
                0.0,
            )?;
        }
    }
    Ok(())
}

/// Shape errors are reported, not panics; n_valid > n is refused.
pub async fn softmax_xent_errors(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    let tl = gpu.tensor("logits", &[4, 3]).map_err(e)?;
    let ty = gpu.tensor("labels", &[4]).map_err(e)?;
    let td = gpu.tensor("dlogits", &[4, 3]).map_err(e)?;
    let ts = gpu.tensor("stats", &[2]).map_err(e)?;
    if softmax_xent(gpu, "bad", 4, 4, &tl, &ty, &td, &ts).is_ok() {
        return Err("softmax_xent accepted 4x4 logits of 12 elements".into());
    }
    let x = softmax_xent(gpu, "ok", 4, 3, &tl, &ty, &td, &ts).map_err(e)?;
    if x.set_valid(gpu, 5).is_ok() {
        return Err("set_valid accepted 5 valid rows of 4".into());
    }
    Ok(())
}
