use ultraspike::cpu;
use ultraspike::gpu::{Gpu, Kernel};
use ultraspike::nn::optim::{adam_set, adam_step, sgd_step, AdamParams, SgdParams};

use super::{assert_close, expect_kernel, gpu_err, rng, variant, CheckResult};

const BIG_N: usize = 65_535 * 256 + 77;

/// Five SGD steps with a new gradient and learning rate each step (set through
/// the uniform), vs the CPU, on odd sizes and a multiple of 4 (the vec4 kernel).
/// atol 1e-6, rtol 1e-6 (a GPU may fuse multiply-adds).
pub async fn sgd_steps(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for (n, steps) in [(1usize, 5usize), (1003, 5), (BIG_N, 1), (1000, 5)] {
        let mut r = rng(n as u64);
        let mut p = r.vec_uniform(n, -1.0, 1.0);
        let mut buf = vec![0.0; n];
        let tp = gpu.tensor_from("param", &[n], &p).map_err(e)?;
        let tg = gpu.tensor("grad", &[n]).map_err(e)?;
        let tb = gpu.tensor("buf", &[n]).map_err(e)?;
        let mut hp = SgdParams {
            n: n as u32,
            lr: 0.01,
            momentum: 0.95,
            weight_decay: 5e-4,
        };
        let op = sgd_step(gpu, "sgd", n, &hp, &tp, &tg, &tb).map_err(e)?;
        expect_kernel(&op, variant(n, Kernel::SgdStep, Kernel::SgdStepVec4))?;
        for step in 0..steps {
            let g = r.vec_uniform(n, -1.0, 1.0);
            gpu.write(&tg, &g).map_err(e)?;
            hp.lr = 0.01 / (1 + step) as f32;
            op.set_params(gpu, &hp);
            gpu.run(&[&op]).map_err(e)?;
            cpu::optim::sgd_step(&hp, &mut p, &g, &mut buf);
        }
        let what = format!("sgd n={n} steps={steps}");
        assert_close(
            &format!("{what} param"),
            &gpu.read(&tp).await.map_err(e)?,
            &p,
            1e-6,
            1e-6,
        )?;
        assert_close(
            &format!("{what} buf"),
            &gpu.read(&tb).await.map_err(e)?,
            &buf,
            1e-6,
            1e-6,
        )?;
    }
    Ok(())
}

/// Five Adam steps (AMSGrad on and off, weight decay, the leak clamp), vs the
/// CPU. atol 1e-6 and rtol 1e-5 (sqrt and division are not correctly rounded
/// on every GPU).
pub async fn adam_steps(gpu: &Gpu) -> CheckResult {
    let e = gpu_err;
    for (n, amsgrad, wd, clamp) in [
        (1usize, 1u32, 0.0f32, true),
        (777, 1, 0.0, false),
        (1001, 0, 1e-2, true),
    ] {
        let mut r = rng(n as u64 + 5);
        let mut p = r.vec_uniform(n, 0.95, 1.05);
        let (mut m, mut v, mut vmax) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let tp = gpu.tensor_from("param", &[n], &p).map_err(e)?;
        let tg = gpu.tensor("grad", &[n]).map_err(e)?;
        let (tm, tv, tx) = (
            gpu.tensor("m", &[n]).map_err(e)?,
            gpu.tensor("v", &[n]).map_err(e)?,
            gpu.tensor("vmax", &[n]).map_err(e)?,
        );
        let mut hp = AdamParams {
            amsgrad,
            weight_decay: wd,
            use_clamp: clamp as u32,
            clamp_max: 1.0,
            ..AdamParams::new(n as u32, 1e-2)
        };
        let op = adam_step(gpu, "adam", n, &hp, &tp, &tg, &tm, &tv, &tx).map_err(e)?;
        for step in 1..=5u32 {
            // Gradients whose size shrinks: AMSGrad keeps the larger early v.
            let g = r
                .vec_uniform(n, -1.0, 1.0)
                .iter()
                .map(|x| x / step as f32)
                .collect::<Vec<_>>();
            gpu.write(&tg, &g).map_err(e)?;
            hp.step = step;
            hp.lr = 1e-2 * (0.9f32).powi(step as i32);
            adam_set(gpu, &op, &hp);
            gpu.run(&[&op]).map_err(e)?;
            cpu::optim::adam_step(&hp.prepared(), &mut p, &g, &mut m, &mut v, &mut vmax);
        }
        let what = format!("adam n={n} amsgrad={amsgrad} wd={wd} clamp={clamp}");
        assert_close(
            &format!("{what} param"),
            &gpu.read(&tp).await.map_err(e)?,
            &p,
            1e-6,
            1e-5,
        )?;
        assert_close(&format!("{what} m"), &gpu.read(&tm).await.map_err(e)?, &m, 1e-7, 1e-5)?;
        assert_close(&format!("{what} v"), &gpu.read(&tv).await.map_err(e)?, &v, 1e-9, 1e-5)?;
        assert_close(
            &format!("{what} vmax"),
            &gpu.read(&tx).await.map_err(e)?,
            &vmax,
            1e-9,
            1e-5,
        )?;
        if clamp && p.iter().any(|&x| x > 1.0) {
            return Err(format!("{what}: reference left a value above the clamp"));
        }
    }
    Ok(())
}
