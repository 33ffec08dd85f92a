//! Optimizer references, one step over flat slices, in f32 with the shaders'
//! operation order (PyTorch SGD with momentum and Adam with AMSGrad).

use crate::spec::optim::{AdamParams, SgdParams};

/// PyTorch SGD (dampening 0, no Nesterov): d = g + wd*p; buf = m*buf + d; p -= lr*buf.
pub fn sgd_step(hp: &SgdParams, param: &mut [f32], grad: &[f32], buf: &mut [f32]) {
    for i in 0..param.len() {
        let d = grad[i] + hp.weight_decay * param[i];
        let b = hp.momentum * buf[i] + d;
        buf[i] = b;
        param[i] -= hp.lr * b;
    }
}

/// PyTorch Adam (L2 weight decay on the gradient), AMSGrad when `hp.amsgrad != 0`,
/// then the optional clamp `p <= clamp_max`. `hp` must be `prepared()`.
pub fn adam_step(hp: &AdamParams, param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], vmax: &mut [f32]) {
    for i in 0..param.len() {
        let g = grad[i] + hp.weight_decay * param[i];
        let mi = hp.beta1 * m[i] + (1.0 - hp.beta1) * g;
        let vi = hp.beta2 * v[i] + (1.0 - hp.beta2) * (g * g);
        m[i] = mi;
        v[i] = vi;
        let mut vh = vi;
        if hp.amsgrad != 0 {
            vh = vmax[i].max(vi);
            vmax[i] = vh;
        }
        let denom = vh.sqrt() / hp.bc2_sqrt + hp.eps;
        let mut p = param[i] - hp.step_size * (mi / denom);
        if hp.use_clamp != 0 {
            p = p.min(hp.clamp_max);
        }
        param[i] = p;
    }
}
