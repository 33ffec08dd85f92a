//! Which conv kernel runs: Auto's deterministic default per pass and shape (the rules below),
//! the tuner's timed choice where there is one (`nn::tune`), and the checks that a variant asked
//! for by name can run here.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Kernel, TunePass, TuneShape};
use crate::shape_err;

use super::conv::{Conv2dShape, ConvAlgo, CB, REG_CB, SG_CB};
use super::conv3x3;

/// `algo`, with Auto made concrete for `pass` on `s`: the tuner's choice for this adapter where
/// one was timed (`nn::tune`), else today's fixed rule (`auto_default`), noted for tuning.
pub(super) fn tuned(gpu: &Gpu, pass: TunePass, s: &Conv2dShape, algo: ConvAlgo) -> ConvAlgo {
    let runs = |a: ConvAlgo| runs_pass(gpu, pass, s, a);
    super::tune::consult(
        gpu,
        pass,
        TuneShape::Conv(*s),
        algo,
        ConvAlgo::Auto,
        &ConvAlgo::ALL,
        runs,
        || auto_default(gpu, pass, s),
    )
}

/// Whether `a` runs `pass` of `s` here (Vec4's backward-weight runs Subgroup's kernel where
/// `conv3x3::fits_backward_weight` does not hold; the tuner times such a duplicate once).
pub(crate) fn runs_pass(gpu: &Gpu, pass: TunePass, s: &Conv2dShape, a: ConvAlgo) -> bool {
    match pass {
        TunePass::ConvBackwardWeight => a.supported(gpu),
        _ => a.supports_shape(gpu, s),
    }
}

/// The deterministic default of Auto (the rules of `use_vec4` and `pick`), as a concrete variant.
fn auto_default(gpu: &Gpu, pass: TunePass, s: &Conv2dShape) -> ConvAlgo {
    let weight = pass == TunePass::ConvBackwardWeight;
    if weight && use_vec4_backward_weight(gpu, s, ConvAlgo::Auto) {
        return ConvAlgo::Vec4;
    }
    if !weight && use_vec4(gpu, "", s, ConvAlgo::Auto).unwrap_or(false) {
        return ConvAlgo::Vec4;
    }
    if is_real_gpu(gpu) && !weight {
        return ConvAlgo::Direct;
    }
    // Register only where its 32-channel block fills (`pick`'s rule for Auto).
    let fills_block = match pass {
        TunePass::ConvForward => s.c_out >= REG_CB,
        TunePass::ConvBackwardInput => s.c_in >= REG_CB,
        _ => true,
    };
    match ConvAlgo::Auto.resolve(gpu) {
        ConvAlgo::Register if !fills_block => ConvAlgo::Direct,
        a => a,
    }
}

/// The kernels of one pass: Direct's, Subgroup's and Register's.
pub(super) struct PassKernels {
    pub direct: Kernel,
    pub subgroup: Kernel,
    pub register: Kernel,
}

/// The kernel of `algo` on `gpu` and its channels per thread; an error when Subgroup is asked for
/// on an adapter that cannot run it. `fills_block`: whether the pass has the output channels to
/// fill Register's block; where not, Auto keeps Direct (SwiftShader, forward 1->8 channels:
/// Register 90 vs Direct 60 CPU-ms; backward-input 8<-16: 87 vs 30).
pub(super) fn pick(
    gpu: &Gpu,
    label: &str,
    algo: ConvAlgo,
    k: PassKernels,
    fills_block: bool,
) -> Result<(Kernel, usize)> {
    let PassKernels {
        direct,
        subgroup,
        register,
    } = k;
    // Auto on a real GPU: measured on an H200 (BENCHMARKS.md), Direct wins forward and
    // backward-input (8.5 vs 7.5 TFLOP/s on 64x32x32) while Subgroup wins backward-weight
    // (3.5 vs 1.9); CPU adapters (lavapipe) want Subgroup in every pass, SwiftShader (no
    // subgroups in the page) Register where its block fills.
    let gpu_prefers_direct = is_real_gpu(gpu) && subgroup != Kernel::Conv2dBackwardWeightSubgroup;
    let algo = match algo {
        ConvAlgo::Auto if gpu_prefers_direct => ConvAlgo::Direct,
        // Vec4's backward-weight (and any shape it does not fit) is Subgroup's kernel.
        ConvAlgo::Vec4 => ConvAlgo::Subgroup,
        a => a,
    };
    match algo.resolve(gpu) {
        ConvAlgo::Register if algo == ConvAlgo::Auto && !fills_block => Ok((direct, CB)),
        ConvAlgo::Register => Ok((register, REG_CB)),
        ConvAlgo::Subgroup if !ConvAlgo::Subgroup.supported(gpu) => Err(Error::Gpu(format!(
            "{label}: ConvAlgo::Subgroup needs subgroups of >= 8 lanes (adapter: subgroups {}, min size {})",
            gpu.has_subgroups(),
            gpu.info.subgroup_min_size
        ))),
        ConvAlgo::Subgroup => Ok((subgroup, SG_CB)),
        _ => Ok((direct, CB)),
    }
}

/// Whether `algo` runs the Vec4 kernel for the forward / backward-input of `s`: asked for by
/// name (an error where it cannot run), or Auto off real GPUs where it fits a plane of >= 16. On real GPUs Auto
/// keeps the variants measured there (BENCHMARKS.md); Vec4 has no GPU measurement yet.
pub(super) fn use_vec4(gpu: &Gpu, label: &str, s: &Conv2dShape, algo: ConvAlgo) -> Result<bool> {
    match algo {
        ConvAlgo::Vec4 if !ConvAlgo::Vec4.supports_shape(gpu, s) => Err(shape_err!(
            "{label}: ConvAlgo::Vec4 needs subgroups of >= 8 lanes and a 3x3/stride-1/pad-1 layer with H*W divisible by 4 (got k={}, stride {}, pad {}, {}x{})",
            s.k,
            s.stride,
            s.pad,
            s.h,
            s.w
        )),
        ConvAlgo::Vec4 => Ok(true),
        // 2x2 planes: the per-step weight pack (9 * Ci * Co values) costs more than the loads
        // it saves (lavapipe, 512x2x2 at batch 32: Subgroup 12.5, Vec4 9.0 GFLOP/s); 4x4 and up
        // gain (512x4x4: Subgroup 25.5, Vec4 29-36 forward and backward-input).
        ConvAlgo::Auto => Ok(!is_real_gpu(gpu) && ConvAlgo::Vec4.supports_shape(gpu, s) && s.h * s.w >= 16),
        _ => Ok(false),
    }
}

/// Whether `algo` (already resolved to run Subgroup's backward-weight) runs the Vec4
/// backward-weight kernel for `s`: Vec4 by name, or Auto off real GPUs on planes of >= 16
/// pixels (as forward), where it fits (lavapipe, 512x4x4: Subgroup 22.9, Vec4 34-37 GFLOP/s).
pub(super) fn use_vec4_backward_weight(gpu: &Gpu, s: &Conv2dShape, algo: ConvAlgo) -> bool {
    let auto = algo == ConvAlgo::Auto && !is_real_gpu(gpu) && s.h * s.w >= 16;
    let asked = algo == ConvAlgo::Vec4 || auto;
    asked && ConvAlgo::Vec4.supported(gpu) && conv3x3::fits_backward_weight(s)
}

pub(super) fn is_real_gpu(gpu: &Gpu) -> bool {
    matches!(
        gpu.info.device_type,
        wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
    )
}
