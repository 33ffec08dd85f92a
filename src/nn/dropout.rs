//! Dropout with a counter-based RNG: the mask is a pure function of
//! (seed, row % rows_per_mask, element), so it needs no RNG state on the GPU,
//! the CPU reference reproduces it bit for bit (`cpu::dropout::hash`), and with
//! activations laid out `[T*B, per_sample]` and `rows_per_mask = B` an SNN keeps
//! one mask across its T time steps.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{elementwise, Gpu, Kernel, Op, Tensor};
use crate::nn::activation::ElemParams;
use crate::nn::linear::check_len;
use crate::shape_err;

/// Uniform of `dropout_forward`; mirrors its WGSL `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct DropoutParams {
    pub n: u32,
    pub per_row: u32,
    pub rows_per_mask: u32,
    pub seed: u32,
    /// Drop when `hash < threshold`; see [`keep_threshold`].
    pub threshold: u32,
    /// `1 / (1 - p)`, the value of a kept mask entry.
    pub scale: f32,
    pub _pad: [u32; 2],
}

use crate::spec::optim::keep_threshold;

/// The forward op and the parameters it was built with (to change the seed).
pub struct Dropout {
    pub op: Op,
    pub params: DropoutParams,
}

impl Dropout {
    /// A new mask for the next dispatches (e.g. one seed per training step).
    pub fn set_seed(&self, gpu: &Gpu, seed: u32) {
        let p = DropoutParams { seed, ..self.params };
        self.op.set_params(gpu, &p);
    }
}

/// Writes `mask[r, e] = keep ? 1/(1-p) : 0` and `y = x * mask` over `[rows, per_row]`.
#[allow(clippy::too_many_arguments)]
pub fn dropout_forward(
    gpu: &Gpu,
    label: &str,
    rows: usize,
    per_row: usize,
    rows_per_mask: usize,
    p: f32,
    seed: u32,
    x: &Tensor,
    y: &Tensor,
    mask: &Tensor,
) -> Result<Dropout> {
    if rows == 0 || per_row == 0 || rows_per_mask == 0 {
        return Err(shape_err!(
            "{label}: dropout rows={rows}, per_row={per_row}, rows_per_mask={rows_per_mask} (all > 0)"
        ));
    }
    if !(0.0..1.0).contains(&p) {
        return Err(shape_err!("{label}: dropout probability p={p} must be in [0, 1)"));
    }
    let n = rows * per_row;
    if n > u32::MAX as usize - 256 || rows_per_mask > u32::MAX as usize {
        return Err(shape_err!(
            "{label}: dropout of {rows}x{per_row} overflows u32 indexing"
        ));
    }
    check_len(label, "x", x, n)?;
    check_len(label, "y", y, n)?;
    check_len(label, "mask", mask, n)?;
    let params = DropoutParams {
        n: n as u32,
        per_row: per_row as u32,
        rows_per_mask: rows_per_mask as u32,
        seed,
        threshold: keep_threshold(p),
        scale: 1.0 / (1.0 - p),
        _pad: [0; 2],
    };
    let bufs = [x.bind(), y.bind(), mask.bind()];
    let (kernel, grid) = elementwise(n, Kernel::DropoutForward, Kernel::DropoutForwardVec4);
    let op = gpu.op(kernel, label, &bufs, &params, grid)?;
    Ok(Dropout { op, params })
}

/// `dx = dy * mask`; OVERWRITES dx.
pub fn dropout_backward(gpu: &Gpu, label: &str, n: usize, dy: &Tensor, mask: &Tensor, dx: &Tensor) -> Result<Op> {
    if n == 0 || n > u32::MAX as usize - 256 {
        return Err(shape_err!("{label}: dropout_backward over n={n} elements"));
    }
    check_len(label, "dy", dy, n)?;
    check_len(label, "mask", mask, n)?;
    check_len(label, "dx", dx, n)?;
    let p = ElemParams {
        n: n as u32,
        _pad: [0; 3],
    };
    let (kernel, grid) = elementwise(n, Kernel::DropoutBackward, Kernel::DropoutBackwardVec4);
    gpu.op(kernel, label, &[dy.bind(), mask.bind(), dx.bind()], &p, grid)
}
