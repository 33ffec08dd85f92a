//! Residual join `y = a + b` (ResNet: added before the clip / IF neuron).
//! Backward needs no kernel of its own: dy flows unchanged into both branches;
//! where a branch's gradient must be summed with another, `residual_add` does it.

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::{elementwise, Gpu, Kernel, Op, Tensor};
use crate::shape_err;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct ResidualParams {
    pub n: u32,
    pub _pad: [u32; 3],
}

/// `y = a + b`, elementwise; all three of the same length.
pub fn residual_add(gpu: &Gpu, label: &str, a: &Tensor, b: &Tensor, y: &Tensor) -> Result<Op> {
    if a.len() != b.len() || a.len() != y.len() {
        return Err(shape_err!(
            "{label}: residual_add of {:?} + {:?} into {:?}",
            a.shape,
            b.shape,
            y.shape
        ));
    }
    let p = ResidualParams {
        n: a.len() as u32,
        _pad: [0; 3],
    };
    let (kernel, grid) = elementwise(a.len(), Kernel::ResidualAdd, Kernel::ResidualAddVec4);
    gpu.op(kernel, label, &[a.bind(), b.bind(), y.bind()], &p, grid)
}
