//! IF/LIF neuron reference: the forward over T steps and its BPTT backward,
//! written exactly as `shaders/if_forward.wgsl` / `if_backward.wgsl` document
//! (same f32 operation order in the forward, so the GPU matches bit-for-bit
//! on exactly representable inputs).

use crate::spec::neuron::{IfConfig, Surrogate, FAST_SIGMOID_K};

/// Forward results: `out` and `u_trace` are [T, n]; `spikes` counts all spikes.
#[derive(Clone, Debug, PartialEq)]
pub struct IfForward {
    pub out: Vec<f32>,
    /// The membrane before the reset, [T, n].
    pub u_trace: Vec<f32>,
    /// The membrane after the reset (what the next step starts from), [T, n].
    pub u_after: Vec<f32>,
    pub spikes: u64,
}

/// Gradients of one IF layer: `d_input` [T, n] (per step, also when the
/// forward reused one constant current), `dvth` and `dleak` summed in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct IfGrads {
    pub d_input: Vec<f32>,
    pub dvth: f32,
    pub dleak: f32,
}

/// Surrogate of dS/du at membrane `u` (f32 arithmetic as in the shader).
pub fn surrogate_grad(s: Surrogate, u: f32, vth: f32) -> f32 {
    match s {
        Surrogate::Boxcar => {
            if (0.0..=2.0 * vth).contains(&u) {
                1.0
            } else {
                0.0
            }
        }
        Surrogate::Triangle => (1.0 - (u / vth - 1.0).abs()).max(0.0),
        Surrogate::FastSigmoid => {
            let d = 1.0 + FAST_SIGMOID_K * (u / vth - 1.0).abs();
            1.0 / (d * d)
        }
    }
}

/// `input` is [T, n] or one constant current [n] reused at every step.
pub fn if_forward(t: usize, n: usize, cfg: &IfConfig, input: &[f32], vth: f32, leak: f32) -> IfForward {
    let stride = if input.len() == n { 0 } else { n };
    let height = cfg.beta * vth * cfg.out_scale;
    let mut out = vec![0.0; t * n];
    let mut u_trace = vec![0.0; t * n];
    let mut u_after = vec![0.0; t * n];
    let mut spikes = 0u64;
    for i in 0..n {
        let mut u = cfg.init * vth;
        for step in 0..t {
            let ut = leak * u + input[step * stride + i] + cfg.shift;
            let o = step * n + i;
            u_trace[o] = ut;
            if ut > vth {
                out[o] = height;
                u = ut - vth;
                spikes += 1;
            } else {
                u = ut;
            }
            u_after[o] = u;
        }
    }
    IfForward {
        out,
        u_trace,
        u_after,
        spikes,
    }
}

/// BPTT through the T steps given `g_out` = dL/dout [T, n] and the saved
/// `u_trace` = u_tmp [T, n]. The spike inside the reset is detached.
#[allow(clippy::too_many_arguments)]
pub fn if_backward(
    t: usize,
    n: usize,
    cfg: &IfConfig,
    surrogate: Surrogate,
    u_trace: &[f32],
    vth: f32,
    leak: f32,
    g_out: &[f32],
) -> IfGrads {
    let bo = cfg.beta * cfg.out_scale;
    let height = cfg.beta * vth * cfg.out_scale;
    let mut d_input = vec![0.0; t * n];
    let (mut dvth, mut dleak) = (0f64, 0f64);
    for i in 0..n {
        let mut gu = 0.0f32;
        for step in (0..t).rev() {
            let o = step * n + i;
            let ut = u_trace[o];
            let s = if ut > vth { 1.0f32 } else { 0.0 };
            let go = g_out[o];
            let gsg = go * height * surrogate_grad(surrogate, ut, vth);
            let gut = gu + gsg;
            d_input[o] = gut;
            let uprev = if step > 0 {
                let up = u_trace[o - n];
                if up > vth {
                    up - vth
                } else {
                    up
                }
            } else {
                cfg.init * vth
            };
            dleak += (gut * uprev) as f64;
            dvth += (go * s * bo - gu * s - gsg) as f64;
            gu = leak * gut;
        }
        // u(0) = init * vth: gu is now dL/du(0).
        dvth += (gu * cfg.init) as f64;
    }
    IfGrads {
        d_input,
        dvth: dvth as f32,
        dleak: dleak as f32,
    }
}
