//! CPU references of the SNN side checked without a GPU: the IF/LIF BPTT by
//! central finite differences of a relaxed forward, hand-computed tiny cases,
//! and the softmax cross-entropy gradient.
//!
//! Relaxed forward: the hard spike H(u_tmp - vth) plus F(u_tmp - vth) - F(base),
//! where F' is the surrogate (width vth frozen at its base value, per the
//! convention dS/dvth = -dS/du) and F(base) is the constant from the
//! unperturbed run. Its value equals the real forward and its derivative is
//! exactly what BPTT computes, so every path (output height, reset, spike,
//! leak, input) is checked. Inputs keep u_tmp away from the surrogate's kinks.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use ultraspike::cpu::loss::softmax_xent;
use ultraspike::cpu::spiking::{if_backward, if_forward, surrogate_grad};
use ultraspike::nn::spiking::{IfConfig, Surrogate, FAST_SIGMOID_K};
use ultraspike::util::rng::Rng;

/// Antiderivative of the surrogate in x = u - vth, width w.
fn surrogate_integral(s: Surrogate, x: f64, w: f64) -> f64 {
    let z = x / w;
    match s {
        Surrogate::Boxcar => (x + w).clamp(0.0, 2.0 * w),
        Surrogate::Triangle => {
            w * if z <= -1.0 {
                0.0
            } else if z <= 0.0 {
                (z + 1.0) * (z + 1.0) / 2.0
            } else if z <= 1.0 {
                0.5 + z - z * z / 2.0
            } else {
                1.0
            }
        }
        Surrogate::FastSigmoid => {
            let k = FAST_SIGMOID_K as f64;
            z.signum() * w / k * (1.0 - 1.0 / (1.0 + k * z.abs()))
        }
    }
}

struct Relaxed<'a> {
    t: usize,
    n: usize,
    cfg: IfConfig,
    sg: Surrogate,
    w: f64,
    /// (hard spike, F at the base point) per [t, i], from the unperturbed run.
    base: &'a [(f64, f64)],
    g_out: &'a [f32],
}

impl Relaxed<'_> {
    /// L = sum g_out * out of the relaxed forward, in f64.
    fn loss(&self, input: &[f64], vth: f64, leak: f64) -> f64 {
        let (beta, shift, os) = (self.cfg.beta as f64, self.cfg.shift as f64, self.cfg.out_scale as f64);
        let mut l = 0.0;
        for i in 0..self.n {
            let mut u = self.cfg.init as f64 * vth;
            for step in 0..self.t {
                let o = step * self.n + i;
                let ut = leak * u + input[o] + shift;
                let (hard, f0) = self.base[o];
                let s = hard + surrogate_integral(self.sg, ut - vth, self.w) - f0;
                l += self.g_out[o] as f64 * s * beta * vth * os;
                u = ut - hard * vth;
            }
        }
        l
    }
}

fn base_point(
    t: usize,
    n: usize,
    cfg: &IfConfig,
    sg: Surrogate,
    input: &[f32],
    vth: f32,
    leak: f32,
) -> Vec<(f64, f64)> {
    let fwd = if_forward(t, n, cfg, input, vth, leak);
    fwd.u_trace
        .iter()
        .map(|&ut| {
            let hard = if ut > vth { 1.0 } else { 0.0 };
            (hard, surrogate_integral(sg, ut as f64 - vth as f64, vth as f64))
        })
        .collect()
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * (1.0 + want.abs()),
        "{what}: BPTT {got} vs finite difference {want}"
    );
}

/// Random currents whose every u_tmp keeps 2e-3 from the surrogates' kinks
/// (0, vth, 2*vth), so central differences with h = 1e-4 see smooth functions.
fn currents(r: &mut Rng, t: usize, n: usize, cfg: &IfConfig, vth: f32, leak: f32) -> Vec<f32> {
    loop {
        let input = r.vec_uniform(t * n, -0.7, 2.4);
        let trace = if_forward(t, n, cfg, &input, vth, leak).u_trace;
        if trace
            .iter()
            .all(|&u| [0.0, vth, 2.0 * vth].iter().all(|k| (u - k).abs() > 2e-3))
        {
            return input;
        }
    }
}

#[test]
fn if_bptt_matches_finite_differences() {
    let vth = 1.0f32 + 1.0 / 16.0;
    let mut r = Rng::new(5);
    for t in [1usize, 2, 3, 5] {
        for (leak, init) in [(1.0f32, 0.0f32), (0.875, 0.0), (1.0, 0.5), (0.875, 0.5)] {
            for sg in [Surrogate::Boxcar, Surrogate::Triangle, Surrogate::FastSigmoid] {
                let n = 4;
                let cfg = IfConfig {
                    beta: 0.75,
                    shift: 0.0,
                    out_scale: 1.25,
                    init,
                    save_trace: true,
                };
                let input = currents(&mut r, t, n, &cfg, vth, leak);
                let g_out = r.vec_uniform(t * n, -1.0, 1.0);
                let base = base_point(t, n, &cfg, sg, &input, vth, leak);
                let fwd = if_forward(t, n, &cfg, &input, vth, leak);
                let bw = if_backward(t, n, &cfg, sg, &fwd.u_trace, vth, leak, &g_out);
                let relaxed = Relaxed {
                    t,
                    n,
                    cfg,
                    sg,
                    w: vth as f64,
                    base: &base,
                    g_out: &g_out,
                };
                let x: Vec<f64> = input.iter().map(|&v| v as f64).collect();
                let (v, l, h) = (vth as f64, leak as f64, 1e-4);
                let what = format!("T={t} leak={leak} init={init} {sg:?}");
                for o in 0..t * n {
                    let (mut xp, mut xm) = (x.clone(), x.clone());
                    xp[o] += h;
                    xm[o] -= h;
                    let fd = (relaxed.loss(&xp, v, l) - relaxed.loss(&xm, v, l)) / (2.0 * h);
                    close(&format!("{what} d_input[{o}]"), bw.d_input[o] as f64, fd, 1e-4);
                }
                let fd = (relaxed.loss(&x, v + h, l) - relaxed.loss(&x, v - h, l)) / (2.0 * h);
                close(&format!("{what} dvth"), bw.dvth as f64, fd, 1e-4);
                let fd = (relaxed.loss(&x, v, l + h) - relaxed.loss(&x, v, l - h)) / (2.0 * h);
                close(&format!("{what} dleak"), bw.dleak as f64, fd, 1e-4);
                if t > 2 {
                    assert!(fwd.spikes > 0, "{what}: no spikes, spike paths untested");
                }
            }
        }
    }
}

/// With vth huge nothing spikes and the output is 0: the surrogate still
/// passes gradient (boxcar covers [0, 2*vth]), d_input is the leaky sum of
/// later output gradients and dleak pairs it with the unreset membrane.
#[test]
fn if_bptt_without_spikes_by_hand() {
    let cfg = IfConfig::default();
    let (vth, leak) = (100.0f32, 0.5f32);
    // One neuron, T = 3, I = 1, 2, 3: u_tmp = 1, 2.5, 4.25.
    let fwd = if_forward(3, 1, &cfg, &[1.0, 2.0, 3.0], vth, leak);
    assert_eq!(fwd.u_trace, vec![1.0, 2.5, 4.25]);
    assert_eq!(fwd.spikes, 0);
    let g = [1.0f32, 0.0, 2.0];
    let bw = if_backward(3, 1, &cfg, Surrogate::Boxcar, &fwd.u_trace, vth, leak, &g);
    // g_utmp(3) = 2*vth = 200; g_utmp(2) = 0.5*200 + 0 = 100; g_utmp(1) = 50 + 100.
    assert_eq!(bw.d_input, vec![150.0, 100.0, 200.0]);
    // dleak = 200*u(2) + 100*u(1) = 200*2.5 + 100*1 = 600.
    assert_eq!(bw.dleak, 600.0);
    // dvth = -(sum g_s*sg) = -(100 + 0 + 200), no spikes so no reset/height terms.
    assert_eq!(bw.dvth, -300.0);
}

/// One spike by hand: T = 2, vth = 1, I = (1.5, 0.25), IF.
/// u_tmp = 1.5 (spike, u = 0.5), then 0.75 (no spike). out = (1, 0).
#[test]
fn if_bptt_one_spike_by_hand() {
    let cfg = IfConfig::default();
    let fwd = if_forward(2, 1, &cfg, &[1.5, 0.25], 1.0, 1.0);
    assert_eq!(fwd.out, vec![1.0, 0.0]);
    assert_eq!(fwd.u_trace, vec![1.5, 0.75]);
    let bw = if_backward(2, 1, &cfg, Surrogate::Boxcar, &fwd.u_trace, 1.0, 1.0, &[1.0, 1.0]);
    // t=2: gu = 0, g_s = 1, sg = 1 -> g_utmp(2) = 1; dvth -= 1; dleak += 1*u(1) = 0.5.
    // t=1: gu(1) = 1, s = 1, g_s = 1, sg(1.5) = 1 -> g_utmp(1) = 2;
    //      dvth += 1 (height) - 1 (reset) - 1 (spike).
    assert_eq!(bw.d_input, vec![2.0, 1.0]);
    assert_eq!(bw.dvth, -2.0);
    assert_eq!(bw.dleak, 0.5);
    // The triangle at u_tmp = 1.5, vth = 1 is 0.5; at 0.75 it is 0.75.
    assert_eq!(surrogate_grad(Surrogate::Triangle, 1.5, 1.0), 0.5);
    assert_eq!(surrogate_grad(Surrogate::Triangle, 0.75, 1.0), 0.75);
    assert_eq!(surrogate_grad(Surrogate::FastSigmoid, 1.0, 1.0), 1.0);
}

#[test]
fn softmax_xent_matches_finite_differences() {
    let mut r = Rng::new(9);
    let (n, classes, n_valid) = (5, 7, 4);
    let logits = r.vec_uniform(n * classes, -3.0, 3.0);
    let labels: Vec<u32> = (0..n).map(|_| r.below(classes) as u32).collect();
    let want = softmax_xent(n, classes, n_valid, &logits, &labels);
    let mean = |z: &[f32]| softmax_xent(n, classes, n_valid, z, &labels).loss_sum / n_valid as f64;
    let h = 1e-3f32;
    for o in 0..n * classes {
        let (mut zp, mut zm) = (logits.clone(), logits.clone());
        zp[o] += h;
        zm[o] -= h;
        let fd = (mean(&zp) - mean(&zm)) / ((zp[o] - zm[o]) as f64);
        close(&format!("dlogits[{o}]"), want.dlogits[o] as f64, fd, 1e-4);
        if o >= n_valid * classes {
            assert_eq!(want.dlogits[o], 0.0, "rows beyond n_valid get no gradient");
        }
    }
    // Loss of one row by hand: logits (0, ln 3), label 0 -> -ln(1/4) = ln 4.
    let one = softmax_xent(1, 2, 1, &[0.0, 3f32.ln()], &[0]);
    assert!((one.loss_sum - 4f64.ln()).abs() < 1e-6);
    assert_eq!(one.correct, 0);
    // Ties: the first maximum is the prediction.
    assert_eq!(softmax_xent(1, 3, 1, &[2.0, 2.0, 1.0], &[0]).correct, 1);
    assert_eq!(softmax_xent(1, 3, 1, &[2.0, 2.0, 1.0], &[1]).correct, 0);
}
