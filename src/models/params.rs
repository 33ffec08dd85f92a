//! Parameter naming (PyTorch-style, as a state_dict would name them), shapes
//! and the paper's initialization. Names follow a `Sequential`: layers before
//! `flatten` are `features.{i}`, the rest `classifier.{j}`; residual blocks name
//! their parts `features.{i}.conv1`, `.act1`, `.conv2`, `.shortcut`, `.act2`.

use super::config::{LayerSpec, ModelConfig};
use crate::error::Result;
use crate::util::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Weight,
    Bias,
    /// The threshold-ReLU ceiling mu (one scalar per layer).
    Mu,
    /// An SNN neuron layer's threshold V_th (one scalar per layer; replaces mu).
    Vth,
    /// An SNN neuron layer's leak (1 = IF, < 1 = LIF; one scalar per layer).
    Leak,
}

#[derive(Clone, Debug)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub kind: ParamKind,
    /// False for a bias the config turned off: kept at zero, never updated, not saved.
    pub trainable: bool,
    /// Standard deviation of the normal init (weights); biases start at 0, mu at its config value.
    pub init_std: f32,
    pub init_value: f32,
}

/// The `Sequential` prefix of layer `i`.
pub fn layer_prefix(cfg: &ModelConfig, i: usize) -> String {
    let flat = cfg.layers.iter().position(|l| matches!(l, LayerSpec::Flatten));
    match flat {
        Some(f) if i > f => format!("classifier.{}", i - f - 1),
        _ => format!("features.{i}"),
    }
}

fn conv(name: &str, c_in: usize, out: usize, k: usize, bias: bool) -> Vec<ParamSpec> {
    // Paper's code: conv weights ~ N(0, sqrt(2 / (k*k*C_out))).
    let std = (2.0 / (k * k * out) as f32).sqrt();
    vec![
        ParamSpec {
            name: format!("{name}.weight"),
            shape: vec![out, c_in, k, k],
            kind: ParamKind::Weight,
            trainable: true,
            init_std: std,
            init_value: 0.0,
        },
        ParamSpec {
            name: format!("{name}.bias"),
            shape: vec![out],
            kind: ParamKind::Bias,
            trainable: bias,
            init_std: 0.0,
            init_value: 0.0,
        },
    ]
}

fn mu(name: &str, value: f32) -> ParamSpec {
    ParamSpec {
        name: format!("{name}.mu"),
        shape: vec![1],
        kind: ParamKind::Mu,
        trainable: true,
        init_std: 0.0,
        init_value: value,
    }
}

/// The largest first QCFS level height mu / L a mu starts at: the first rounding edge
/// mu / 2L must sit under the pre-activations of a freshly initialized layer (about
/// 0.1-0.5 with our init), or no unit passes it and nothing learns. Measured on the
/// synthetic set (vgg-tiny-avg, 4 epochs): mu / L = 1 stays at chance (mu 4, L 4; mu 2, L 2),
/// 0.5 reaches 86 %, 0.25 or less 98 % like the plain clip.
pub const QCFS_FIRST_LEVEL_INIT: f32 = 0.25;

/// A mu's initial value: as configured, capped at L * `QCFS_FIRST_LEVEL_INIT` for QCFS.
fn mu_init(cfg: &ModelConfig, configured: f32) -> f32 {
    match cfg.act_levels {
        Some(l) => configured.min(l as f32 * QCFS_FIRST_LEVEL_INIT),
        None => configured,
    }
}

/// Every parameter of the model, in a fixed order (the order of the layers).
pub fn param_specs(cfg: &ModelConfig) -> Result<Vec<ParamSpec>> {
    let shapes = cfg.shapes()?;
    let mu = |name: &str, value: f32| mu(name, mu_init(cfg, value));
    let mut specs = Vec::new();
    let mut cur: Vec<usize> = cfg.input.to_vec();
    for (i, l) in cfg.layers.iter().enumerate() {
        let p = layer_prefix(cfg, i);
        match l {
            LayerSpec::Conv { out, k, bias, .. } => specs.extend(conv(&p, cur[0], *out, *k, *bias)),
            LayerSpec::Act { mu: m } => specs.push(mu(&p, *m)),
            LayerSpec::Linear { out, bias } => {
                // Paper's code: linear weights ~ N(0, 0.01).
                specs.push(ParamSpec {
                    name: format!("{p}.weight"),
                    shape: vec![*out, cur[0]],
                    kind: ParamKind::Weight,
                    trainable: true,
                    init_std: 0.01,
                    init_value: 0.0,
                });
                specs.push(ParamSpec {
                    name: format!("{p}.bias"),
                    shape: vec![*out],
                    kind: ParamKind::Bias,
                    trainable: *bias,
                    init_std: 0.0,
                    init_value: 0.0,
                });
            }
            LayerSpec::Block { out, .. } => {
                specs.extend(conv(&format!("{p}.conv1"), cur[0], *out, 3, true));
                specs.push(mu(&format!("{p}.act1"), 4.0));
                specs.extend(conv(&format!("{p}.conv2"), *out, *out, 3, true));
                if block_needs_shortcut(&cur, &shapes[i]) {
                    specs.extend(conv(&format!("{p}.shortcut"), cur[0], *out, 1, true));
                }
                specs.push(mu(&format!("{p}.act2"), 4.0));
            }
            _ => {}
        }
        cur = shapes[i].clone();
    }
    Ok(specs)
}

/// A block needs a 1x1 conv shortcut when channels or resolution change.
pub fn block_needs_shortcut(input: &[usize], output: &[usize]) -> bool {
    input != output
}

/// Initial values of every parameter, deterministic in `seed`.
pub fn init_params(specs: &[ParamSpec], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    specs
        .iter()
        .map(|s| {
            let n: usize = s.shape.iter().product();
            match s.kind {
                ParamKind::Weight => rng.vec_normal(n, s.init_std),
                _ => vec![s.init_value; n],
            }
        })
        .collect()
}

/// The SNN's parameters: the DNN's weights and biases, and for each
/// threshold-ReLU `prefix.mu` the neuron's `prefix.vth` and `prefix.leak`.
pub fn snn_param_specs(cfg: &ModelConfig) -> Result<Vec<ParamSpec>> {
    let mut out = Vec::new();
    for s in param_specs(cfg)? {
        if s.kind == ParamKind::Mu {
            let base = s.name.trim_end_matches(".mu").to_string();
            out.push(ParamSpec {
                name: format!("{base}.vth"),
                kind: ParamKind::Vth,
                ..s.clone()
            });
            out.push(ParamSpec {
                name: format!("{base}.leak"),
                kind: ParamKind::Leak,
                init_value: 1.0,
                ..s
            });
        } else {
            out.push(s);
        }
    }
    Ok(out)
}

/// For each spiking layer (each threshold ReLU, in parameter order), the bias that
/// adds to its input current and its length (the channels a per-channel correction
/// has), or None when there is no bias to move: the conv or linear it follows, through
/// pooling, dropout and flatten (a per-channel constant passes through all of them),
/// and a block's conv1 (act1) and conv2 (act2, whose input also sums the shortcut).
pub fn neuron_biases(cfg: &ModelConfig) -> Result<Vec<Option<(String, usize)>>> {
    let shapes = cfg.shapes()?;
    let mut out = Vec::new();
    let mut feeding: Option<(String, usize)> = None;
    for (i, l) in cfg.layers.iter().enumerate() {
        let p = layer_prefix(cfg, i);
        match l {
            LayerSpec::Conv { out: c, bias, .. } | LayerSpec::Linear { out: c, bias } => {
                feeding = bias.then(|| (format!("{p}.bias"), *c));
            }
            LayerSpec::Act { .. } => out.push(feeding.take()),
            LayerSpec::Block { .. } => {
                let c = shapes[i][0];
                out.push(Some((format!("{p}.conv1.bias"), c)));
                out.push(Some((format!("{p}.conv2.bias"), c)));
                feeding = None;
            }
            LayerSpec::MaxPool { .. } | LayerSpec::AvgPool { .. } | LayerSpec::Dropout { .. } | LayerSpec::Flatten => {}
        }
    }
    Ok(out)
}
