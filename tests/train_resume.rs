//! DNN training runs are reproducible and resumable: a checkpoint round trip is
//! bit-exact, a run resumed from its epoch checkpoint ends with the same weights
//! as one that never stopped, and a diverging run stops with a clear error.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::checkpoint::Checkpoint;
use ultraspike::data::{synthetic_split, Dataset};
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::meta::DnnMeta;
use ultraspike::models::builtin;
use ultraspike::train::{TrainConfig, Trainer};
use ultraspike::Error;

fn run_epoch(t: &mut Trainer, train: &Dataset, test: &Dataset) {
    let gpu = common::gpu();
    while pollster::block_on(t.train_batch(gpu, train)).unwrap() {}
    pollster::block_on(t.flush(gpu)).unwrap();
    let ev = pollster::block_on(t.evaluate(gpu, test)).unwrap();
    t.finish_epoch(gpu, ev, 1.0);
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch: 16,
        augment: true,
        seed: 9,
        ..Default::default()
    }
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let gpu = common::gpu();
    let split = synthetic_split(96, 32, 1, 12, 12, 3, 4).unwrap();
    let model = builtin("vgg-tiny", [1, 12, 12], 3).unwrap();
    let mut straight = Trainer::new(gpu, &model, &split.train, config()).unwrap();
    run_epoch(&mut straight, &split.train, &split.test);
    run_epoch(&mut straight, &split.train, &split.test);
    let want = pollster::block_on(straight.net.read_params(gpu)).unwrap();

    let mut first = Trainer::new(gpu, &model, &split.train, config()).unwrap();
    run_epoch(&mut first, &split.train, &split.test);
    let meta = DnnMeta {
        epoch: first.run.epoch,
        step: first.run.step,
        history: first.run.history.clone(),
        ..DnnMeta::new(&model)
    };
    let bytes = pollster::block_on(first.net.to_checkpoint(gpu, &meta, true))
        .unwrap()
        .to_bytes()
        .unwrap();
    drop(first);

    let ck = Checkpoint::from_bytes(&bytes).unwrap();
    let meta = DnnMeta::from_checkpoint(&ck).unwrap();
    let mut resumed = Trainer::new(gpu, &meta.model, &split.train, config()).unwrap();
    resumed.net.load_checkpoint(gpu, &ck, true).unwrap();
    resumed.resume_at(gpu, meta.epoch, meta.step, meta.history);
    run_epoch(&mut resumed, &split.train, &split.test);
    let got = pollster::block_on(resumed.net.read_params(gpu)).unwrap();
    for ((name, _, a), (_, _, b)) in want.iter().zip(&got) {
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name} differs after resume"
        );
    }
}

#[test]
fn checkpoint_round_trip_is_bit_exact() {
    let gpu = common::gpu();
    let model = builtin("resnet20", [3, 32, 32], 10).unwrap();
    let net = DnnNet::new(gpu, &model, 1, 3, SgdConfig::default()).unwrap();
    let ck = pollster::block_on(net.to_checkpoint(gpu, &DnnMeta::new(&model), true)).unwrap();
    assert!(ck.tensors.contains_key("features.11.conv1.weight") && !ck.tensors.contains_key("classifier.0.bias"));
    let back = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
    let meta = DnnMeta::from_checkpoint(&back).unwrap();
    assert_eq!(meta.model, model, "the checkpoint alone rebuilds the model");
    let net2 = DnnNet::new(gpu, &meta.model, 1, 77, SgdConfig::default()).unwrap();
    net2.load_checkpoint(gpu, &back, true).unwrap();
    let (a, b) = (
        pollster::block_on(net.read_params(gpu)).unwrap(),
        pollster::block_on(net2.read_params(gpu)).unwrap(),
    );
    for ((name, _, x), (_, _, y)) in a.iter().zip(&b) {
        assert!(x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()), "{name}");
    }
    // A checkpoint of another model is refused with a message naming the problem.
    let other = builtin("vgg11", [3, 32, 32], 10).unwrap();
    let net3 = DnnNet::new(gpu, &other, 1, 0, SgdConfig::default()).unwrap();
    let e = net3.load_checkpoint(gpu, &back, false).unwrap_err().to_string();
    assert!(
        e.contains("features.0.weight") || e.contains("shape") || e.contains("do not belong"),
        "{e}"
    );
}

#[test]
fn divergence_stops_training_with_a_clear_error() {
    let gpu = common::gpu();
    let split = synthetic_split(64, 16, 1, 12, 12, 3, 5).unwrap();
    let model = builtin("vgg-tiny", [1, 12, 12], 3).unwrap();
    let cfg = TrainConfig {
        sgd: SgdConfig {
            lr: 1e12,
            momentum: 0.9,
            weight_decay: 0.0,
        },
        batch: 16,
        ..Default::default()
    };
    let mut t = Trainer::new(gpu, &model, &split.train, cfg).unwrap();
    let mut err = None;
    for _ in 0..8 {
        match pollster::block_on(t.train_batch(gpu, &split.train)) {
            Err(e) => {
                err = Some(e);
                break;
            }
            Ok(false) => t.begin_epoch(gpu),
            Ok(true) => {}
        }
    }
    // Steps queue without readbacks: the divergence shows at the next read of their statistics.
    if err.is_none() {
        err = pollster::block_on(t.flush(gpu)).err();
    }
    match err {
        Some(Error::Diverged(m)) => assert!(m.contains("learning rate"), "{m}"),
        other => panic!("expected a divergence error, got {other:?}"),
    }
    // Nothing non-finite can be saved.
    let w = t.net.param("features.0.weight").unwrap();
    let mut bad = vec![0.5; w.value.len()];
    bad[3] = f32::NAN;
    t.net.write_param(gpu, "features.0.weight", &bad).unwrap();
    let r = pollster::block_on(t.net.to_checkpoint(gpu, &DnnMeta::new(&model), false));
    assert!(matches!(r, Err(Error::Diverged(_))), "a NaN model must not be written");
}
