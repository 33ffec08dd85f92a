//! IF / LIF neuron layer (paper sections 2, 5, 8): `if_forward` runs the T
//! steps of every neuron in one dispatch (one thread per neuron, looping over
//! t); `if_backward` is its BPTT with a surrogate spike gradient, plus the
//! deterministic reductions of the threshold and leak gradients. The maths is
//! in the headers of `shaders/if_forward.wgsl` and `shaders/if_backward.wgsl`.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Op, Tensor};
use crate::nn::reduce::reduce_sum;
use crate::shape_err;

pub use crate::spec::neuron::{IfConfig, Surrogate, FAST_SIGMOID_K};

/// Uniform of `if_forward` / `if_backward` (mirrors their `Params`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct IfParams {
    pub n: u32,
    pub t: u32,
    pub in_stride_t: u32,
    pub save_trace: u32,
    pub beta: f32,
    pub shift: f32,
    pub out_scale: f32,
    pub surrogate: u32,
    /// if_forward counts the spikes of neurons `i < count_n` only (see `COUNT_LIMIT_WORD`).
    pub count_n: u32,
    /// The initial membrane u(0) as a fraction of vth.
    pub init: f32,
    pub _pad: [u32; 2],
}

/// Index of `count_n` among the 32-bit words of `IfParams`: `Op::set_param_word`
/// sets it to valid images x neurons per image for a partial batch.
pub const IF_COUNT_LIMIT_WORD: usize = 8;

/// Ops of one IF layer's backward, in order: the BPTT kernel, then the two
/// reductions of the per-workgroup partial sums into `dvth` and `dleak`.
pub struct IfBackward {
    pub ops: Vec<Op>,
    /// Partial sums and reduction scratch, kept alive with the ops.
    _scratch: Vec<Tensor>,
}

fn params(t: usize, n: usize, in_stride_t: usize, cfg: &IfConfig, surrogate: Surrogate) -> IfParams {
    IfParams {
        n: n as u32,
        t: t as u32,
        in_stride_t: in_stride_t as u32,
        save_trace: cfg.save_trace as u32,
        beta: cfg.beta,
        shift: cfg.shift,
        out_scale: cfg.out_scale,
        surrogate: surrogate.code(),
        count_n: n as u32,
        init: cfg.init,
        _pad: [0; 2],
    }
}

fn check_len(label: &str, what: &Tensor, want: usize) -> Result<()> {
    if what.len() != want {
        return Err(shape_err!(
            "{label}: `{}` has {} elements ({:?}), expected {want}",
            what.label,
            what.len(),
            what.shape
        ));
    }
    Ok(())
}

fn check_sizes(label: &str, t: usize, n: usize) -> Result<()> {
    if t == 0 || n == 0 {
        return Err(shape_err!(
            "{label}: IF layer needs T >= 1 and n >= 1 (got T={t}, n={n})"
        ));
    }
    if t.checked_mul(n).is_none_or(|tn| tn > u32::MAX as usize) {
        return Err(shape_err!("{label}: T*n = {t}*{n} does not fit 32-bit indexing"));
    }
    Ok(())
}

/// Forward of T steps. `input` is [T, n] (t-major) or one constant current
/// [n] reused at every step (told apart by its length); `out` [T, n];
/// `u_trace` [T, n] when `cfg.save_trace`, else any tensor (bound, unwritten);
/// `vth`, `leak` [1]; `spike_count` u32 [>= 1], accumulated, never cleared
/// (all n neurons count until `IF_COUNT_LIMIT_WORD` is set lower).
#[allow(clippy::too_many_arguments)]
pub fn if_forward(
    gpu: &Gpu,
    label: &str,
    t: usize,
    n: usize,
    cfg: &IfConfig,
    input: &Tensor,
    vth: &Tensor,
    leak: &Tensor,
    out: &Tensor,
    u_trace: &Tensor,
    spike_count: &Tensor,
) -> Result<Op> {
    check_sizes(label, t, n)?;
    let stride = if input.len() == t * n {
        n
    } else if input.len() == n {
        0
    } else {
        return Err(shape_err!(
            "{label}: input `{}` has {} elements, expected T*n = {} or n = {n}",
            input.label,
            input.len(),
            t * n
        ));
    };
    check_len(label, vth, 1)?;
    check_len(label, leak, 1)?;
    check_len(label, out, t * n)?;
    if cfg.save_trace {
        check_len(label, u_trace, t * n)?;
    }
    if spike_count.is_empty() {
        return Err(shape_err!("{label}: spike counter `{}` is empty", spike_count.label));
    }
    let p = params(t, n, stride, cfg, Surrogate::default());
    let bufs = [
        input.bind(),
        vth.bind(),
        leak.bind(),
        out.bind(),
        u_trace.bind(),
        spike_count.bind(),
    ];
    gpu.op(Kernel::IfForward, label, &bufs, &p, grid_1d(n, 256))
}

/// BPTT given `g_out` = dL/dout [T, n] and the forward's `u_trace` [T, n]:
/// overwrites `d_input` [T, n] (per step, also for a constant-current
/// forward: the caller sums over T), `dvth` [1] and `dleak` [1].
#[allow(clippy::too_many_arguments)]
pub fn if_backward(
    gpu: &Gpu,
    label: &str,
    t: usize,
    n: usize,
    cfg: &IfConfig,
    surrogate: Surrogate,
    u_trace: &Tensor,
    vth: &Tensor,
    leak: &Tensor,
    g_out: &Tensor,
    d_input: &Tensor,
    dvth: &Tensor,
    dleak: &Tensor,
) -> Result<IfBackward> {
    check_sizes(label, t, n)?;
    for x in [u_trace, g_out, d_input] {
        check_len(label, x, t * n)?;
    }
    for x in [vth, leak, dvth, dleak] {
        check_len(label, x, 1)?;
    }
    let groups = grid_1d(n, 256);
    let parts = (groups[0] * groups[1]) as usize;
    let part_vth = gpu.tensor(&format!("{label}.part_vth"), &[parts])?;
    let part_leak = gpu.tensor(&format!("{label}.part_leak"), &[parts])?;
    let p = params(t, n, n, cfg, surrogate);
    let bufs = [
        u_trace.bind(),
        vth.bind(),
        leak.bind(),
        g_out.bind(),
        d_input.bind(),
        part_vth.bind(),
        part_leak.bind(),
    ];
    let bptt = gpu.op(Kernel::IfBackward, label, &bufs, &p, groups)?;
    let reduce_vth = reduce_sum(gpu, &format!("{label}.dvth"), parts, &part_vth, dvth)?;
    let reduce_leak = reduce_sum(gpu, &format!("{label}.dleak"), parts, &part_leak, dleak)?;
    let (vth_ops, vth_scratch) = reduce_vth.into_parts();
    let (leak_ops, leak_scratch) = reduce_leak.into_parts();
    let ops = std::iter::once(bptt).chain(vth_ops).chain(leak_ops).collect();
    let mut scratch = vec![part_vth, part_leak];
    scratch.extend(vth_scratch);
    scratch.extend(leak_scratch);
    Ok(IfBackward { ops, _scratch: scratch })
}
