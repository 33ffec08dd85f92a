//! The whole backward of a threshold-ReLU or QCFS activation, `dx` and `dmu`, as one fused pass
//! over x and dy (activation_backward_fused.wgsl, or its register-only twin for CPU adapters
//! without subgroups) plus the shared stage-2 reduction. The fused kernel gives the same bits as
//! the unfused sequence it replaces (threshold_relu_backward, then the mu gradient's stage 1),
//! which stays for sizes it cannot take (n % 4 != 0) and as the reference in the checks.

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::nn::activation::{
    check_levels, mu_reduce, qcfs_backward_mu, threshold_relu_backward, threshold_relu_backward_mu_variant,
    QcfsMuParams, MU_PER_GROUP,
};
use crate::nn::conv_select::is_real_gpu;
use crate::nn::linear::check_len;
use crate::shape_err;

/// How the backward runs: the unfused pair, or one fused pass (workgroup tree or register-only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActBackward {
    /// `threshold_relu_backward` + the mu gradient's own stage 1 (any n).
    Unfused,
    /// activation_backward_fused.wgsl (n % 4 == 0).
    Fused,
    /// activation_backward_fused_reg.wgsl (n % 4 == 0).
    FusedReg,
}

/// The ops to record in order (their bind groups keep the partial sums' buffer alive).
pub struct ActGrad {
    pub ops: Vec<Op>,
    /// Which variant the ops run.
    pub variant: ActBackward,
}

/// The variant for `n` elements on this adapter: fused when n % 4 == 0; the workgroup tree on
/// real GPUs (n / 64 threads), register-only on CPU adapters (n / 4096 threads, enough for a
/// CPU). On lavapipe the register-only pass ran 3x faster than the workgroup one, which was no
/// faster than the unfused pair (vgg-small's first activation, 1.6M elements, BENCHMARKS.md).
pub fn choose(gpu: &Gpu, n: usize) -> ActBackward {
    match (n.is_multiple_of(4), is_real_gpu(gpu)) {
        (false, _) => ActBackward::Unfused,
        (true, true) => ActBackward::Fused,
        (true, false) => ActBackward::FusedReg,
    }
}

/// `dx = dy where 0 < x < mu else 0` and `dmu = sum dy * dy/dmu` (both OVERWRITTEN), for threshold
/// ReLU (`levels` None) or QCFS with L = `levels`, in the variant `choose` gives.
#[allow(clippy::too_many_arguments)]
pub fn activation_backward(
    gpu: &Gpu,
    label: &str,
    n: usize,
    levels: Option<u32>,
    [x, mu, dy]: [&Tensor; 3],
    dx: &Tensor,
    dmu: &Tensor,
) -> Result<ActGrad> {
    activation_backward_variant(gpu, label, n, levels, [x, mu, dy], [dx, dmu], choose(gpu, n))
}

/// `activation_backward` in a given variant (all give the same bits; the fused ones need n % 4 == 0).
pub fn activation_backward_variant(
    gpu: &Gpu,
    label: &str,
    n: usize,
    levels: Option<u32>,
    [x, mu, dy]: [&Tensor; 3],
    [dx, dmu]: [&Tensor; 2],
    variant: ActBackward,
) -> Result<ActGrad> {
    if variant == ActBackward::Unfused {
        return unfused(gpu, label, n, levels, [x, mu, dy], [dx, dmu]);
    }
    if n == 0 || !n.is_multiple_of(4) || n > u32::MAX as usize - 256 {
        return Err(shape_err!(
            "{label}: the fused activation backward needs n % 4 == 0 and n < 2^32 - 256, got n={n}"
        ));
    }
    if let Some(l) = levels {
        check_levels(label, l)?;
    }
    for (name, t, len) in [
        ("x", x, n),
        ("mu", mu, 1),
        ("dy", dy, n),
        ("dx", dx, n),
        ("dmu", dmu, 1),
    ] {
        check_len(label, name, t, len)?;
    }
    let groups = n.div_ceil(MU_PER_GROUP);
    // QCFS's mu-gradient uniform; levels 0 selects threshold ReLU's term.
    let p = QcfsMuParams {
        n: n as u32,
        per_group: MU_PER_GROUP as u32,
        groups: groups as u32,
        levels: levels.unwrap_or(0),
    };
    let partial = gpu.tensor(&format!("{label}.partial"), &[groups])?;
    let (kernel, grid) = match variant {
        ActBackward::FusedReg => (Kernel::ActivationBackwardFusedReg, grid_1d(groups, 64)),
        _ => (Kernel::ActivationBackwardFused, grid_1d(groups * 64, 64)),
    };
    let bufs = [x.bind(), mu.bind(), dy.bind(), dx.bind(), partial.bind()];
    let fused = gpu.op(kernel, &format!("{label}.fused"), &bufs, &p, grid)?;
    let reduce = mu_reduce(gpu, label, &partial, dmu)?;
    Ok(ActGrad {
        ops: vec![fused, reduce],
        variant,
    })
}

/// The sequence the fused kernels replace: dx, then the mu gradient's two stages.
fn unfused(
    gpu: &Gpu,
    label: &str,
    n: usize,
    levels: Option<u32>,
    [x, mu, dy]: [&Tensor; 3],
    [dx, dmu]: [&Tensor; 2],
) -> Result<ActGrad> {
    let dx_op = threshold_relu_backward(gpu, &format!("{label}.dx"), n, x, mu, dy, dx)?;
    let mu_label = format!("{label}.dmu");
    let grad = match levels {
        None => {
            let register = !is_real_gpu(gpu) && !gpu.has_subgroups();
            threshold_relu_backward_mu_variant(gpu, &mu_label, n, [x, mu, dy], dmu, register)?
        }
        Some(l) => qcfs_backward_mu(gpu, &mu_label, n, l, x, mu, dy, dmu)?,
    };
    let mut ops = vec![dx_op];
    ops.extend(grad.ops);
    Ok(ActGrad {
        ops,
        variant: ActBackward::Unfused,
    })
}
