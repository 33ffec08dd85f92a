//! The DNN's parameters on the GPU: values, gradients and SGD momenta, and the optimizer ops.
//! The trainable parameters live in three shared buffers with one layout (`Gpu::tensor_group`),
//! so one SGD dispatch updates all of them: the same per-element arithmetic as one op per
//! parameter, hence the same bits, with one dispatch instead of one per tensor (VGG-16 has 45).
//! The zero padding between parts stays zero (its gradient and momentum are zero). Parameters
//! that exceed one binding (max_storage_buffer_binding_size) take one buffer per binding-sized
//! run, and a tensor too large for a binding by itself keeps its own buffers and op.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor, TensorGroup};
use crate::models::config::ModelConfig;
use crate::models::params::{init_params, param_specs, ParamSpec};
use crate::nn::optim::{sgd_step, SgdParams};
use crate::nn::program::Arena;
use crate::spec::optim::SgdConfig;

/// A parameter on the GPU with its gradient and SGD momentum buffer.
pub struct GpuParam {
    pub spec: ParamSpec,
    pub value: Tensor,
    pub grad: Tensor,
    pub momentum: Tensor,
}

/// The trainable parameters' shared buffers, each as one flat tensor (parts in spec order).
pub(crate) struct ParamGroups {
    values: Tensor,
    grads: Tensor,
    momenta: Tensor,
}

pub(crate) fn sgd_params(n: usize, c: &SgdConfig) -> SgdParams {
    SgdParams {
        n: n as u32,
        lr: c.lr,
        momentum: c.momentum,
        weight_decay: c.weight_decay,
    }
}

/// The parameters with their optimizer layout: the trainable ones in shared buffers where
/// they fit (`groups`), any left over (`loose`, indices into `params`) in their own.
pub(crate) struct Params {
    pub params: Vec<GpuParam>,
    pub groups: Vec<ParamGroups>,
    pub loose: Vec<usize>,
}

/// Every parameter with its paper init from `seed`, gradient and momentum buffer. The trainable
/// ones go, in spec order, into as few shared buffers as the binding limit allows (one on most
/// GPUs; VGG-16's 138 MB take two on lavapipe's 128 MiB); a tensor too large for a binding by
/// itself keeps its own buffers.
pub(crate) fn alloc_params(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Params> {
    let specs = param_specs(cfg)?;
    let values = init_params(&specs, seed);
    let trainable: Vec<usize> = (0..specs.len()).filter(|&i| specs[i].trainable).collect();
    let mut shared: Vec<Option<[Tensor; 3]>> = vec![None; specs.len()];
    let mut groups = Vec::new();
    let shapes: Vec<&[usize]> = trainable.iter().map(|&i| &specs[i].shape[..]).collect();
    for run in gpu.binding_runs(&shapes) {
        let chunk: Vec<usize> = run.iter().map(|&k| trainable[k]).collect();
        let chunk_specs: Vec<&ParamSpec> = chunk.iter().map(|&i| &specs[i]).collect();
        match trainable_groups(gpu, &chunk_specs) {
            Ok((g, [v, gr, m])) => {
                let parts = v.parts.into_iter().zip(gr.parts).zip(m.parts);
                for (&i, ((v, gr), m)) in chunk.iter().zip(parts) {
                    shared[i] = Some([v, gr, m]);
                }
                groups.push(g);
            }
            Err(Error::TooLarge { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let loose = trainable.iter().copied().filter(|&i| shared[i].is_none()).collect();
    let mut params = Vec::with_capacity(specs.len());
    for ((spec, v), slot) in specs.into_iter().zip(values).zip(shared) {
        let [value, grad, momentum] = match slot {
            Some(t) => t,
            None => [
                gpu.tensor(&spec.name, &spec.shape)?,
                gpu.tensor(&format!("{}.grad", spec.name), &spec.shape)?,
                gpu.tensor(&format!("{}.momentum", spec.name), &spec.shape)?,
            ],
        };
        gpu.write(&value, &v)?;
        params.push(GpuParam {
            spec,
            value,
            grad,
            momentum,
        });
    }
    Ok(Params { params, groups, loose })
}

/// The three shared buffers of `specs` (values, gradients, momenta), with their parts.
fn trainable_groups(gpu: &Gpu, specs: &[&ParamSpec]) -> Result<(ParamGroups, [TensorGroup; 3])> {
    let members: Vec<(&str, &[usize])> = specs.iter().map(|s| (s.name.as_str(), &s.shape[..])).collect();
    let v = gpu.tensor_group_suffixed("params", &members, "")?;
    let g = gpu.tensor_group_suffixed("params.grad", &members, ".grad")?;
    let m = gpu.tensor_group_suffixed("params.momentum", &members, ".momentum")?;
    let groups = ParamGroups {
        values: v.whole.clone(),
        grads: g.whole.clone(),
        momenta: m.whole.clone(),
    };
    Ok((groups, [v, g, m]))
}

/// The SGD ops, pushed to `arena`: one per shared buffer and one per loose parameter.
/// Returns (op index, elements updated) for each.
pub(crate) fn sgd_ops(gpu: &Gpu, arena: &mut Arena, p: &Params, sgd: &SgdConfig) -> Result<Vec<(usize, usize)>> {
    let mut update = Vec::new();
    let mut push = |label: &str, [value, grad, momentum]: [&Tensor; 3]| -> Result<()> {
        let n = value.len();
        let op = sgd_step(gpu, label, n, &sgd_params(n, sgd), value, grad, momentum)?;
        arena.ops.push(op);
        update.push((arena.ops.len() - 1, n));
        Ok(())
    };
    for (k, g) in p.groups.iter().enumerate() {
        push(&format!("params.{k}.sgd"), [&g.values, &g.grads, &g.momenta])?;
    }
    for q in p.loose.iter().map(|&i| &p.params[i]) {
        push(&format!("{}.sgd", q.spec.name), [&q.value, &q.grad, &q.momentum])?;
    }
    Ok(update)
}
