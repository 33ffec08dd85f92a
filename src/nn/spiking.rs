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
    /// The Register kernels only: the threads of their dispatch (if_forward_reg: each runs
    /// `IF_REG_NEURONS` neurons; if_backward_reg: each one 256-neuron group).
    pub threads: u32,
    pub _pad: u32,
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
        threads: 0,
        _pad: 0,
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

/// The buffers of one IF forward: `input` is [T, n] (t-major) or one constant current [n]
/// reused at every step (told apart by its length); `out` [T, n]; `u_trace` [T, n] when
/// `cfg.save_trace`, else any tensor (bound, unwritten); `vth`, `leak` [1]; `spike_count` u32
/// [>= 1], accumulated, never cleared (all n neurons count until `IF_COUNT_LIMIT_WORD` is set
/// lower).
pub struct IfForwardIo<'a> {
    pub input: &'a Tensor,
    pub vth: &'a Tensor,
    pub leak: &'a Tensor,
    pub out: &'a Tensor,
    pub u_trace: &'a Tensor,
    pub spike_count: &'a Tensor,
}

/// The two kernel families of the IF layer, forward and backward; the two give the same bits
/// (forward: the spike count is an integer sum either way; backward: the same reduction tree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfKernel {
    /// if_forward.wgsl (one neuron per thread, one atomic per workgroup) and if_backward.wgsl
    /// (one neuron per thread, a workgroup tree for the partial sums): real GPUs.
    Workgroup,
    /// if_forward_reg.wgsl (16 neurons per thread) and if_backward_reg.wgsl (a thread per
    /// 256-neuron group, its tree in private arrays): no workgroup memory or barriers, which CPU
    /// adapters pay for (SwiftShader with coroutine switches).
    Register,
}

impl IfKernel {
    /// The variant for this adapter.
    pub fn for_adapter(gpu: &Gpu) -> Self {
        if super::conv_select::is_real_gpu(gpu) {
            IfKernel::Workgroup
        } else {
            IfKernel::Register
        }
    }
}

/// Neurons per thread of if_forward_reg.wgsl (its `NEURONS_PER_THREAD`).
const IF_REG_NEURONS: usize = 16;

/// Forward of T steps with the adapter's kernel (`IfKernel::for_adapter`).
pub fn if_forward(gpu: &Gpu, label: &str, (t, n): (usize, usize), cfg: &IfConfig, io: &IfForwardIo) -> Result<Op> {
    if_forward_with(gpu, IfKernel::for_adapter(gpu), label, (t, n), cfg, io)
}

/// Forward of T steps with a given kernel (the checks run both); `(t, n)` the steps and neurons.
pub fn if_forward_with(
    gpu: &Gpu,
    kernel: IfKernel,
    label: &str,
    (t, n): (usize, usize),
    cfg: &IfConfig,
    io: &IfForwardIo,
) -> Result<Op> {
    check_sizes(label, t, n)?;
    let stride = if io.input.len() == t * n {
        n
    } else if io.input.len() == n {
        0
    } else {
        return Err(shape_err!(
            "{label}: input `{}` has {} elements, expected T*n = {} or n = {n}",
            io.input.label,
            io.input.len(),
            t * n
        ));
    };
    check_len(label, io.vth, 1)?;
    check_len(label, io.leak, 1)?;
    check_len(label, io.out, t * n)?;
    if cfg.save_trace {
        check_len(label, io.u_trace, t * n)?;
    }
    if io.spike_count.is_empty() {
        return Err(shape_err!("{label}: spike counter `{}` is empty", io.spike_count.label));
    }
    let mut p = params(t, n, stride, cfg, Surrogate::default());
    let bufs = [
        io.input.bind(),
        io.vth.bind(),
        io.leak.bind(),
        io.out.bind(),
        io.u_trace.bind(),
        io.spike_count.bind(),
    ];
    match kernel {
        IfKernel::Workgroup => gpu.op(Kernel::IfForward, label, &bufs, &p, grid_1d(n, 256)),
        IfKernel::Register => {
            let threads = n.div_ceil(IF_REG_NEURONS);
            p.threads = threads as u32;
            gpu.op(Kernel::IfForwardReg, label, &bufs, &p, grid_1d(threads, 64))
        }
    }
}

/// The buffers of one IF backward: `u_trace`, `g_out` = dL/dout and `d_input` [T, n]; `vth`,
/// `leak`, `dvth` and `dleak` [1].
pub struct IfBackwardIo<'a> {
    pub u_trace: &'a Tensor,
    pub vth: &'a Tensor,
    pub leak: &'a Tensor,
    pub g_out: &'a Tensor,
    pub d_input: &'a Tensor,
    pub dvth: &'a Tensor,
    pub dleak: &'a Tensor,
}

/// BPTT given `g_out` = dL/dout [T, n] and the forward's `u_trace` [T, n]:
/// overwrites `d_input` [T, n] (per step, also for a constant-current
/// forward: the caller sums over T), `dvth` [1] and `dleak` [1]; the adapter's kernel.
pub fn if_backward(
    gpu: &Gpu,
    label: &str,
    (t, n): (usize, usize),
    cfg: &IfConfig,
    surrogate: Surrogate,
    io: &IfBackwardIo,
) -> Result<IfBackward> {
    if_backward_with(gpu, IfKernel::for_adapter(gpu), label, (t, n), cfg, surrogate, io)
}

/// `if_backward` with a given kernel (the checks run both); `(t, n)` the steps and neurons.
pub fn if_backward_with(
    gpu: &Gpu,
    kernel: IfKernel,
    label: &str,
    (t, n): (usize, usize),
    cfg: &IfConfig,
    surrogate: Surrogate,
    io: &IfBackwardIo,
) -> Result<IfBackward> {
    check_sizes(label, t, n)?;
    for x in [io.u_trace, io.g_out, io.d_input] {
        check_len(label, x, t * n)?;
    }
    for x in [io.vth, io.leak, io.dvth, io.dleak] {
        check_len(label, x, 1)?;
    }
    // One partial per 256 neurons (per workgroup of if_backward.wgsl, folded grids included):
    // both kernels write the same partials, reduced the same way.
    let groups = grid_1d(n, 256);
    let parts = (groups[0] * groups[1]) as usize;
    let part_vth = gpu.tensor(&format!("{label}.part_vth"), &[parts])?;
    let part_leak = gpu.tensor(&format!("{label}.part_leak"), &[parts])?;
    let mut p = params(t, n, n, cfg, surrogate);
    let bufs = [
        io.u_trace.bind(),
        io.vth.bind(),
        io.leak.bind(),
        io.g_out.bind(),
        io.d_input.bind(),
        part_vth.bind(),
        part_leak.bind(),
    ];
    let bptt = match kernel {
        IfKernel::Workgroup => gpu.op(Kernel::IfBackward, label, &bufs, &p, groups)?,
        IfKernel::Register => {
            p.threads = parts as u32;
            gpu.op(Kernel::IfBackwardReg, label, &bufs, &p, grid_1d(parts, 64))?
        }
    };
    let reduce_vth = reduce_sum(gpu, &format!("{label}.dvth"), parts, &part_vth, io.dvth)?;
    let reduce_leak = reduce_sum(gpu, &format!("{label}.dleak"), parts, &part_leak, io.dleak)?;
    let (vth_ops, vth_scratch) = reduce_vth.into_parts();
    let (leak_ops, leak_scratch) = reduce_leak.into_parts();
    let ops = std::iter::once(bptt).chain(vth_ops).chain(leak_ops).collect();
    let mut scratch = vec![part_vth, part_leak];
    scratch.extend(vth_scratch);
    scratch.extend(leak_scratch);
    Ok(IfBackward { ops, _scratch: scratch })
}
