//! The CPU reference SNN's BPTT (`cpu::snn`) checked by central finite
//! differences of a relaxed whole-network forward, in f64 (no GPU).
//!
//! Relaxed forward (as tests/gradcheck_snn.rs does for one layer): each IF
//! emits `(hard + F(u_tmp - vth) - F0) * beta*vth*out_scale`, where `hard` is
//! the spike of the unperturbed run, F the antiderivative of the surrogate
//! (width frozen at the base vth: dS/dvth = -dS/du), F0 its base value, and
//! the reset subtracts `hard*vth` (the spike inside the reset is detached).
//! At the base point it equals the real forward; its derivative is exactly
//! what BPTT computes. So every path is checked: the analog prefix (one
//! current reused at every step, d_input summed over T), spikes through
//! convs, pools and linears, the output height beta*vth, the reset, the leak,
//! dropout masks, both branches of residual blocks, and the mean CE over the
//! logits summed over T. Draws keep every u_tmp 1e-4 from the surrogates'
//! kinks (0, vth, 2*vth), far beyond the effect of h = 1e-6.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use common::snn::{conv_f64, smooth_nets, spread_neurons, uniform_params};
use ultraspike::convert::NeuronParams;
use ultraspike::cpu::dropout::dropout_mask;
use ultraspike::cpu::net::dropout_seed;
use ultraspike::cpu::snn::CpuSnn;
use ultraspike::models::config::{LayerSpec::*, ModelConfig};
use ultraspike::models::params::{block_needs_shortcut, ParamSpec};
use ultraspike::nn::spiking::{Surrogate, FAST_SIGMOID_K};
use ultraspike::snn::snn_param_specs;
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

/// Per IF layer, per [t, i]: (hard spike, F0, u_tmp) of the base run.
type Record = Vec<Vec<(f64, f64, f64)>>;

/// The relaxed network in f64. `base` None = the base run, which records
/// (hard spike, F0, u_tmp) of every IF in `rec`.
struct Relaxed<'a> {
    cfg: &'a ModelConfig,
    nr: &'a [NeuronParams],
    t: usize,
    b: usize,
    sg: Surrogate,
    out_scale: f64,
    seed: Option<u32>,
    base: Option<&'a Record>,
}

struct Run<'a, 'b> {
    r: &'b Relaxed<'a>,
    p: &'b [Vec<f64>],
    pi: usize,
    ni: usize,
    di: usize,
    rec: Record,
}

impl Run<'_, '_> {
    fn rows(&self, spiking: bool) -> usize {
        if spiking {
            self.r.t * self.r.b
        } else {
            self.r.b
        }
    }

    fn take(&mut self) -> usize {
        self.pi += 2;
        self.pi - 2
    }

    fn neuron(&mut self, x: &[f64], spiking: bool) -> Vec<f64> {
        let t = self.r.t;
        let n = if spiking { x.len() / t } else { x.len() };
        let p = self.take();
        let (vth, leak) = (self.p[p][0], self.p[p + 1][0]);
        let np = self.r.nr[self.ni];
        let (h, w) = (np.beta as f64 * vth * self.r.out_scale, np.vth as f64);
        let mut out = vec![0.0; t * n];
        let mut rec = vec![(0.0, 0.0, 0.0); t * n];
        for i in 0..n {
            let mut u = 0.0;
            for s in 0..t {
                let o = s * n + i;
                let ut = leak * u + x[if spiking { o } else { i }] + np.shift as f64;
                let (hard, f0) = match self.r.base {
                    Some(b) => (b[self.ni][o].0, b[self.ni][o].1),
                    None => ((ut > vth) as u8 as f64, surrogate_integral(self.r.sg, ut - vth, w)),
                };
                out[o] = (hard + surrogate_integral(self.r.sg, ut - vth, w) - f0) * h;
                u = ut - hard * vth;
                rec[o] = (hard, f0, ut);
            }
        }
        self.rec.push(rec);
        self.ni += 1;
        out
    }

    fn dropout(&mut self, x: Vec<f64>, p: f32, spiking: bool) -> Vec<f64> {
        let Some(seed) = self.r.seed.filter(|_| p != 0.0) else {
            return x;
        };
        let rows = self.rows(spiking);
        let m = dropout_mask(rows, x.len() / rows, self.r.b, p, dropout_seed(seed, self.di));
        self.di += 1;
        x.iter().zip(m).map(|(a, m)| a * m as f64).collect()
    }

    fn forward(&mut self, img: &[f64]) -> Vec<f64> {
        let (mut x, mut sh, mut spiking) = (img.to_vec(), self.r.cfg.input.to_vec(), false);
        for l in &self.r.cfg.layers {
            let rows = self.rows(spiking);
            (x, sh) = match l {
                Conv {
                    out, k, stride, pad, ..
                } => {
                    let p = self.take();
                    conv_f64(&x, rows, &sh, &self.p[p], &self.p[p + 1], *out, *k, *stride, *pad)
                }
                Linear { out, .. } => {
                    let p = self.take();
                    let (w, bias) = (&self.p[p], &self.p[p + 1]);
                    let y = (0..rows * out)
                        .map(|i| {
                            bias[i % out]
                                + (0..sh[0])
                                    .map(|j| x[i / out * sh[0] + j] * w[i % out * sh[0] + j])
                                    .sum::<f64>()
                        })
                        .collect();
                    (y, vec![*out])
                }
                Act { .. } => {
                    let y = self.neuron(&x, spiking);
                    spiking = true;
                    (y, sh)
                }
                Dropout { p } => (self.dropout(x, *p, spiking), sh),
                AvgPool { k, stride } => {
                    let (oh, ow) = ((sh[1] - k) / stride + 1, (sh[2] - k) / stride + 1);
                    let y = (0..rows * sh[0] * oh * ow)
                        .map(|i| {
                            let (pl, a, e) = (i / (oh * ow), i / ow % oh, i % ow);
                            (0..k * k)
                                .map(|q| x[(pl * sh[1] + a * stride + q / k) * sh[2] + e * stride + q % k])
                                .sum::<f64>()
                                / (k * k) as f64
                        })
                        .collect();
                    (y, vec![sh[0], oh, ow])
                }
                Flatten => (x, vec![sh.iter().product()]),
                Block { out, stride, dropout } => {
                    let p = self.take();
                    let (c1, s1) = conv_f64(&x, rows, &sh, &self.p[p], &self.p[p + 1], *out, 3, *stride, 1);
                    let a1 = self.neuron(&c1, true);
                    let d1 = self.dropout(a1, *dropout, true);
                    let p2 = self.take();
                    let (c2, s2) = conv_f64(&d1, rows, &s1, &self.p[p2], &self.p[p2 + 1], *out, 3, 1, 1);
                    let sc = if block_needs_shortcut(&sh, &s2) {
                        let ps = self.take();
                        conv_f64(&x, rows, &sh, &self.p[ps], &self.p[ps + 1], *out, 1, *stride, 0).0
                    } else {
                        x.clone()
                    };
                    let sum: Vec<f64> = c2.iter().zip(&sc).map(|(a, b)| a + b).collect();
                    (self.neuron(&sum, true), s2)
                }
                MaxPool { .. } => {
                    unreachable!("max-pool ties make the relaxed net non-smooth; not used here")
                }
            };
        }
        x
    }
}

impl Relaxed<'_> {
    /// Mean CE of the logits (output summed over T), and the IF records.
    fn loss(&self, p: &[Vec<f64>], img: &[f64], y: &[u32]) -> (f64, Record) {
        let mut run = Run {
            r: self,
            p,
            pi: 0,
            ni: 0,
            di: 0,
            rec: vec![],
        };
        let out = run.forward(img);
        let c = self.cfg.classes;
        let mut l = 0.0;
        for b in 0..self.b {
            let z: Vec<f64> = (0..c)
                .map(|k| (0..self.t).map(|s| out[(s * self.b + b) * c + k]).sum())
                .collect();
            let m = z.iter().cloned().fold(f64::MIN, f64::max);
            l += m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - z[y[b] as usize];
        }
        (l / self.b as f64, run.rec)
    }
}

fn check(cfg: &ModelConfig, t: usize, leak: f32, sg: Surrogate, seed: u64) {
    let specs = snn_param_specs(cfg).unwrap();
    let n_if = specs.iter().filter(|s| s.name.ends_with(".vth")).count();
    let nr = spread_neurons(n_if, leak);
    let mut cpu = CpuSnn::new(cfg, &nr, t, sg).unwrap();
    cpu.out_scale = 1.25;
    let b = 2;
    let drop = Some(3u32);
    let y: Vec<u32> = (0..b as u32).collect();
    let mut r = Rng::new(seed);
    let what = format!("{} T={t} leak={leak} {sg:?}", cfg.name);
    for _ in 0..200 {
        let p = uniform_params(&specs, &nr, leak, &mut r);
        let x = r.vec_uniform(b * cfg.input.iter().product::<usize>(), -0.5, 1.5);
        let pd: Vec<Vec<f64>> = p.iter().map(|v| v.iter().map(|&a| a as f64).collect()).collect();
        let xd: Vec<f64> = x.iter().map(|&a| a as f64).collect();
        let rel = Relaxed {
            cfg,
            nr: &nr,
            t,
            b,
            sg,
            out_scale: 1.25,
            seed: drop,
            base: None,
        };
        let (l0, base) = rel.loss(&pd, &xd, &y);
        let kinks = base.iter().zip(&nr).all(|(rec, n)| {
            rec.iter()
                .all(|e| [0.0, 1.0, 2.0].iter().all(|k| (e.2 - k * n.vth as f64).abs() > 1e-4))
        });
        let (fwd, g) = cpu.loss_grads(&p, &x, &y, b, drop).unwrap();
        let spikes: Vec<u64> = base.iter().map(|rec| rec.iter().map(|e| e.0 as u64).sum()).collect();
        if !kinks || spikes.contains(&0) {
            continue;
        }
        assert_eq!(fwd.spike_counts, spikes, "{what}: f32 and f64 forwards spike alike");
        assert!(
            (g.loss_sum / b as f64 - l0).abs() < 1e-5 * (1.0 + l0),
            "{what}: loss {} vs {l0}",
            g.loss_sum / b as f64
        );
        let rel = Relaxed {
            base: Some(&base),
            ..rel
        };
        check_grads(&rel, &specs, &pd, &xd, &y, &g.grads, &what);
        return;
    }
    panic!("{what}: no draw kept the membranes off the surrogate kinks");
}

/// Every trainable parameter's BPTT gradient `grads` against central finite
/// differences of the relaxed loss around `pd` (at most 16 entries per tensor).
fn check_grads(
    rel: &Relaxed,
    specs: &[ParamSpec],
    pd: &[Vec<f64>],
    xd: &[f64],
    y: &[u32],
    grads: &[Vec<f32>],
    what: &str,
) {
    let h = 1e-6;
    for (pi, s) in specs.iter().enumerate() {
        if !s.trainable {
            continue;
        }
        let scale = grads[pi].iter().fold(0f64, |m, v| m.max(v.abs() as f64));
        // At most 16 entries per tensor, spread over it.
        let n = pd[pi].len();
        for e in (0..n).step_by(n.div_ceil(16)) {
            let (mut pp, mut pm) = (pd.to_vec(), pd.to_vec());
            pp[pi][e] += h;
            pm[pi][e] -= h;
            let fd = (rel.loss(&pp, xd, y).0 - rel.loss(&pm, xd, y).0) / (2.0 * h);
            let got = grads[pi][e] as f64;
            assert!(
                (got - fd).abs() <= 1e-4 * scale + 1e-3 * fd.abs() + 1e-7,
                "{what}: d{}[{e}]: BPTT {got} vs finite difference {fd}",
                s.name
            );
        }
        // (a leak has no effect at T = 1: u(0) = 0)
        assert!(
            scale > 0.0 || (rel.t == 1 && s.name.ends_with(".leak")),
            "{what}: {} has no gradient",
            s.name
        );
    }
}

#[test]
fn snn_net_bptt_matches_finite_differences() {
    let sgs = [Surrogate::Boxcar, Surrogate::Triangle, Surrogate::FastSigmoid];
    for cfg in smooth_nets() {
        for (i, t) in [1usize, 2, 3].into_iter().enumerate() {
            for (j, leak) in [1.0f32, 0.875].into_iter().enumerate() {
                check(&cfg, t, leak, sgs[(i + j) % 3], (10 * i + j) as u64);
            }
        }
    }
}

/// The CPU reference's spike maps: one per conv/linear in the GPU net's
/// order (a block's conv1, conv2, shortcut), zeros for the analog layer.
#[test]
fn spike_maps_follow_the_synapse_order() {
    let cfg = &smooth_nets()[1];
    let specs = snn_param_specs(cfg).unwrap();
    let nr = vec![
        NeuronParams {
            vth: 1.0,
            beta: 1.0,
            shift: 0.0,
            alpha: 1.0,
            leak: 1.0,
            mu: 1.0,
            init: 0.0,
        };
        5
    ];
    let cpu = CpuSnn::new(cfg, &nr, 2, Surrogate::Boxcar).unwrap();
    let mut r = Rng::new(1);
    let p: Vec<Vec<f32>> = specs
        .iter()
        .map(|s| {
            if s.shape == [1] {
                vec![1.0]
            } else {
                r.vec_uniform(s.shape.iter().product(), 0.0, 1.0)
            }
        })
        .collect();
    let f = cpu.forward(&p, &r.vec_uniform(32, 0.5, 1.0), 1, None).unwrap();
    let sizes: Vec<usize> = f.spike_maps.iter().map(|m| m.len()).collect();
    // conv0 (analog: zeros), block1 conv1/conv2 (4x4), block2 conv1 (4x4), conv2 (2x2), shortcut (4x4), linear.
    assert_eq!(sizes, vec![16, 16, 16, 16, 4, 16, 1]);
    assert!(
        f.spike_maps[0].iter().all(|&c| c == 0),
        "the analog layer's input is not spikes"
    );
    assert!(
        f.spike_maps[1].iter().all(|&c| c > 0),
        "positive weights and inputs: every position spikes"
    );
}
