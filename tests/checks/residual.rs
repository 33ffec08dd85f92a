use ultraspike::gpu::{Gpu, Kernel};
use ultraspike::{cpu, nn};

use super::{assert_close, expect_kernel, gpu_err, rng, variant, CheckResult};

/// Odd lengths (one beyond 65,535 workgroups of 256: grid folded into y) and multiples
/// of 4 (the vec4 kernel).
pub async fn residual_add(gpu: &Gpu) -> CheckResult {
    for n in [1usize, 1001, 65_535 * 256 + 77, 4, 1000] {
        let mut r = rng(n as u64);
        let a = r.vec_uniform(n, -1.0, 1.0);
        let b = r.vec_uniform(n, -1.0, 1.0);
        let ta = gpu.tensor_from("a", &[n], &a).map_err(gpu_err)?;
        let tb = gpu.tensor_from("b", &[n], &b).map_err(gpu_err)?;
        let ty = gpu.tensor("y", &[n]).map_err(gpu_err)?;
        let op = nn::residual::residual_add(gpu, "add", &ta, &tb, &ty).map_err(gpu_err)?;
        expect_kernel(&op, variant(n, Kernel::ResidualAdd, Kernel::ResidualAddVec4))?;
        gpu.run(&[&op]).map_err(gpu_err)?;
        let got = gpu.read(&ty).await.map_err(gpu_err)?;
        assert_close(
            &format!("residual_add n={n}"),
            &got,
            &cpu::elementwise::residual_add(&a, &b),
            0.0,
            0.0,
        )?;
    }
    Ok(())
}
