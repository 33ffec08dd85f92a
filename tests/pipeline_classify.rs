//! Classifying one image with only a checkpoint loaded (the embedding API,
//! `Session.classify`, used by examples/embed): a fresh pipeline with no data
//! reproduces the DNN's and the SNN's test accuracy image by image, its SNN
//! scores are the logits of the spike view, and bad pixels or a missing model
//! are refused with a message.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::checkpoint::Checkpoint;
use ultraspike::pipeline::{ClassifyWith, Pipeline, SpikeInput};

const TEST_IMAGES: usize = 24;

/// Images of `p`'s test set the embedding pipeline `e` classifies right with `with`.
fn correct(p: &Pipeline, e: &Pipeline, with: ClassifyWith) -> usize {
    (0..TEST_IMAGES)
        .filter(|&i| {
            let img = p.test_image(i).unwrap();
            let c = pollster::block_on(e.classify(&img.pixels, with)).unwrap();
            let sum: f32 = c.probabilities.iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
            c.predicted == img.label as usize
        })
        .count()
}

#[test]
fn a_checkpoint_alone_classifies_as_the_pipeline_evaluates() {
    let mut p = common::converted_pipeline(TEST_IMAGES, 2);
    let dnn_acc = pollster::block_on(p.evaluate_dnn(100)).unwrap().accuracy;
    let snn_acc = pollster::block_on(p.evaluate_snn(None, 100))
        .unwrap()
        .evaluation
        .accuracy;
    let dnn = pollster::block_on(p.dnn_snapshot()).unwrap().to_bytes().unwrap();
    let snn = pollster::block_on(p.snn_snapshot()).unwrap().to_bytes().unwrap();

    let mut e = Pipeline::new(common::new_gpu()); // no data: the files' normalization is used
    let err = pollster::block_on(e.classify(&[0; 256], ClassifyWith::Auto))
        .unwrap_err()
        .to_string();
    assert!(err.contains("DNN"), "{err}");
    e.load_checkpoint(Checkpoint::from_bytes(&dnn).unwrap()).unwrap();
    let shape = e.model_input(ClassifyWith::Auto).unwrap();
    assert_eq!((shape.model, shape.input, shape.classes), ("dnn", [1, 16, 16], 4));
    assert_eq!(
        correct(&p, &e, ClassifyWith::Auto),
        (dnn_acc * TEST_IMAGES as f32).round() as usize
    );
    e.load_checkpoint(Checkpoint::from_bytes(&snn).unwrap()).unwrap();
    assert_eq!(
        correct(&p, &e, ClassifyWith::Snn),
        (snn_acc * TEST_IMAGES as f32).round() as usize
    );
    assert_eq!(
        correct(&p, &e, ClassifyWith::Dnn),
        (dnn_acc * TEST_IMAGES as f32).round() as usize
    );

    let img = p.test_image(5).unwrap();
    let c = pollster::block_on(e.classify(&img.pixels, ClassifyWith::Auto)).unwrap();
    let maps = pollster::block_on(p.spike_maps(SpikeInput::Test(5), 0)).unwrap();
    assert_eq!((c.model, c.timesteps, c.predicted), ("snn", Some(2), maps.predicted));
    for (a, b) in c.scores.iter().zip(maps.scores.last().unwrap()) {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1.0),
            "{:?} vs {:?}",
            c.scores,
            maps.scores
        );
    }
    let err = pollster::block_on(e.classify(&[0; 10], ClassifyWith::Dnn))
        .unwrap_err()
        .to_string();
    assert!(err.contains("10 pixels given") && err.contains("1x16x16"), "{err}");
    assert!("spiking"
        .parse::<ClassifyWith>()
        .unwrap_err()
        .to_string()
        .contains("auto, dnn or snn"));

    // The page's upload: a file with metadata ignores the model menu, a bare state dict is read as it.
    let info = p
        .load_checkpoint_or_bare(Checkpoint::from_bytes(&dnn).unwrap(), Some("resnet20"))
        .unwrap();
    assert!(format!("{info:?}").contains("vgg-tiny") && format!("{info:?}").contains("state_dict: false"));
    let bare = Checkpoint {
        metadata: serde_json::Value::Null,
        ..Checkpoint::from_bytes(&dnn).unwrap()
    };
    let info = p.load_checkpoint_or_bare(bare, Some("vgg-tiny")).unwrap();
    assert!(format!("{info:?}").contains("state_dict: true"), "{info:?}");
    let again = pollster::block_on(p.evaluate_dnn(100)).unwrap().accuracy;
    assert_eq!(again, dnn_acc, "the same weights read as a bare state dict");
    // With no data loaded, a bare state dict has no image size to be built for: refused, named.
    let bare = Checkpoint {
        metadata: serde_json::Value::Null,
        ..Checkpoint::from_bytes(&dnn).unwrap()
    };
    let err = e
        .load_checkpoint_or_bare(bare, Some("vgg-tiny"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("data"), "{err}");
}

#[test]
fn average_pool_builtins_exist_once() {
    use ultraspike::models::builtin::builtin;
    use ultraspike::models::config::LayerSpec;
    let avg = builtin("vgg-tiny-avg", [1, 28, 28], 10).unwrap();
    assert_eq!(avg.name, "vgg-tiny-avg");
    assert!(avg.layers.iter().any(|l| matches!(l, LayerSpec::AvgPool { .. })));
    assert!(!avg.layers.iter().any(|l| matches!(l, LayerSpec::MaxPool { .. })));
    for bad in ["vgg-tiny-avg-avg", "nope-avg", "-avg"] {
        let err = builtin(bad, [1, 28, 28], 10).unwrap_err().to_string();
        assert!(err.contains("unknown model"), "{bad}: {err}");
    }
}
