//! The bias correction after a conversion (`+bias`): the calibration's per-channel
//! DNN means agree with its overall mean, a corrected SNN's per-channel outputs sit
//! closer to the DNN's than before in every layer (measured by running the correction
//! again), only the biases feeding spiking layers move, and the recipe reaches the
//! pipeline's conversion and its checkpoint.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::convert::bias_correction::correct_biases;
use ultraspike::convert::pipeline::build_converted;
use ultraspike::convert::{convert, ConversionMethod, Recipe};
use ultraspike::models::params::neuron_biases;
use ultraspike::pipeline::{Archive, DataSource, Pipeline, TrainOptions, TrainStart};
use ultraspike::snn::SnnOptions;

fn trained() -> Pipeline {
    let mut p = Pipeline::new(common::new_gpu());
    p.load_data(DataSource::Synthetic, Some(512), Some(128)).unwrap();
    let opts = TrainOptions {
        model: "vgg-tiny".into(),
        epochs: 2,
        batch: 32,
        seed: 2,
        ..TrainOptions::default()
    };
    p.start_training(&opts, TrainStart::Fresh).unwrap();
    while !pollster::block_on(p.train_steps(8)).unwrap().done {}
    pollster::block_on(p.calibrate(4, 64, |_| {})).unwrap();
    p
}

#[test]
fn the_correction_closes_the_per_channel_gaps_layer_by_layer() {
    let mut p = trained();
    let gpu = p.gpu();
    let stats = p.layer_stats().unwrap().to_vec();
    let model = p.saved_dnn().unwrap().meta.model.clone();
    let biases = neuron_biases(&model).unwrap();
    assert_eq!(biases.len(), stats.len());
    for (s, b) in stats.iter().zip(&biases) {
        assert_eq!(s.images, 256);
        assert_eq!(s.channel_means.len(), b.as_ref().unwrap().1, "{}", s.name);
        let avg = s.channel_means.iter().sum::<f64>() / s.channel_means.len() as f64;
        assert!(
            (avg - s.mean_post).abs() <= 1e-4 * s.mean_post.abs().max(1e-3),
            "{}: {avg} vs {}",
            s.name,
            s.mean_post
        );
    }
    // At T = 2 without a correction the SNN's means fall short of the DNN's (it rounds down).
    let ck = p.saved_dnn().unwrap().ck.clone();
    let neurons = convert(ConversionMethod::Qcfs, &stats, 4).unwrap();
    let snn = build_converted(gpu, &model, &ck, &neurons, SnnOptions::inference(64, 4)).unwrap();
    let train = &p.data().unwrap().train;
    let read_all = || -> Vec<(String, Vec<f32>)> {
        let values = snn
            .params
            .iter()
            .map(|p| pollster::block_on(gpu.read(&p.value)).unwrap());
        snn.params.iter().map(|p| p.spec.name.clone()).zip(values).collect()
    };
    let before = read_all();
    let first = pollster::block_on(correct_biases(gpu, &snn, &stats, train)).unwrap();
    let second = pollster::block_on(correct_biases(gpu, &snn, &stats, train)).unwrap();
    for (a, b) in first.iter().zip(&second) {
        println!(
            "{}: mean |gap| {:.5}, last round {:.5}, after {:.5}",
            a.name, a.mean_abs_gap, a.last_round_gap, b.mean_abs_gap
        );
        assert!(
            a.last_round_gap < a.mean_abs_gap,
            "{}: the rounds shrink the gap",
            a.name
        );
        assert!(a.mean_abs_gap > 1e-3, "{}: nothing to correct", a.name);
        assert!(
            b.mean_abs_gap < 0.5 * a.mean_abs_gap,
            "{}: {} then {}",
            a.name,
            a.mean_abs_gap,
            b.mean_abs_gap
        );
    }
    // Only the biases in front of spiking layers moved.
    let moved: Vec<String> = read_all()
        .into_iter()
        .zip(before)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, _), _)| name)
        .collect();
    let want: Vec<String> = biases.into_iter().map(|b| b.unwrap().0).collect();
    assert_eq!(moved, want);

    // Through the pipeline: the recipe's report, its spelling, and a checkpoint with the moved biases.
    let c = pollster::block_on(p.convert("max-norm+bias".parse::<Recipe>().unwrap(), 2, 64)).unwrap();
    assert_eq!(c.method.to_string(), "max-norm+bias");
    assert_eq!(c.bias_corrections.len(), 2);
    let plain = pollster::block_on(p.convert(ConversionMethod::MaxNorm, 2, 64)).unwrap();
    assert!(plain.bias_corrections.is_empty());
    println!(
        "max-norm T=2: {} plain, {} corrected",
        plain.evaluation.accuracy, c.evaluation.accuracy
    );

    // A session saved before bias correction existed has no per-channel means: `+bias`
    // is refused by name with what to do, the other recipes still convert.
    let old = Archive::from_bytes(&without_channel_means(&p.archive().unwrap())).unwrap();
    let mut restored = Pipeline::new(common::new_gpu());
    restored.set_data(p.data().unwrap().clone());
    assert!(restored.restore(old).calibrated);
    let err = pollster::block_on(restored.convert("qcfs+bias".parse::<Recipe>().unwrap(), 2, 64))
        .unwrap_err()
        .to_string();
    assert!(err.contains("(it predates bias correction): calibrate again"), "{err}");
    assert!(err.contains(&stats[0].name), "{err}");
    pollster::block_on(restored.convert(ConversionMethod::Qcfs, 2, 64)).unwrap();
}

/// The archive as an older build wrote it: its calibration without `images` and
/// `channel_means` (layout: magic, u64 header length, JSON header, sections).
fn without_channel_means(archive: &[u8]) -> Vec<u8> {
    let len = u64::from_le_bytes(archive[8..16].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&archive[16..16 + len]).unwrap();
    let stats = header["calibration"]["stats"].as_array_mut().unwrap();
    for layer in stats {
        let fields = layer.as_object_mut().unwrap();
        assert!(fields.remove("images").is_some() && fields.remove("channel_means").is_some());
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = archive[..8].to_vec();
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&archive[16 + len..]);
    out
}
