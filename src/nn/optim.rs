//! Optimizer steps, one op per parameter tensor; hyper-parameters live in the
//! op's uniform so a schedule changes them per step with `Op::set_params`.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::shape_err;

/// PyTorch SGD hyper-parameters (mirrors `sgd_step.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct SgdParams {
    pub n: u32,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// PyTorch Adam hyper-parameters (mirrors `adam_step.wgsl`). `step_size` and
/// `bc2_sqrt` derive from `step`, `lr` and the betas: call `prepared()` after
/// changing those (the builder and `adam_set` do).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct AdamParams {
    pub n: u32,
    /// 1-based step count.
    pub step: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub amsgrad: u32,
    pub clamp_max: f32,
    pub use_clamp: u32,
    /// lr / (1 - beta1^step).
    pub step_size: f32,
    /// sqrt(1 - beta2^step).
    pub bc2_sqrt: f32,
}

impl AdamParams {
    /// The paper's fine-tuning setting: betas (0.9, 0.999), eps 1e-8, AMSGrad,
    /// no weight decay, no clamp, step 1.
    pub fn new(n: u32, lr: f32) -> Self {
        AdamParams {
            n,
            step: 1,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: 1,
            clamp_max: 0.0,
            use_clamp: 0,
            step_size: 0.0,
            bc2_sqrt: 0.0,
        }
        .prepared()
    }

    /// Recompute the bias corrections (in f64, as PyTorch does in Python floats).
    pub fn prepared(self) -> Self {
        let t = self.step.max(1) as i32;
        let bc1 = 1.0 - (self.beta1 as f64).powi(t);
        let bc2 = 1.0 - (self.beta2 as f64).powi(t);
        AdamParams {
            step_size: (self.lr as f64 / bc1) as f32,
            bc2_sqrt: bc2.sqrt() as f32,
            ..self
        }
    }
}

fn check_tensors(label: &str, n: usize, ts: &[&Tensor]) -> Result<()> {
    if n == 0 || n > u32::MAX as usize {
        return Err(shape_err!("{label}: optimizer over {n} elements"));
    }
    for x in ts {
        if x.len() != n {
            return Err(shape_err!(
                "{label}: `{}` has {} elements ({:?}), expected {n}",
                x.label,
                x.len(),
                x.shape
            ));
        }
    }
    Ok(())
}

/// One SGD step on `param` [n] with `grad` [n] and momentum `buf` [n] (starts
/// at 0). `hp.n` is set to `n`.
pub fn sgd_step(
    gpu: &Gpu,
    label: &str,
    n: usize,
    hp: &SgdParams,
    param: &Tensor,
    grad: &Tensor,
    buf: &Tensor,
) -> Result<Op> {
    check_tensors(label, n, &[param, grad, buf])?;
    let p = SgdParams { n: n as u32, ..*hp };
    gpu.op(
        Kernel::SgdStep,
        label,
        &[&grad.buffer, &param.buffer, &buf.buffer],
        &p,
        grid_1d(n, 256),
    )
}

/// One Adam step on `param` [n] with `grad`, moments `m`, `v` and the AMSGrad
/// max `vmax` (all [n], starting at 0). `hp.n` is set to `n`; `hp.step` >= 1.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    gpu: &Gpu,
    label: &str,
    n: usize,
    hp: &AdamParams,
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: &Tensor,
) -> Result<Op> {
    check_tensors(label, n, &[param, grad, m, v, vmax])?;
    if hp.step == 0 {
        return Err(shape_err!("{label}: Adam steps count from 1"));
    }
    let p = AdamParams { n: n as u32, ..*hp }.prepared();
    let bufs = [
        &grad.buffer,
        &param.buffer,
        &m.buffer,
        &v.buffer,
        &vmax.buffer,
    ];
    gpu.op(Kernel::AdamStep, label, &bufs, &p, grid_1d(n, 256))
}

/// Update an `adam_step` op's uniform for the next step (recomputes the bias
/// corrections; keeps `hp.n` as given, which must be the op's n).
pub fn adam_set(gpu: &Gpu, op: &Op, hp: &AdamParams) {
    op.set_params(gpu, &hp.prepared());
}
