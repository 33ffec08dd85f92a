//! A pipeline's models in one archive (what the page keeps in IndexedDB across
//! a reload or a lost GPU device): restored into a fresh pipeline on another
//! device, the DNN, the calibration and the SNN give the same walkthrough,
//! sweep points and evaluations; a calibration of another DNN, a converted SNN
//! without its DNN and damaged bytes are refused by name.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::convert::ConversionMethod;
use ultraspike::pipeline::{Archive, DataSource, Pipeline, PipelineRestored, SnnOrigin, TrainOptions, TrainStart};

fn pipeline() -> Pipeline {
    let mut p = Pipeline::new(common::new_gpu());
    p.load_data(DataSource::Synthetic, Some(256), Some(100)).unwrap();
    p
}

fn trained(seed: u64) -> Pipeline {
    let mut p = pipeline();
    let opts = TrainOptions {
        model: "vgg-tiny".into(),
        epochs: 1,
        batch: 32,
        seed,
        ..TrainOptions::default()
    };
    p.start_training(&opts, TrainStart::Fresh).unwrap();
    while !pollster::block_on(p.train_steps(8)).unwrap().done {}
    pollster::block_on(p.calibrate(1, 64, |_| {})).unwrap();
    p
}

fn restored(bytes: &[u8]) -> Pipeline {
    let mut p = pipeline();
    p.restore(Archive::from_bytes(bytes).unwrap());
    p
}

/// (header JSON, DNN bytes, SNN bytes) of an archive, to build damaged ones.
fn sections(bytes: &[u8]) -> (serde_json::Value, Vec<u8>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[16..16 + n]).unwrap();
    let dnn_len = header["dnn_len"].as_u64().unwrap() as usize;
    let body = &bytes[16 + n..];
    (header, body[..dnn_len].to_vec(), body[dnn_len..].to_vec())
}

fn assemble(header: &serde_json::Value, dnn: &[u8], snn: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    [b"USPKARC1".as_slice(), &(h.len() as u64).to_le_bytes(), &h, dnn, snn].concat()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn refusal(bytes: &[u8]) -> String {
    match Archive::from_bytes(bytes) {
        Ok(_) => panic!("a damaged archive was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_restored_pipeline_draws_and_converts_as_the_original() {
    let mut p = trained(3);
    let conv = pollster::block_on(p.convert(ConversionMethod::AlphaBeta, 2, 100)).unwrap();
    let walk = p.walkthrough(1).unwrap();
    let point = pollster::block_on(p.sweep_point(ConversionMethod::Deng, 3, 100)).unwrap();
    let bytes = p.archive().unwrap();

    let mut q = restored(&bytes);
    assert_eq!(
        q.state(),
        p.state(),
        "same stages: data, DNN epoch, calibration, a converted SNN"
    );
    assert_eq!(
        q.walkthrough(1).unwrap(),
        walk,
        "the walkthrough needs the calibration: it came back"
    );
    let snn = pollster::block_on(q.evaluate_snn(None, 100)).unwrap();
    assert_eq!(snn.evaluation, conv.evaluation, "the SNN is the converted one");
    assert_eq!(
        pollster::block_on(q.sweep_point(ConversionMethod::Deng, 3, 100)).unwrap(),
        point
    );
    assert_eq!(
        q.archive().unwrap(),
        bytes,
        "archive -> restore -> archive is the identity"
    );

    // A converted SNN is still bound to its DNN after the restore: retraining drops it.
    q.start_training(
        &TrainOptions {
            model: "vgg-tiny".into(),
            epochs: 1,
            batch: 32,
            ..TrainOptions::default()
        },
        TrainStart::Fresh,
    )
    .unwrap();
    let st = q.state();
    assert!(
        !st.calibrated && st.snn.is_none(),
        "a new DNN drops the restored calibration and SNN: {st:?}"
    );
}

#[test]
fn an_empty_or_partial_pipeline_archives_what_it_has() {
    let mut p = pipeline();
    let empty = p.archive().unwrap();
    assert_eq!(
        p.restore(Archive::from_bytes(&empty).unwrap()),
        PipelineRestored {
            dnn: false,
            calibrated: false,
            snn: false
        }
    );

    let p = trained(4);
    let q = restored(&p.archive().unwrap());
    assert!(q.state().calibrated && q.state().snn.is_none() && q.state().dnn_epoch == Some(1));
}

#[test]
fn stale_or_damaged_archives_are_refused_by_name() {
    let mut a = trained(5);
    pollster::block_on(a.convert(ConversionMethod::AlphaBeta, 2, 100)).unwrap();
    let b = trained(6);
    let (header_a, dnn_a, snn_a) = sections(&a.archive().unwrap());
    let (_, dnn_b, _) = sections(&b.archive().unwrap());
    assert_ne!(dnn_a, dnn_b, "two seeds, two DNNs");

    // A's calibration with B's DNN: the fingerprint gives it away; with the
    // fingerprint forged too, a layer whose mu differs does.
    let mut h = header_a.clone();
    h["dnn_len"] = dnn_b.len().into();
    let msg = refusal(&assemble(&h, &dnn_b, &snn_a));
    assert!(msg.contains("made on another DNN"), "{msg}");
    h["calibration"]["dnn_fingerprint"] = fnv1a(&dnn_b).into();
    h["calibration"]["stats"][0]["mu"] = 1234.5.into();
    let msg = refusal(&assemble(&h, &dnn_b, &snn_a));
    assert!(msg.contains("a calibration of another DNN"), "{msg}");

    // A converted SNN without the DNN it came from.
    let mut h = header_a.clone();
    h["dnn_len"] = 0.into();
    h["calibration"] = serde_json::Value::Null;
    let msg = refusal(&assemble(&h, &[], &snn_a));
    assert!(msg.contains("no DNN"), "{msg}");
    // ... is fine when it was loaded from a file.
    h["snn_origin"] = serde_json::to_value(SnnOrigin::Loaded).unwrap();
    assert!(Archive::from_bytes(&assemble(&h, &[], &snn_a)).is_ok());

    // A calibration histogram that does not add up to its count.
    let mut h = header_a.clone();
    h["calibration"]["stats"][0]["count"] = 7.into();
    let msg = refusal(&assemble(&h, &dnn_a, &snn_a));
    assert!(msg.contains("malformed statistics"), "{msg}");

    let whole = assemble(&header_a, &dnn_a, &snn_a);
    for cut in [0, 5, 12, 40, whole.len() - 1] {
        let msg = refusal(&whole[..cut]);
        assert!(
            msg.starts_with("checkpoint: saved session:") || msg.contains("saved session"),
            "{msg}"
        );
    }
    let mut swapped = header_a.clone();
    swapped["dnn_len"] = snn_a.len().into();
    swapped["snn_len"] = dnn_a.len().into();
    let msg = refusal(&assemble(&swapped, &snn_a, &dnn_a));
    assert!(msg.contains("saved session: DNN:"), "{msg}");
}
