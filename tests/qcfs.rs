//! QCFS and the half-threshold start: why they remove the conversion error (an IF
//! neuron that starts at V_th / 2 reproduces the quantized activation exactly at
//! T = L for a constant current, where one that starts at 0 is biased by half a
//! level), the recipe spelling shared by the CLI and the page, the options'
//! validation, and the whole path - train with QCFS, convert with `qcfs`, run the SNN
//! - on a small net and on ResNet-20 and VGG-16 with CIFAR-format files.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::convert::{convert, ConversionMethod, InitialMembrane, Recipe};
use ultraspike::cpu::activation::{qcfs_forward, threshold_relu_forward};
use ultraspike::cpu::spiking::if_forward;
use ultraspike::data::DatasetKind;
use ultraspike::models::{builtin, ModelConfig};
use ultraspike::pipeline::{DataSource, Pipeline, TrainOptions, TrainStart};
use ultraspike::spec::IfConfig;
use ultraspike::util::rng::Rng;

/// The rate code of an IF neuron (V_th = mu) fed the constant current x for T steps.
fn if_rate(x: &[f32], mu: f32, t: usize, init: f32) -> Vec<f32> {
    let cfg = IfConfig {
        init,
        ..IfConfig::default()
    };
    let f = if_forward(t, x.len(), &cfg, x, mu, 1.0);
    (0..x.len())
        .map(|i| (0..t).map(|s| f.out[s * x.len() + i]).sum::<f32>() / t as f32)
        .collect()
}

/// Currents away from the rounding edges (x T / mu + 1/2 and x T / mu integers).
fn currents(n: usize, mu: f32, t: usize) -> Vec<f32> {
    let mut r = Rng::new(3);
    (0..n)
        .map(|_| loop {
            let v = r.range(-0.3 * mu, 1.4 * mu);
            let z = v * t as f32 / mu;
            if (z - z.round()).abs() > 1e-3 && (z + 0.5 - (z + 0.5).round()).abs() > 1e-3 {
                break v;
            }
        })
        .collect()
}

#[test]
fn the_half_start_makes_the_if_rate_equal_qcfs_at_t_equal_l() {
    let mu = 1.5f32;
    for t in [1usize, 2, 4, 8] {
        let x = currents(2000, mu, t);
        let half = if_rate(&x, mu, t, 0.5);
        let q = qcfs_forward(&x, mu, t as u32);
        for (i, (a, b)) in half.iter().zip(&q).enumerate() {
            assert!((a - b).abs() < 1e-5, "T={t} x={}: IF from V_th/2 {a}, QCFS {b}", x[i]);
        }
        // From 0 the rate rounds down: half a level (mu / 2T) below the clip on average.
        let zero = if_rate(&x, mu, t, 0.0);
        let clip = threshold_relu_forward(&x, mu);
        let mean = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| (p - q) as f64).sum::<f64>() / a.len() as f64;
        let inside: Vec<usize> = (0..x.len()).filter(|&i| x[i] > 0.0 && x[i] < mu).collect();
        let pick = |v: &[f32]| inside.iter().map(|&i| v[i]).collect::<Vec<f32>>();
        let bias0 = mean(&pick(&zero), &pick(&clip));
        let bias_half = mean(&pick(&half), &pick(&clip));
        let level = (mu / t as f32) as f64;
        assert!(
            (bias0 + level / 2.0).abs() < 0.1 * level,
            "T={t}: start 0 bias {bias0}, level {level}"
        );
        assert!(bias_half.abs() < 0.1 * level, "T={t}: start V_th/2 bias {bias_half}");
    }
}

#[test]
fn recipes_parse_print_and_refuse_with_the_reason() {
    for (text, method, init, printed) in [
        (
            "alpha-beta",
            ConversionMethod::AlphaBeta,
            InitialMembrane::Zero,
            "alpha-beta",
        ),
        (
            "alpha-beta+half",
            ConversionMethod::AlphaBeta,
            InitialMembrane::Half,
            "alpha-beta+half",
        ),
        (
            "alpha-beta+zero",
            ConversionMethod::AlphaBeta,
            InitialMembrane::Zero,
            "alpha-beta",
        ),
        ("qcfs", ConversionMethod::Qcfs, InitialMembrane::Half, "qcfs"),
        ("qcfs+zero", ConversionMethod::Qcfs, InitialMembrane::Zero, "qcfs+zero"),
        ("deng+half", ConversionMethod::Deng, InitialMembrane::Half, "deng+half"),
    ] {
        let r: Recipe = text.parse().unwrap();
        assert_eq!((r.method, r.init), (method, init), "{text}");
        assert_eq!(r.to_string(), printed);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{printed}\""));
        assert_eq!(serde_json::from_str::<Recipe>(&json).unwrap(), r);
    }
    let r: Recipe = "deng+half+bias".parse().unwrap();
    assert_eq!(
        (r.method, r.init, r.bias_correction),
        (ConversionMethod::Deng, InitialMembrane::Half, true)
    );
    assert_eq!(r.to_string(), "deng+half+bias");
    assert_eq!("qcfs+bias".parse::<Recipe>().unwrap().to_string(), "qcfs+bias");
    // The CLI's separate flags: they combine with the spelling, a start given twice must agree.
    let r = Recipe::with_options("alpha-beta+bias", Some("half"), false).unwrap();
    assert_eq!(r.to_string(), "alpha-beta+half+bias");
    assert_eq!(
        Recipe::with_options("qcfs", None, true).unwrap().to_string(),
        "qcfs+bias"
    );
    assert_eq!(
        Recipe::with_options("deng+half", Some("half"), false)
            .unwrap()
            .to_string(),
        "deng+half"
    );
    for (spelled, init, says) in [
        (
            "deng+half",
            "zero",
            "--method deng+half and --init-membrane zero disagree",
        ),
        ("deng", "third", "--init-membrane: unknown initial membrane `third`"),
    ] {
        let err = Recipe::with_options(spelled, Some(init), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{spelled} {init}: {err}");
    }
    for (bad, says) in [
        ("alpha", "unknown conversion method `alpha`"),
        ("qcfs+third", "unknown option `+third`"),
        ("deng+half+zero", "`+zero` given twice or with its opposite"),
        ("deng+bias+bias", "`+bias` given twice"),
    ] {
        let err = bad.parse::<Recipe>().unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn act_levels_and_qcfs_options_are_validated() {
    let mut cfg = builtin("vgg-tiny", [1, 28, 28], 10).unwrap();
    cfg.act_levels = Some(4);
    let json = cfg.to_json();
    assert!(json.contains("\"act_levels\": 4"), "{json}");
    assert_eq!(ModelConfig::from_json(&json).unwrap(), cfg);
    // Without QCFS the field is left out, so older configs and checkpoints read the same.
    assert!(!builtin("vgg-tiny", [1, 28, 28], 10)
        .unwrap()
        .to_json()
        .contains("act_levels"));
    for bad in [0u32, 1025] {
        let err = ModelConfig::from_json(&json.replace("\"act_levels\": 4", &format!("\"act_levels\": {bad}")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("act_levels must be in 1..=1024"), "{err}");
    }
    let err = TrainOptions {
        qcfs: Some(0),
        ..TrainOptions::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(err.contains("--qcfs must be in 1..=1024"), "{err}");
}

/// Train vgg-tiny-avg with QCFS (L = 4) on the synthetic set, convert with `qcfs` (V_th = mu,
/// start V_th / 2): the SNN at T = 4 and 8 stays within a few points of its DNN, every
/// neuron says where it started, and `alpha-beta+half` carries the start too. A resumed run
/// must keep its activation.
#[test]
fn a_qcfs_dnn_converts_near_its_own_accuracy() {
    let mut p = Pipeline::new(common::new_gpu());
    p.load_data(DataSource::Synthetic, Some(512), Some(256)).unwrap();
    let opts = TrainOptions {
        model: "vgg-tiny-avg".into(),
        epochs: 4,
        batch: 32,
        seed: 1,
        qcfs: Some(4),
        ..TrainOptions::default()
    };
    p.start_training(&opts, TrainStart::Fresh).unwrap();
    while !pollster::block_on(p.train_steps(8)).unwrap().done {}
    let saved = p.saved_dnn().unwrap();
    assert_eq!(saved.meta.model.act_levels, Some(4));
    let dnn = pollster::block_on(p.evaluate_dnn(64)).unwrap().accuracy;
    assert!(dnn > 0.9, "the QCFS DNN learns the synthetic set: {dnn}");
    pollster::block_on(p.calibrate(4, 64, |_| {})).unwrap();
    for t in [4usize, 8] {
        let c = pollster::block_on(p.convert(ConversionMethod::Qcfs, t, 64)).unwrap();
        assert_eq!(c.method.to_string(), "qcfs");
        let acc = c.evaluation.accuracy;
        println!("qcfs T={t}: SNN {acc}, DNN {dnn}");
        assert!(acc >= dnn - 0.04, "qcfs at T={t}: {acc} vs DNN {dnn}");
        for n in &c.meta.neurons {
            assert_eq!((n.vth, n.init, n.beta), (n.mu, 0.5, 1.0), "{n:?}");
        }
    }
    let c = pollster::block_on(p.convert("alpha-beta+half".parse::<Recipe>().unwrap(), 2, 64)).unwrap();
    assert!(c.meta.neurons.iter().all(|n| n.init == 0.5));
    let plain = convert(ConversionMethod::AlphaBeta, p.layer_stats().unwrap(), 2).unwrap();
    for (a, b) in c.meta.neurons.iter().zip(&plain) {
        assert_eq!(
            (a.vth, a.beta, b.init),
            (b.vth, b.beta, 0.0),
            "the start changes nothing else"
        );
    }
    let err = p
        .start_training(&TrainOptions { qcfs: Some(2), ..opts }, TrainStart::Resume)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--qcfs 2") && err.contains("act_levels Some(4)"), "{err}");
}

/// CIFAR-10 binary records (label byte + 3072 pixels), as the official files hold them.
fn cifar_file(n: usize, rng: &mut Rng) -> Vec<u8> {
    let mut file = Vec::new();
    for _ in 0..n {
        file.push(rng.below(10) as u8);
        file.extend((0..3072).map(|_| rng.next_u32() as u8));
    }
    file
}

/// ResNet-20 and VGG-16 (the paper's) through the new path on CIFAR-format files: a QCFS
/// training step, calibration, `qcfs` conversion and the SNN's evaluation.
#[test]
fn resnet20_and_vgg16_train_and_convert_with_qcfs_on_cifar_files() {
    let mut rng = Rng::new(9);
    let (train, test) = (cifar_file(4, &mut rng), cifar_file(4, &mut rng));
    let files: [(&str, &[u8]); 2] = [("data_batch_1.bin", &train), ("test_batch.bin", &test)];
    for model in ["resnet20", "vgg16"] {
        let mut p = Pipeline::new(common::new_gpu());
        let summary = p
            .load_data(
                DataSource::Files {
                    kind: None,
                    files: &files,
                },
                None,
                None,
            )
            .unwrap();
        assert_eq!((summary.kind, summary.shape), (DatasetKind::Cifar10, [3, 32, 32]));
        let opts = TrainOptions {
            model: model.into(),
            epochs: 1,
            batch: 4, // one step: the epoch closes and is snapshotted
            qcfs: Some(8),
            ..TrainOptions::default()
        };
        p.start_training(&opts, TrainStart::Fresh).unwrap();
        while !pollster::block_on(p.train_steps(1)).unwrap().done {}
        assert_eq!(p.saved_dnn().unwrap().meta.model.act_levels, Some(8), "{model}");
        pollster::block_on(p.calibrate(1, 4, |_| {})).unwrap();
        let c = pollster::block_on(p.convert(ConversionMethod::Qcfs, 2, 4)).unwrap();
        assert_eq!(c.evaluation.images, 4, "{model}");
        assert!(c.evaluation.accuracy.is_finite() && c.meta.neurons.iter().all(|n| n.init == 0.5));
        let ck = pollster::block_on(p.snn_snapshot()).unwrap().ck.clone();
        let back = ultraspike::checkpoint::Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        let meta = ultraspike::meta::SnnMeta::from_checkpoint(&back).unwrap();
        assert_eq!(meta.model.act_levels, Some(8));
        assert!(
            meta.neurons.iter().all(|n| n.init == 0.5),
            "{model}: the start survives the checkpoint"
        );
    }
}
