//! python/ultraspike_torch.py (the PyTorch / numpy rebuild of a checkpoint) against the Rust side,
//! with numpy only (python/check_ultraspike_torch.py):
//! - PyTorch out: small DNN and SNN checkpoints (every layer kind, residual blocks with and
//!   without a shortcut, an analog prefix, a bias-free layer, per-channel normalization, LIF
//!   leaks, shifts, spike heights) - the numpy forward of the file against the CPU reference's
//!   logits within 1e-5 * max(1, max |logit|), and the SNN's spike counts exactly; with
//!   ULTRASPIKE_TORCH_PYTHON set (an interpreter with torch; not in CI) the torch modules too;
//! - PyTorch in: a bare PyTorch-named state dict written by numpy + safetensors, evaluated by
//!   `ultraspike eval --model` on MNIST-format files Python wrote; the accuracy must equal the
//!   numpy forward's (70% by construction: the labels are its predictions on 35 of 50 images,
//!   each with a clear top-2 margin).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use std::path::{Path, PathBuf};

use ultraspike::checkpoint::Checkpoint;
use ultraspike::cpu::net::CpuNet;
use ultraspike::cpu::snn::CpuSnn;
use ultraspike::data::Normalization;
use ultraspike::meta::{DnnMeta, SnnMeta};
use ultraspike::models::config::{LayerSpec, ModelConfig};
use ultraspike::models::params::{init_params, ParamKind, ParamSpec};
use ultraspike::spec::{ConversionMethod, NeuronParams, Surrogate};
use ultraspike::util::rng::Rng;

use LayerSpec::*;

const CHECKER: &str = "python/check_ultraspike_torch.py";
const IMAGES: usize = 4;

fn conv(out: usize, k: usize, stride: usize, pad: usize, bias: bool) -> LayerSpec {
    Conv {
        out,
        k,
        stride,
        pad,
        bias,
    }
}

fn model(name: &str, input: [usize; 3], layers: Vec<LayerSpec>) -> ModelConfig {
    ModelConfig {
        name: name.into(),
        input,
        classes: 3,
        layers,
        act_levels: None,
    }
}

/// conv - act - avg-pool - dropout - strided bias-free conv - act - max-pool (overlapping) - linears.
fn vgg_mix() -> ModelConfig {
    let layers = vec![
        conv(4, 3, 1, 1, true),
        Act { mu: 1.5 },
        AvgPool { k: 2, stride: 2 },
        Dropout { p: 0.2 },
        conv(5, 3, 2, 1, false),
        Act { mu: 1.0 },
        MaxPool { k: 2, stride: 1 },
        Flatten,
        Linear { out: 6, bias: true },
        Act { mu: 2.0 },
        Dropout { p: 0.5 },
        Linear { out: 3, bias: true },
    ];
    model("vgg-mix", [2, 10, 10], layers)
}

/// A conv, an identity block, a strided block with a 1x1 shortcut, a bias-free classifier.
fn resnet_mix() -> ModelConfig {
    let layers = vec![
        conv(3, 3, 1, 1, true),
        Act { mu: 1.0 },
        Block {
            out: 3,
            stride: 1,
            dropout: 0.1,
        },
        Block {
            out: 4,
            stride: 2,
            dropout: 0.0,
        },
        Flatten,
        Linear { out: 3, bias: false },
    ];
    model("resnet-mix", [2, 6, 6], layers)
}

/// Conv and avg-pool before the first threshold ReLU (the SNN's analog prefix), a 1x1 conv.
fn analog_prefix() -> ModelConfig {
    let layers = vec![
        conv(3, 3, 1, 0, true),
        AvgPool { k: 2, stride: 2 },
        conv(4, 1, 1, 0, true),
        Act { mu: 1.0 },
        Flatten,
        Linear { out: 3, bias: true },
    ];
    model("analog-prefix", [2, 6, 6], layers)
}

/// `cfg` with QCFS activations of `levels` levels.
fn with_qcfs(cfg: ModelConfig, levels: u32) -> ModelConfig {
    ModelConfig {
        name: format!("{}-qcfs{levels}", cfg.name),
        act_levels: Some(levels),
        ..cfg
    }
}

fn models() -> Vec<ModelConfig> {
    vec![
        vgg_mix(),
        resnet_mix(),
        analog_prefix(),
        with_qcfs(vgg_mix(), 3),
        with_qcfs(resnet_mix(), 4),
    ]
}

fn norm() -> Normalization {
    Normalization {
        mean: vec![0.4, 0.6],
        std: vec![0.25, 0.3],
    }
}

/// Random finite values for every parameter: conv weights from `init_params`, linear weights
/// N(0, 1/in) (the paper's N(0, 0.01) would leave the SNN's classifier silent), biases N(0, 0.1)
/// (zero where the config turned them off), mu in [0.5, 2], V_th in [0.4, 1], leaks 1 or 0.9.
fn params(specs: &[ParamSpec], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let mut v = init_params(specs, seed);
    for (s, x) in specs.iter().zip(v.iter_mut()) {
        let n = x.len();
        match s.kind {
            ParamKind::Weight if s.shape.len() == 2 => *x = rng.vec_normal(n, (1.0 / s.shape[1] as f32).sqrt()),
            ParamKind::Bias if s.trainable => *x = rng.vec_normal(n, 0.1),
            ParamKind::Mu => *x = vec![rng.range(0.5, 2.0)],
            ParamKind::Vth => *x = vec![rng.range(0.4, 1.0)],
            ParamKind::Leak => *x = vec![if rng.below(2) == 0 { 1.0 } else { 0.9 }],
            _ => {}
        }
    }
    v
}

/// Random u8 pixels (as f32) and the normalized input of `IMAGES` images.
fn images(cfg: &ModelConfig, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let [c, h, w] = cfg.input;
    let pixels: Vec<u8> = (0..IMAGES * c * h * w).map(|_| rng.below(256) as u8).collect();
    let mut x = vec![0.0; pixels.len()];
    for (img, out) in pixels.chunks(c * h * w).zip(x.chunks_mut(c * h * w)) {
        norm().apply(img, c, out);
    }
    (pixels.iter().map(|&p| p as f32).collect(), x)
}

/// A fresh empty folder under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ultraspike-py-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The checkpoint (trainable tensors under their names) and the expected outputs, then the checker.
fn write_and_check(py: &Path, dir: &Path, meta: serde_json::Value, specs: &[ParamSpec], values: &[Vec<f32>]) {
    let mut ck = Checkpoint::new(meta);
    for (s, v) in specs.iter().zip(values).filter(|(s, _)| s.trainable) {
        ck.insert(&s.name, &s.shape, v.clone()).unwrap();
    }
    ck.save_atomic(&dir.join("model.safetensors")).unwrap();
    let out = common::run_python(py, CHECKER, &["forward".as_ref(), dir.as_os_str()]);
    eprint!("{out}");
    // Opt-in, outside CI: an interpreter with torch checks the torch modules too.
    if let Some(torch_py) = std::env::var_os("ULTRASPIKE_TORCH_PYTHON") {
        let args = ["forward".as_ref(), dir.as_os_str(), "--torch".as_ref()];
        eprint!("{}", common::run_python(Path::new(&torch_py), CHECKER, &args));
    }
}

fn expected(dir: &Path, cfg: &ModelConfig, pixels: Vec<f32>, logits: Vec<f32>, spikes: Option<Vec<f32>>) {
    let mut e = Checkpoint::new(serde_json::Value::Null);
    let [c, h, w] = cfg.input;
    e.insert("pixels", &[IMAGES, c, h, w], pixels).unwrap();
    e.insert("logits", &[IMAGES, cfg.classes], logits).unwrap();
    if let Some(s) = spikes {
        e.insert("spikes", &[s.len()], s).unwrap();
    }
    e.save_atomic(&dir.join("expected.safetensors")).unwrap();
}

#[test]
fn numpy_dnn_forward_matches_cpu_reference() {
    let Some(py) = common::python() else { return };
    for (i, cfg) in models().into_iter().enumerate() {
        let mut net = CpuNet::new(&cfg, 1).unwrap();
        net.values = params(&net.specs, 10 + i as u64);
        let (pixels, x) = images(&cfg, 20 + i as u64);
        let logits = net.logits(&x, IMAGES);
        let dir = scratch(&format!("dnn-{}", cfg.name));
        expected(&dir, &cfg, pixels, logits, None);
        let meta = DnnMeta {
            normalization: Some(norm()),
            ..DnnMeta::new(&cfg)
        };
        write_and_check(&py, &dir, serde_json::to_value(&meta).unwrap(), &net.specs, &net.values);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Neuron constants of each spiking layer: its V_th tensor, beta 1 or 1.25, a bias shift on
/// every other layer, the membrane starting at V_th / 2 on every third.
fn neurons(values: &[Vec<f32>], specs: &[ParamSpec]) -> Vec<NeuronParams> {
    let vth = specs.iter().zip(values).filter(|(s, _)| s.kind == ParamKind::Vth);
    vth.enumerate()
        .map(|(i, (_, v))| NeuronParams {
            vth: v[0],
            beta: if i % 2 == 0 { 1.0 } else { 1.25 },
            shift: if i % 2 == 0 { 0.0 } else { 0.03 },
            alpha: 1.0,
            leak: 1.0,
            mu: 1.0,
            init: if i % 3 == 2 { 0.5 } else { 0.0 },
        })
        .collect()
}

#[test]
fn numpy_snn_forward_matches_cpu_reference() {
    let Some(py) = common::python() else { return };
    let t = 6;
    for (i, cfg) in models().into_iter().enumerate() {
        let specs = ultraspike::models::params::snn_param_specs(&cfg).unwrap();
        let values = params(&specs, 30 + i as u64);
        let nrn = neurons(&values, &specs);
        let mut snn = CpuSnn::new(&cfg, &nrn, t, Surrogate::Triangle).unwrap();
        snn.out_scale = 1.5;
        let (pixels, x) = images(&cfg, 40 + i as u64);
        let f = snn.forward(&values, &x, IMAGES, None).unwrap();
        assert!(
            f.spike_counts.iter().all(|&c| c > 0),
            "{}: a silent layer {:?}",
            cfg.name,
            f.spike_counts
        );
        let dir = scratch(&format!("snn-{}", cfg.name));
        let spikes = f.spike_counts.iter().map(|&c| c as f32).collect();
        expected(&dir, &cfg, pixels, f.logits, Some(spikes));
        let meta = SnnMeta {
            kind: "snn".into(),
            model: cfg.clone(),
            timesteps: t,
            method: ConversionMethod::AlphaBeta,
            neurons: nrn,
            out_scale: 1.5,
            dataset: None,
            normalization: Some(norm()),
            finetune_epochs: 0,
            adam_steps: 0,
            history: Vec::new(),
        };
        write_and_check(&py, &dir, serde_json::to_value(&meta).unwrap(), &specs, &values);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `ultraspike eval --model` on a bare state dict Python wrote: the accuracy numpy computes.
#[test]
fn pytorch_state_dict_evaluates_with_model() {
    let Some(py) = common::python() else { return };
    let dir = scratch("state-dict");
    eprint!(
        "{}",
        common::run_python(&py, CHECKER, &["state-dict".as_ref(), dir.as_os_str()])
    );
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(["eval", "--dataset", "mnist", "--json", "--data"])
        .arg(&dir)
        .arg("--ckpt")
        .arg(dir.join("plain.safetensors"))
        .arg("--model")
        .arg(dir.join("model.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "eval failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    eprintln!("ultraspike eval --model: {got}; numpy: {want}");
    assert_eq!(got["images"], want["images"]);
    let (g, w) = (got["accuracy"].as_f64().unwrap(), want["accuracy"].as_f64().unwrap());
    assert!((g - w).abs() < 1e-6, "CLI accuracy {g}, numpy {w}");
    std::fs::remove_dir_all(&dir).unwrap();
}
