//! The SNN's parameters on the GPU (values, gradients, Adam moments) and the Adam ops. For
//! fine-tuning, the trainable parameters of one Adam class (the leaks, clamped to <= 1, and
//! everything else) share five buffers with one layout (`Gpu::tensor_group`, cut into
//! binding-sized runs), so one dispatch per class updates them all: the same per-element
//! arithmetic as one op per tensor, hence the same bits. The padding between parts stays zero
//! (zero gradient and moments keep a zero value). At inference each value has its own buffer
//! and the optimizer state is a [1] placeholder.

use super::net::{SnnOptions, SnnParam};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::models::params::{ParamKind, ParamSpec};
use crate::nn::optim::{adam_step, AdamParams};
use crate::nn::program::Arena;
use crate::spec::NeuronParams;

/// A parameter's five tensors: value, gradient, m, v, vmax.
type Five = [Tensor; 5];

/// One shared run: its five buffers as flat tensors, and whether it holds leaks.
pub(super) struct SharedRun {
    wholes: Five,
    clamp: bool,
}

/// The parameters and their optimizer layout: shared runs, and the trainable parameters left
/// out of them (`loose`, indices into `params`).
pub(super) struct SnnParams {
    pub params: Vec<SnnParam>,
    pub bytes: u64,
    pub runs: Vec<SharedRun>,
    pub loose: Vec<usize>,
}

/// Every parameter with its gradient and Adam moments ([1] placeholders at inference), and
/// their bytes. Weights start at zero; each vth and leak at its neuron's value (a layer's vth
/// comes before its leak).
pub(super) fn alloc_params(
    gpu: &Gpu,
    specs: Vec<ParamSpec>,
    neurons: &[NeuronParams],
    opts: &SnnOptions,
) -> Result<SnnParams> {
    let (mut shared, runs, mut bytes) = match opts.train {
        true => shared_tensors(gpu, &specs)?,
        false => (vec![None; specs.len()], Vec::new(), 0),
    };
    let loose = (0..specs.len())
        .filter(|&i| specs[i].trainable && shared[i].is_none())
        .collect();
    let mut params = Vec::with_capacity(specs.len());
    let mut ni = 0;
    for (i, spec) in specs.into_iter().enumerate() {
        let init: Vec<f32> = if spec.kind == ParamKind::Vth {
            ni += 1;
            vec![neurons[ni - 1].vth]
        } else if spec.kind == ParamKind::Leak {
            vec![neurons[ni - 1].leak]
        } else {
            vec![0.0; spec.shape.iter().product()]
        };
        let [value, grad, m, v, vmax] = match shared[i].take() {
            Some(t) => t,
            None => {
                let state_shape: &[usize] = if opts.train { &spec.shape } else { &[1] };
                let t = |s: &str, shape: &[usize]| gpu.tensor(&format!("{}{s}", spec.name), shape);
                let five = [
                    t("", &spec.shape)?,
                    t(".grad", state_shape)?,
                    t(".m", state_shape)?,
                    t(".v", state_shape)?,
                    t(".vmax", state_shape)?,
                ];
                bytes += five.iter().map(Tensor::bytes).sum::<u64>();
                five
            }
        };
        gpu.write(&value, &init)?;
        params.push(SnnParam {
            spec,
            value,
            grad,
            m,
            v,
            vmax,
        });
    }
    Ok(SnnParams {
        params,
        bytes,
        runs,
        loose,
    })
}

/// Whether a parameter takes the clamped Adam (a leak stays <= 1).
fn clamped(spec: &ParamSpec) -> bool {
    spec.kind == ParamKind::Leak
}

/// The five tensors of every trainable parameter that fits a shared run of its Adam class
/// (None for the others), the runs, and the shared buffers' bytes.
fn shared_tensors(gpu: &Gpu, specs: &[ParamSpec]) -> Result<(Vec<Option<Five>>, Vec<SharedRun>, u64)> {
    let mut shared: Vec<Option<Five>> = vec![None; specs.len()];
    let mut runs = Vec::new();
    let mut bytes = 0u64;
    for class in [false, true] {
        let members: Vec<usize> = (0..specs.len())
            .filter(|&i| specs[i].trainable && clamped(&specs[i]) == class)
            .collect();
        let shapes: Vec<&[usize]> = members.iter().map(|&i| &specs[i].shape[..]).collect();
        for run in gpu.binding_runs(&shapes) {
            let idx: Vec<usize> = run.iter().map(|&k| members[k]).collect();
            let mut groups = Vec::with_capacity(5);
            let members: Vec<(&str, &[usize])> = idx
                .iter()
                .map(|&i| (specs[i].name.as_str(), &specs[i].shape[..]))
                .collect();
            for suffix in ["", ".grad", ".m", ".v", ".vmax"] {
                match gpu.tensor_group_suffixed(&format!("snn.params{suffix}"), &members, suffix) {
                    Ok(g) => groups.push(g),
                    Err(Error::TooLarge { .. }) => break,
                    Err(e) => return Err(e),
                }
            }
            if groups.len() < 5 {
                continue; // a tensor too large for one binding: its own buffers
            }
            bytes += groups.iter().map(|g| g.whole.bytes()).sum::<u64>();
            for (k, &i) in idx.iter().enumerate() {
                let part = |g: usize| groups[g].parts[k].clone();
                shared[i] = Some([part(0), part(1), part(2), part(3), part(4)]);
            }
            let whole = |g: usize| groups[g].whole.clone();
            runs.push(SharedRun {
                wholes: [whole(0), whole(1), whole(2), whole(3), whole(4)],
                clamp: class,
            });
        }
    }
    Ok((shared, runs, bytes))
}

/// Adam settings of `n` elements of a class (step left to the caller).
fn class_params(n: usize, clamp: bool, opts: &SnnOptions) -> AdamParams {
    let mut hp = AdamParams::new(n as u32, opts.lr);
    hp.weight_decay = opts.weight_decay;
    if clamp {
        hp.use_clamp = 1;
        hp.clamp_max = 1.0;
    }
    hp
}

/// The Adam ops, pushed to `arena`: one per shared run, one per loose parameter.
/// Returns (op index, its settings).
pub(super) fn adam_ops(
    gpu: &Gpu,
    arena: &mut Arena,
    p: &SnnParams,
    opts: &SnnOptions,
) -> Result<Vec<(usize, AdamParams)>> {
    let mut update = Vec::new();
    let mut push = |label: &str, [v, g, m, vv, vm]: [&Tensor; 5], clamp: bool| -> Result<()> {
        let hp = class_params(v.len(), clamp, opts);
        arena.ops.push(adam_step(gpu, label, v.len(), &hp, v, g, m, vv, vm)?);
        update.push((arena.ops.len() - 1, hp));
        Ok(())
    };
    for (k, run) in p.runs.iter().enumerate() {
        let [v, g, m, vv, vm] = &run.wholes;
        push(&format!("snn.params.{k}.adam"), [v, g, m, vv, vm], run.clamp)?;
    }
    for q in p.loose.iter().map(|&i| &p.params[i]) {
        let five = [&q.value, &q.grad, &q.m, &q.v, &q.vmax];
        push(&format!("{}.adam", q.spec.name), five, clamped(&q.spec))?;
    }
    Ok(update)
}
