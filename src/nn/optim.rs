//! Optimizer steps, one op per parameter tensor; hyper-parameters live in the
//! op's uniform so a schedule changes them per step with `Op::set_params`.

use crate::error::Result;
use crate::gpu::{elementwise, grid_1d, Gpu, Kernel, Op, Tensor};
use crate::shape_err;

pub use crate::spec::optim::{AdamParams, SgdParams};

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
    let (kernel, grid) = elementwise(n, Kernel::SgdStep, Kernel::SgdStepVec4);
    gpu.op(kernel, label, &[grad.bind(), param.bind(), buf.bind()], &p, grid)
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
    let bufs = [grad.bind(), param.bind(), m.bind(), v.bind(), vmax.bind()];
    gpu.op(Kernel::AdamStep, label, &bufs, &p, grid_1d(n, 256))
}

/// Update an `adam_step` op's uniform for the next step (recomputes the bias
/// corrections; keeps `hp.n` as given, which must be the op's n).
pub fn adam_set(gpu: &Gpu, op: &Op, hp: &AdamParams) {
    op.set_params(gpu, &hp.prepared());
}
