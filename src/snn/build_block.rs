//! The spiking residual block: conv1 - IF1 - dropout - conv2, plus the
//! shortcut (a 1x1 conv on the input spikes, or the spikes themselves), summed
//! into IF2's input current. Gradients reach the block input through both
//! branches and are added.

use super::build::{Flow, SnnBuilder};
use crate::error::{Error, Result};
use crate::gpu::Tensor;
use crate::nn::program::Step;
use crate::nn::residual::residual_add;
use crate::spec::shapes::conv_shape;

#[allow(clippy::too_many_arguments)]
pub fn block(
    b: &mut SnnBuilder,
    name: &str,
    x: &Flow,
    out_shape: &[usize],
    out: usize,
    stride: usize,
    p: f32,
    bwd: &mut Vec<Step>,
) -> Result<Flow> {
    if !x.spiking {
        // conv1's output and the identity add would need the analog B rows broadcast over T.
        return Err(Error::Config(format!(
            "{name}: a residual block needs spiking input; put a conv and a threshold-ReLU before the first block"
        )));
    }
    let rows = x.x.shape[0];
    let mut inner: Vec<Vec<Step>> = Vec::new();
    // Two gradient contributions to x, summed at the end of the backward.
    let x1 = own_grad(b, &format!("{name}.x.g1"), x)?;
    let c1 = b.flow(&format!("{name}.conv1"), out_shape, true)?;
    let s1 = conv_shape(rows, &x.shape, out, 3, stride, 1);
    let (w1, b1) = (b.param("conv1.weight")?, b.param("conv1.bias")?);
    let mut v = Vec::new();
    b.conv(&format!("{name}.conv1"), &x1, &c1, &s1, w1, b1, &mut v)?;
    inner.push(v);
    let mut v = Vec::new();
    let a1 = b.neuron(&format!("{name}.act1"), &c1, &mut v)?;
    inner.push(v);
    let mut v = Vec::new();
    let d1 = b.dropout(&format!("{name}.drop"), &a1, p, &mut v)?;
    inner.push(v);
    // conv2 and the shortcut both receive dL/dsum: their output grads alias sum's.
    let sum = b.flow(&format!("{name}.sum"), out_shape, true)?;
    let c2 = Flow {
        g: sum.g.clone(),
        ..b.flow(&format!("{name}.conv2"), out_shape, true)?
    };
    let s2 = conv_shape(rows, out_shape, out, 3, 1, 1);
    let (w2, b2) = (b.param("conv2.weight")?, b.param("conv2.bias")?);
    let mut v = Vec::new();
    b.conv(&format!("{name}.conv2"), &d1, &c2, &s2, w2, b2, &mut v)?;
    inner.push(v);
    let gx2 = if SnnBuilder::block_shortcut_needed(&x.shape, out_shape) {
        let (sc, gx2) = shortcut(b, name, x, &sum, out, stride, &mut inner)?;
        b.add(&format!("{name}.add"), &c2.x, &sc, &sum.x)?;
        gx2
    } else {
        b.add(&format!("{name}.add"), &c2.x, &x.x, &sum.x)?;
        sum.g.clone()
    };
    let mut v = Vec::new();
    let y = b.neuron(&format!("{name}.act2"), &sum, &mut v)?;
    inner.push(v);
    for v in inner.into_iter().rev() {
        bwd.extend(v);
    }
    if let (Some(gx), Some(g1), Some(g2)) = (&x.g, &x1.g, &gx2) {
        let op = residual_add(b.gpu, &format!("{name}.dx"), g1, g2, gx)?;
        bwd.push(b.arena.op(op));
    }
    Ok(y)
}

/// `x` with a gradient tensor `label` of its own (when `x` has one): one of
/// the two contributions to x's gradient.
fn own_grad(b: &mut SnnBuilder, label: &str, x: &Flow) -> Result<Flow> {
    Ok(Flow {
        g: match &x.g {
            Some(_) => Some(b.flow(label, &x.shape, x.spiking)?.x),
            None => None,
        },
        ..x.clone()
    })
}

/// The 1x1 shortcut conv of `x` into a tensor shaped like `sum` (its output
/// gradient is sum's), with its backward pushed to `inner`. Returns the
/// shortcut's output and x's gradient contribution through it.
fn shortcut(
    b: &mut SnnBuilder,
    name: &str,
    x: &Flow,
    sum: &Flow,
    out: usize,
    stride: usize,
    inner: &mut Vec<Vec<Step>>,
) -> Result<(Tensor, Option<Tensor>)> {
    let sc = Flow {
        g: sum.g.clone(),
        ..b.flow(&format!("{name}.shortcut"), &sum.shape, true)?
    };
    let x2 = own_grad(b, &format!("{name}.x.g2"), x)?;
    let ss = conv_shape(x.x.shape[0], &x.shape, out, 1, stride, 0);
    let (ws, bs) = (b.param("shortcut.weight")?, b.param("shortcut.bias")?);
    let mut v = Vec::new();
    b.conv(&format!("{name}.shortcut"), &x2, &sc, &ss, ws, bs, &mut v)?;
    inner.push(v);
    Ok((sc.x, x2.g))
}
