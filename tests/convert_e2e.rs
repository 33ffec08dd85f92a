//! Train a tiny DNN, calibrate, convert with every method, and run the SNN:
//! the whole pipeline on the GPU, with sanity bounds on what comes out.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::convert::pipeline::{build_converted, calibrate_checkpoint, diagnostics};
use ultraspike::convert::{convert, ConversionMethod};
use ultraspike::data::synthetic_split;
use ultraspike::meta::DnnMeta;
use ultraspike::models::builtin;
use ultraspike::snn::energy::CMOS_45NM;
use ultraspike::snn::eval::evaluate_snn;
use ultraspike::snn::SnnOptions;
use ultraspike::train::{TrainConfig, Trainer};

#[test]
fn tiny_pipeline_converts_with_every_method() {
    let gpu = common::gpu();
    let split = synthetic_split(512, 128, 1, 16, 16, 4, 3).unwrap();
    let model = builtin("vgg-tiny", [1, 16, 16], 4).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch: 32,
        ..Default::default()
    };
    let mut t = Trainer::new(gpu, &model, &split.train, cfg).unwrap();
    while !t.is_done() {
        while pollster::block_on(t.train_batch(gpu, &split.train)).unwrap() {}
        pollster::block_on(t.flush(gpu)).unwrap();
        let ev = pollster::block_on(t.evaluate(gpu, &split.test)).unwrap();
        t.finish_epoch(gpu, ev, 1.0);
    }
    let dnn_acc = t.run.history.last().unwrap().test_acc;
    assert!(dnn_acc > 0.9, "DNN should learn the synthetic set: {dnn_acc}");
    let ck = pollster::block_on(t.net.to_checkpoint(gpu, &DnnMeta::new(&model), false)).unwrap();
    let stats = pollster::block_on(calibrate_checkpoint(gpu, &model, &ck, &split.train, 4, 32)).unwrap();
    assert_eq!(stats.len(), 2);
    for s in &stats {
        assert!(
            s.min <= s.percentiles[0] as f32 && s.percentiles[98] as f32 <= s.max,
            "{s:?}"
        );
        assert!(
            s.count > 0 && s.count % (4 * 32) == 0,
            "every pre-activation of 4 batches of 32 counted once: {}",
            s.count
        );
    }
    for method in ConversionMethod::ALL {
        for tt in [2usize, 8] {
            let neurons = convert(method, &stats, tt).unwrap();
            let snn = build_converted(gpu, &model, &ck, &neurons, SnnOptions::inference(32, tt)).unwrap();
            let ev = pollster::block_on(evaluate_snn(gpu, &snn, &split.test, Some(CMOS_45NM))).unwrap();
            let e = ev.energy.as_ref().unwrap();
            println!(
                "{method} T={tt}: acc {:.3} spikes/img {:.1} energy ratio {:.1}",
                ev.accuracy, ev.total_spikes_per_image, e.ratio
            );
            assert!(
                ev.accuracy > 0.25 || method == ConversionMethod::MaxNorm,
                "{method} T={tt}: {}",
                ev.accuracy
            );
            assert!(e.dnn_pj > 0.0);
            let d = diagnostics(&stats, &neurons, &ev, tt);
            assert_eq!(d.len(), 2);
        }
    }
}

/// Every built-in model converts and runs as an SNN (ResNet-20's blocks included:
/// IF neurons after the residual add, spikes on the shortcut), and builds for BPTT.
#[test]
fn every_builtin_model_builds_as_an_snn() {
    use ultraspike::convert::NeuronParams;
    use ultraspike::snn::SnnNet;
    let gpu = common::gpu();
    for name in ultraspike::models::builtin::NAMES {
        let (input, classes) = if name.starts_with("vgg-") {
            ([1, 28, 28], 10)
        } else {
            ([3, 32, 32], 10)
        };
        let model = builtin(name, input, classes).unwrap();
        let n = ultraspike::snn::snn_param_specs(&model)
            .unwrap()
            .iter()
            .filter(|s| s.name.ends_with(".vth"))
            .count();
        let neurons = vec![
            NeuronParams {
                vth: 0.5,
                beta: 1.0,
                shift: 0.0,
                alpha: 1.0,
                leak: 1.0,
                mu: 4.0,
                init: 0.0,
            };
            n
        ];
        let snn = SnnNet::new(gpu, &model, &neurons, SnnOptions::inference(1, 2)).unwrap();
        let x = vec![0.5; input.iter().product()];
        let s = pollster::block_on(snn.eval_step(gpu, &x, &[0], 1, true)).unwrap();
        assert!(s.loss_sum.is_finite(), "{name}");
        let train = SnnOptions {
            train: true,
            ..SnnOptions::inference(1, 2)
        };
        assert!(
            SnnNet::new(gpu, &model, &neurons, train).is_ok(),
            "{name} builds for fine-tuning"
        );
    }
}

/// A partial last batch counts like full ones: its padding rows (which hold
/// the previous batch's images) are left out of the spike counts and maps.
#[test]
fn partial_batches_count_like_full_ones() {
    use ultraspike::dnn::{DnnNet, SgdConfig};
    let gpu = common::gpu();
    let split = synthetic_split(64, 13, 1, 12, 12, 3, 9).unwrap();
    let model = builtin("vgg-tiny", [1, 12, 12], 3).unwrap();
    let dnn = DnnNet::new(gpu, &model, 16, 5, SgdConfig::default()).unwrap();
    let ck = pollster::block_on(dnn.to_checkpoint(gpu, &DnnMeta::new(&model), false)).unwrap();
    let stats = pollster::block_on(calibrate_checkpoint(gpu, &model, &ck, &split.train, 2, 32)).unwrap();
    let neurons = convert(ConversionMethod::AlphaBeta, &stats, 3).unwrap();
    let run = |b: usize| {
        let snn = build_converted(gpu, &model, &ck, &neurons, SnnOptions::inference(b, 3)).unwrap();
        pollster::block_on(evaluate_snn(gpu, &snn, &split.test, Some(CMOS_45NM))).unwrap()
    };
    let whole = run(13);
    assert!(
        whole.layers.iter().all(|l| l.spikes_per_image > 0.0),
        "every layer should spike: {:?}",
        whole.layers
    );
    for b in [5, 4] {
        let part = run(b);
        let spikes =
            |e: &ultraspike::snn::eval::SnnEvaluation| e.layers.iter().map(|l| l.spikes_per_image).collect::<Vec<_>>();
        assert_eq!(spikes(&part), spikes(&whole), "batch {b}: spikes per layer");
        let ops = |e: &ultraspike::snn::eval::SnnEvaluation| {
            e.energy
                .as_ref()
                .unwrap()
                .layers
                .iter()
                .map(|l| l.snn_ops)
                .collect::<Vec<_>>()
        };
        assert_eq!(ops(&part), ops(&whole), "batch {b}: synaptic operations");
        assert_eq!(part.accuracy, whole.accuracy, "batch {b}: accuracy");
    }
}
