//! The SNN test models and parameter draws: the threshold-safe dyadic draws of
//! tests/snn_vs_cpu.rs (GPU SNN against the CPU reference) and the smooth nets
//! and uniform draws of tests/gradcheck_snn_net.rs (BPTT against finite differences).

use ultraspike::convert::NeuronParams;
use ultraspike::cpu::snn::{CpuSnn, SnnForward};
use ultraspike::models::config::{LayerSpec, ModelConfig};
use ultraspike::models::params::ParamSpec;
use ultraspike::snn::snn_param_specs;
use ultraspike::util::rng::Rng;

use LayerSpec::*;

/// A model of tests/snn_vs_cpu.rs: 3 classes.
pub fn model(name: &str, input: [usize; 3], layers: Vec<LayerSpec>) -> ModelConfig {
    ModelConfig {
        name: name.into(),
        input,
        classes: 3,
        layers,
        act_levels: None,
    }
}

pub fn vgg() -> ModelConfig {
    let c = |out| Conv {
        out,
        k: 3,
        stride: 1,
        pad: 1,
        bias: true,
    };
    model(
        "vgg",
        [2, 6, 6],
        vec![
            c(4),
            Act { mu: 1.0 },
            MaxPool { k: 2, stride: 2 },
            c(3),
            Act { mu: 1.0 },
            Flatten,
            Linear { out: 3, bias: true },
        ],
    )
}

/// avg-pool, dropout (identity at inference) and a linear-act in the classifier.
pub fn vgg_avg(drop: f32) -> ModelConfig {
    let c = |out| Conv {
        out,
        k: 3,
        stride: 1,
        pad: 1,
        bias: true,
    };
    let layers = vec![
        c(3),
        Act { mu: 1.0 },
        AvgPool { k: 2, stride: 2 },
        Dropout { p: drop },
        Flatten,
        Linear { out: 5, bias: true },
        Act { mu: 1.0 },
        Linear { out: 3, bias: false },
    ];
    model("vgg-avg", [1, 4, 6], layers)
}

pub fn resnet(shortcut: bool, drop: f32) -> ModelConfig {
    let (out, stride) = if shortcut { (4, 2) } else { (3, 1) };
    let layers = vec![
        Conv {
            out: 3,
            k: 3,
            stride: 1,
            pad: 1,
            bias: true,
        },
        Act { mu: 1.0 },
        Block {
            out,
            stride,
            dropout: drop,
        },
        Flatten,
        Linear { out: 3, bias: true },
    ];
    model(if shortcut { "res-sc" } else { "res-id" }, [2, 4, 4], layers)
}

/// Two analog layers (conv, avg-pool) before the first IF, and a 1x1 conv.
pub fn analog_prefix() -> ModelConfig {
    let layers = vec![
        Conv {
            out: 3,
            k: 3,
            stride: 1,
            pad: 0,
            bias: true,
        },
        AvgPool { k: 2, stride: 2 },
        Conv {
            out: 4,
            k: 1,
            stride: 1,
            pad: 0,
            bias: true,
        },
        Act { mu: 1.0 },
        Flatten,
        Linear { out: 3, bias: true },
    ];
    model("analog-prefix", [2, 6, 6], layers)
}

pub fn neurons(cfg: &ModelConfig, leak: f32) -> Vec<NeuronParams> {
    let n = snn_param_specs(cfg)
        .unwrap()
        .iter()
        .filter(|s| s.name.ends_with(".vth"))
        .count();
    (0..n)
        .map(|i| {
            let (vth, beta) = if i % 2 == 0 {
                (1.0 + 1.0 / 1024.0, 1.0)
            } else {
                (0.75 + 1.0 / 512.0, 1.5)
            };
            NeuronParams {
                vth,
                beta,
                shift: 0.0,
                alpha: 1.0,
                leak,
                mu: 1.0,
                // Every third layer starts at V_th / 2 (QCFS, `+half`).
                init: if i % 3 == 1 { 0.5 } else { 0.0 },
            }
        })
        .collect()
}

pub fn ints(r: &mut Rng, n: usize, lo: i32, hi: i32, denom: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (lo + r.below((hi - lo + 1) as usize) as i32) as f32 / denom)
        .collect()
}

/// b images of i/16, i in -8..=24 (mostly positive, like pixels).
pub fn image(r: &mut Rng, cfg: &ModelConfig, b: usize) -> Vec<f32> {
    ints(r, b * cfg.input.iter().product::<usize>(), -8, 24, 16.0)
}

/// Quantized parameters: weights j/32, biases odd k/64, vth/leak from `neurons`.
pub fn params(cfg: &ModelConfig, neurons: &[NeuronParams], r: &mut Rng) -> Vec<Vec<f32>> {
    let mut ni = 0;
    let mut out = Vec::new();
    for s in snn_param_specs(cfg).unwrap() {
        let n: usize = s.shape.iter().product();
        out.push(if s.name.ends_with(".vth") {
            ni += 1;
            vec![neurons[ni - 1].vth]
        } else if s.name.ends_with(".leak") {
            vec![neurons[ni - 1].leak]
        } else if s.name.ends_with(".bias") && s.trainable {
            (0..n).map(|_| (2 * r.below(5) as i32 - 3) as f32 / 64.0).collect()
        } else if s.name.ends_with(".bias") {
            vec![0.0; n]
        } else {
            ints(r, n, -4, 8, 32.0)
        });
    }
    out
}

/// The exactness argument of tests/snn_vs_cpu.rs's header, checked on the CPU traces: false
/// when some membrane sits exactly on the threshold (the caller redraws).
pub fn exact_and_clear(f: &SnnForward, p: &[Vec<f32>], cfg: &ModelConfig) -> bool {
    let vths: Vec<f32> = snn_param_specs(cfg)
        .unwrap()
        .iter()
        .zip(p)
        .filter(|(s, _)| s.name.ends_with(".vth"))
        .map(|(_, v)| v[0])
        .collect();
    for (tr, &vth) in f.traces.iter().zip(&vths) {
        for &u in tr {
            let m = u as f64 * (1u64 << 18) as f64;
            assert!(
                m.fract() == 0.0 && m.abs() < (1u64 << 24) as f64,
                "membrane {u} is not exact on the 2^-18 grid"
            );
            if u == vth {
                return false;
            }
        }
    }
    true
}

/// A threshold-safe draw: (params, images) whose CPU forward is exact and
/// clear, with spikes in every layer.
pub fn draw(
    cfg: &ModelConfig,
    nr: &[NeuronParams],
    cpu: &CpuSnn,
    b: usize,
    seed: u64,
    exact: bool,
    drop_seed: Option<u32>,
) -> (Vec<Vec<f32>>, Vec<f32>, SnnForward) {
    let mut r = Rng::new(seed);
    loop {
        let p = params(cfg, nr, &mut r);
        let x = image(&mut r, cfg, b);
        let f = cpu.forward(&p, &x, b, drop_seed).unwrap();
        if (!exact || exact_and_clear(&f, &p, cfg)) && f.spike_counts.iter().all(|&c| c > 0) {
            return (p, x, f);
        }
    }
}

/// Nets for the relaxed gradient check: every layer kind but max-pool (whose
/// ties make the relaxed net non-smooth), with 2 classes.
pub fn smooth_nets() -> Vec<ModelConfig> {
    let m = |name: &str, input, layers| ModelConfig {
        name: name.into(),
        input,
        classes: 2,
        layers,
        act_levels: None,
    };
    let c = |out, k, pad| Conv {
        out,
        k,
        stride: 1,
        pad,
        bias: true,
    };
    let a = || Act { mu: 1.0 };
    let lin = |out, bias| Linear { out, bias };
    vec![
        // Analog prefix of two layers, convs and a linear on spikes, dropout.
        m(
            "vgg",
            [1, 5, 5],
            vec![
                c(2, 3, 0),
                AvgPool { k: 1, stride: 1 },
                a(),
                Dropout { p: 0.5 },
                c(3, 3, 1),
                a(),
                AvgPool { k: 2, stride: 1 },
                Flatten,
                lin(4, false),
                a(),
                lin(2, true),
            ],
        ),
        m(
            "res",
            [2, 4, 4],
            vec![
                c(3, 3, 1),
                a(),
                Block {
                    out: 3,
                    stride: 1,
                    dropout: 0.5,
                },
                Block {
                    out: 2,
                    stride: 2,
                    dropout: 0.0,
                },
                Flatten,
                lin(2, true),
            ],
        ),
    ]
}

/// The gradient check's f64 convolution of `rows` images of shape `sh`
/// (out channels `co`, kernel `k`, stride `st`, padding `pad`): output and its shape.
#[allow(clippy::too_many_arguments)]
pub fn conv_f64(
    x: &[f64],
    rows: usize,
    sh: &[usize],
    w: &[f64],
    bias: &[f64],
    co: usize,
    k: usize,
    st: usize,
    pad: usize,
) -> (Vec<f64>, Vec<usize>) {
    let (ci, h, wd) = (sh[0], sh[1], sh[2]);
    let (oh, ow) = ((h + 2 * pad - k) / st + 1, (wd + 2 * pad - k) / st + 1);
    let mut y = vec![0.0; rows * co * oh * ow];
    for n in 0..rows {
        for o in 0..co {
            for (i, j) in (0..oh).flat_map(|i| (0..ow).map(move |j| (i, j))) {
                let mut acc = bias[o];
                for c in 0..ci {
                    for (a, e) in (0..k).flat_map(|a| (0..k).map(move |e| (a, e))) {
                        let (yy, xx) = (
                            (i * st + a) as isize - pad as isize,
                            (j * st + e) as isize - pad as isize,
                        );
                        if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd {
                            acc += x[((n * ci + c) * h + yy as usize) * wd + xx as usize]
                                * w[((o * ci + c) * k + a) * k + e];
                        }
                    }
                }
                y[((n * co + o) * oh + i) * ow + j] = acc;
            }
        }
    }
    (y, vec![co, oh, ow])
}

/// Neuron settings of the gradient check: vth, beta and shift spread over the `n_if` IF layers.
pub fn spread_neurons(n_if: usize, leak: f32) -> Vec<NeuronParams> {
    (0..n_if)
        .map(|i| NeuronParams {
            vth: 0.8 + 0.3 * i as f32,
            beta: 1.1 - 0.2 * i as f32,
            shift: 0.05 * i as f32,
            alpha: 1.0,
            leak,
            mu: 1.0,
            init: 0.0,
        })
        .collect()
}

/// Uniform parameters of the gradient check: vth from `nr`, the leak `leak`,
/// trainable biases in [-0.2, 0.4), fixed biases 0, weights in [-0.4, 0.8).
pub fn uniform_params(specs: &[ParamSpec], nr: &[NeuronParams], leak: f32, r: &mut Rng) -> Vec<Vec<f32>> {
    let mut p: Vec<Vec<f32>> = Vec::new();
    for s in specs {
        let n: usize = s.shape.iter().product();
        let ni = p.iter().zip(specs).filter(|(_, s)| s.name.ends_with(".vth")).count();
        p.push(match s.name.rsplit('.').next() {
            Some("vth") => vec![nr[ni].vth],
            Some("leak") => vec![leak],
            Some("bias") if s.trainable => r.vec_uniform(n, -0.2, 0.4),
            Some("bias") => vec![0.0; n],
            _ => r.vec_uniform(n, -0.4, 0.8),
        });
    }
    p
}
