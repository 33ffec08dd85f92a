//! Threshold ReLU `y = clip(x, 0, mu)` with a trainable per-layer `mu` (a
//! 1-element tensor), and its quantized form QCFS (Bu et al. 2022),
//! `y = mu * clamp(floor(x L / mu + 1/2) / L, 0, 1)`, with a straight-through
//! floor, so both share the dx kernel. The gradient w.r.t. mu is a full reduction,
//! done in two deterministic stages (per-workgroup partials, then one final workgroup).

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{elementwise, grid_1d, Gpu, Kernel, Op, Tensor};
use crate::nn::linear::check_len;
use crate::shape_err;
use crate::spec::MAX_QCFS_LEVELS;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct ElemParams {
    pub n: u32,
    pub _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct MuPartialParams {
    pub n: u32,
    pub per_group: u32,
    pub groups: u32,
    pub _pad: u32,
}

/// Uniform of `qcfs_forward`: `levels` is QCFS's L.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct QcfsParams {
    pub n: u32,
    pub levels: u32,
    pub _pad: [u32; 2],
}

/// Uniform of `qcfs_backward_mu` (stage 1).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct QcfsMuParams {
    pub n: u32,
    pub per_group: u32,
    pub groups: u32,
    pub levels: u32,
}

/// Elements summed by one stage-1 workgroup (256 threads x 16).
pub(crate) const MU_PER_GROUP: usize = 4096;

fn check_n(label: &str, n: usize) -> Result<ElemParams> {
    if n == 0 || n > u32::MAX as usize - 256 {
        return Err(shape_err!(
            "{label}: threshold_relu over n={n} elements (must be in 1..2^32-256)"
        ));
    }
    Ok(ElemParams {
        n: n as u32,
        _pad: [0; 3],
    })
}

/// `y = min(max(x, 0), mu)`.
pub fn threshold_relu_forward(gpu: &Gpu, label: &str, n: usize, x: &Tensor, mu: &Tensor, y: &Tensor) -> Result<Op> {
    let p = check_n(label, n)?;
    check_len(label, "x", x, n)?;
    check_len(label, "mu", mu, 1)?;
    check_len(label, "y", y, n)?;
    let bufs = [x.bind(), mu.bind(), y.bind()];
    let (kernel, grid) = elementwise(n, Kernel::ThresholdReluForward, Kernel::ThresholdReluForwardVec4);
    gpu.op(kernel, label, &bufs, &p, grid)
}

/// `dx = dy` where `0 < x < mu`, else 0 (x is the clip's input); OVERWRITES dx.
pub fn threshold_relu_backward(
    gpu: &Gpu,
    label: &str,
    n: usize,
    x: &Tensor,
    mu: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<Op> {
    let p = check_n(label, n)?;
    check_len(label, "x", x, n)?;
    check_len(label, "mu", mu, 1)?;
    check_len(label, "dy", dy, n)?;
    check_len(label, "dx", dx, n)?;
    let bufs = [x.bind(), mu.bind(), dy.bind(), dx.bind()];
    let (kernel, grid) = elementwise(n, Kernel::ThresholdReluBackward, Kernel::ThresholdReluBackwardVec4);
    gpu.op(kernel, label, &bufs, &p, grid)
}

/// The two dispatches of the mu gradient (their bind groups keep the partial sums' buffer alive).
pub struct MuGrad {
    /// Record these in order.
    pub ops: Vec<Op>,
}

/// `dmu = sum dy where x >= mu` into the 1-element `dmu` (OVERWRITTEN). Off real GPUs without
/// subgroups (the page's SwiftShader, which pays dearly for workgroup memory and barriers) stage
/// 1 runs the register-only kernel: the same sums in the same order, 1.6M elements in 25
/// instead of 220 ms there (BENCHMARKS.md).
pub fn threshold_relu_backward_mu(
    gpu: &Gpu,
    label: &str,
    n: usize,
    x: &Tensor,
    mu: &Tensor,
    dy: &Tensor,
    dmu: &Tensor,
) -> Result<MuGrad> {
    let real_gpu = matches!(
        gpu.info.device_type,
        wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
    );
    let register = !real_gpu && !gpu.has_subgroups();
    threshold_relu_backward_mu_variant(gpu, label, n, [x, mu, dy], dmu, register)
}

/// `threshold_relu_backward_mu` with stage 1 chosen: the workgroup tree
/// (threshold_relu_backward_mu.wgsl) or one thread per workgroup (`register`,
/// threshold_relu_backward_mu_reg.wgsl); both give the same bits.
pub fn threshold_relu_backward_mu_variant(
    gpu: &Gpu,
    label: &str,
    n: usize,
    [x, mu, dy]: [&Tensor; 3],
    dmu: &Tensor,
    register: bool,
) -> Result<MuGrad> {
    check_mu_grad(label, n, x, mu, dy, dmu)?;
    let groups = n.div_ceil(MU_PER_GROUP);
    let p = MuPartialParams {
        n: n as u32,
        per_group: MU_PER_GROUP as u32,
        groups: groups as u32,
        _pad: 0,
    };
    let kernel = match register {
        true => Kernel::ThresholdReluBackwardMuReg,
        false => Kernel::ThresholdReluBackwardMu,
    };
    mu_grad(gpu, label, kernel, &p, groups, [x, mu, dy], dmu)
}

pub(crate) fn check_levels(label: &str, levels: u32) -> Result<()> {
    if levels == 0 || levels > MAX_QCFS_LEVELS {
        return Err(shape_err!(
            "{label}: QCFS needs 1..={MAX_QCFS_LEVELS} levels, got {levels}"
        ));
    }
    Ok(())
}

/// QCFS: `y = mu * clamp(floor(x * L / mu + 1/2) / L, 0, 1)` with L = `levels`.
/// Its dx is `threshold_relu_backward` (straight-through floor).
pub fn qcfs_forward(gpu: &Gpu, label: &str, n: usize, levels: u32, x: &Tensor, mu: &Tensor, y: &Tensor) -> Result<Op> {
    let e = check_n(label, n)?;
    check_levels(label, levels)?;
    check_len(label, "x", x, n)?;
    check_len(label, "mu", mu, 1)?;
    check_len(label, "y", y, n)?;
    let p = QcfsParams {
        n: e.n,
        levels,
        _pad: [0; 2],
    };
    let (kernel, grid) = elementwise(n, Kernel::QcfsForward, Kernel::QcfsForwardVec4);
    gpu.op(kernel, label, &[x.bind(), mu.bind(), y.bind()], &p, grid)
}

/// QCFS's mu gradient into the 1-element `dmu` (OVERWRITTEN): `sum dy * (1 where
/// x >= mu, q - x/mu where 0 < x < mu with q the forward's level / L, else 0)`.
#[allow(clippy::too_many_arguments)]
pub fn qcfs_backward_mu(
    gpu: &Gpu,
    label: &str,
    n: usize,
    levels: u32,
    x: &Tensor,
    mu: &Tensor,
    dy: &Tensor,
    dmu: &Tensor,
) -> Result<MuGrad> {
    check_mu_grad(label, n, x, mu, dy, dmu)?;
    check_levels(label, levels)?;
    let groups = n.div_ceil(MU_PER_GROUP);
    let p = QcfsMuParams {
        n: n as u32,
        per_group: MU_PER_GROUP as u32,
        groups: groups as u32,
        levels,
    };
    mu_grad(gpu, label, Kernel::QcfsBackwardMu, &p, groups, [x, mu, dy], dmu)
}

fn check_mu_grad(label: &str, n: usize, x: &Tensor, mu: &Tensor, dy: &Tensor, dmu: &Tensor) -> Result<()> {
    check_n(label, n)?;
    check_len(label, "x", x, n)?;
    check_len(label, "mu", mu, 1)?;
    check_len(label, "dy", dy, n)?;
    check_len(label, "dmu", dmu, 1)
}

/// Stage 1 (`kernel` over x, mu, dy into one partial per workgroup), then the shared
/// stage 2 (`threshold_relu_mu_reduce`) into `dmu`.
fn mu_grad<P: Pod>(
    gpu: &Gpu,
    label: &str,
    kernel: Kernel,
    stage1_params: &P,
    groups: usize,
    [x, mu, dy]: [&Tensor; 3],
    dmu: &Tensor,
) -> Result<MuGrad> {
    let partial = gpu.tensor(&format!("{label}.partial"), &[groups])?;
    let stage1 = gpu.op(
        kernel,
        &format!("{label}.partials"),
        &[x.bind(), mu.bind(), dy.bind(), partial.bind()],
        stage1_params,
        match kernel {
            Kernel::ThresholdReluBackwardMuReg => grid_1d(groups, 64),
            _ => grid_1d(groups * 256, 256),
        },
    )?;
    let stage2 = mu_reduce(gpu, label, &partial, dmu)?;
    Ok(MuGrad {
        ops: vec![stage1, stage2],
    })
}

/// Stage 2 of the mu gradient: `dmu = sum partial` (threshold_relu_mu_reduce, one workgroup).
pub(crate) fn mu_reduce(gpu: &Gpu, label: &str, partial: &Tensor, dmu: &Tensor) -> Result<Op> {
    let p = ElemParams {
        n: partial.len() as u32,
        _pad: [0; 3],
    };
    let bufs = [partial.bind(), dmu.bind()];
    gpu.op(
        Kernel::ThresholdReluMuReduce,
        &format!("{label}.reduce"),
        &bufs,
        &p,
        [1, 1, 1],
    )
}
