//! safetensors checkpoints: bit-exact round trip, a file laid out by hand the
//! way `safetensors.torch.save_file` writes it, damaged files, atomic saves.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use serde_json::json;
use ultraspike::checkpoint::{f16_to_f32, Checkpoint, META_KEY, OPTIMIZER_PREFIX};

fn sample() -> Checkpoint {
    let mut ck = Checkpoint::new(json!({
        "model": {"name": "vgg-tiny", "input": [3, 32, 32], "classes": 10},
        "normalization": {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.2010]},
        "epoch": 7,
        "metrics": {"test_acc": 0.9123, "loss": [2.3, 1.1, 0.52]},
    }));
    let odd = vec![
        0.0,
        -0.0,
        1.0e-45,
        f32::MAX,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::from_bits(0x7fc0_1234),
        -3.25,
    ];
    ck.insert("features.0.weight", &[2, 1, 2, 2], odd).unwrap();
    ck.insert("features.0.bias", &[2], vec![0.5, -0.5]).unwrap();
    ck.insert("classifier.weight", &[3, 4], (0..12).map(|i| i as f32 * 0.1).collect())
        .unwrap();
    ck.insert("act.1.mu", &[], vec![4.0]).unwrap();
    ck.extra.insert("format".into(), "pt".into());
    ck
}

#[test]
fn round_trip_is_bit_exact() {
    let ck = sample();
    let bytes = ck.to_bytes().unwrap();
    let back = Checkpoint::from_bytes(&bytes).unwrap();
    assert_eq!(back.metadata, ck.metadata);
    assert_eq!(back.extra, ck.extra);
    assert_eq!(
        back.tensors.keys().collect::<Vec<_>>(),
        ck.tensors.keys().collect::<Vec<_>>()
    );
    for (name, t) in &ck.tensors {
        let b = &back.tensors[name];
        assert_eq!(b.shape, t.shape, "{name}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&b.data), bits(&t.data), "{name}");
    }
    // the header is plain safetensors: 8-byte length, JSON, 8-byte aligned data
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["features.0.weight"]["dtype"], "F32");
    assert_eq!(header["features.0.weight"]["shape"], json!([2, 1, 2, 2]));
    let meta = header["__metadata__"][META_KEY].as_str().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(meta).unwrap()["epoch"], 7);
    assert_eq!(
        Checkpoint::new(serde_json::Value::Null).to_bytes().unwrap().len(),
        16,
        "empty: `{{}}` + padding"
    );
}

/// Lay out a safetensors file exactly as the Python writer does: header JSON
/// padded with spaces to a multiple of 8, then the tensors back to back.
fn handmade(entries: &[(&str, &str, Vec<usize>, Vec<u8>)], meta: &str) -> Vec<u8> {
    let mut header = format!("{{\"__metadata__\":{meta}");
    let mut data: Vec<u8> = Vec::new();
    for (name, dtype, shape, bytes) in entries {
        let (s, e) = (data.len(), data.len() + bytes.len());
        header += &format!(",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{s},{e}]}}");
        data.extend(bytes);
    }
    header += "}";
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

fn pytorch_like() -> Vec<u8> {
    let w: Vec<f32> = (0..18).map(|i| (i as f32 - 9.0) / 8.0).collect();
    let f16 = [0x3c00u16, 0xc000, 0x0001, 0x7bff]; // 1, -2, 2^-24, 65504
    let bf16 = [0x3f80u16, 0xc0a0]; // 1, -5
    handmade(
        &[
            ("features.0.weight", "F32", vec![2, 1, 3, 3], le(&w, f32::to_le_bytes)),
            (
                "features.0.bias",
                "F64",
                vec![2],
                le(&[0.25f64, -1.5], f64::to_le_bytes),
            ),
            ("classifier.weight", "F16", vec![2, 2], le(&f16, u16::to_le_bytes)),
            ("classifier.bias", "BF16", vec![2], le(&bf16, u16::to_le_bytes)),
            (
                "bn.num_batches_tracked",
                "I64",
                vec![],
                le(&[1234i64], i64::to_le_bytes),
            ),
        ],
        "{\"format\":\"pt\"}",
    )
}

#[test]
fn pytorch_written_file_loads() {
    let ck = Checkpoint::from_bytes(&pytorch_like()).unwrap();
    assert!(ck.metadata.is_null());
    assert_eq!(ck.extra.get("format").map(String::as_str), Some("pt"));
    let w = ck.get("features.0.weight", &[2, 1, 3, 3]).unwrap();
    assert_eq!(w[0], -9.0 / 8.0);
    assert_eq!(w[17], 1.0);
    assert_eq!(ck.get("features.0.bias", &[2]).unwrap(), &[0.25, -1.5]);
    assert_eq!(
        ck.get("classifier.weight", &[2, 2]).unwrap(),
        &[1.0, -2.0, 2f32.powi(-24), 65504.0]
    );
    assert_eq!(ck.get("classifier.bias", &[2]).unwrap(), &[1.0, -5.0]);
    assert_eq!(ck.get("bn.num_batches_tracked", &[]).unwrap(), &[1234.0]);
    // and it saves back as F32 with the PyTorch names and extra metadata kept
    let again = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
    assert_eq!(again, ck);
}

#[test]
fn f16_conversion() {
    assert_eq!(f16_to_f32(0x0000), 0.0);
    assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    assert_eq!(f16_to_f32(0x03ff), 1023.0 / 16_777_216.0);
    assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
    assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
    assert!(f16_to_f32(0x7e00).is_nan());
}

#[test]
fn damaged_files_and_mismatches_error_clearly() {
    let good = sample().to_bytes().unwrap();
    let msg = |b: &[u8]| Checkpoint::from_bytes(b).expect_err("should fail").to_string();
    let m = msg(&good[..good.len() - 4]);
    assert!(m.contains("truncated"), "{m}");
    let m = msg(&good[..100]);
    assert!(m.contains("header length") && m.contains("truncated"), "{m}");
    assert!(msg(&good[..5]).contains("too short"));
    let mut trailing = good.clone();
    trailing.extend([0; 4]);
    assert!(msg(&trailing).contains("trailing"));
    let mut bad = good.clone();
    bad[8] = b'x'; // the JSON's opening brace
    let m = msg(&bad);
    assert!(m.contains("not a valid safetensors file"), "{m}");
    // offsets that do not match the shape
    let wrong = handmade(&[("a", "F32", vec![3], vec![0; 8])], "{}");
    assert!(msg(&wrong).starts_with("checkpoint: "));
    // our metadata key holding something that is not JSON
    let m = msg(&handmade(
        &[("a", "F32", vec![1], vec![0; 4])],
        "{\"ultraspike\":\"{oops\"}",
    ));
    assert!(m.contains("not valid JSON"), "{m}");
    let m = msg(&handmade(
        &[("a", "I32", vec![1], vec![0; 4]), ("c", "C64", vec![1], vec![0; 8])],
        "{}",
    ));
    assert!(m.contains("`c`") && m.contains("C64"), "{m}");

    let ck = sample();
    let m = ck.get("features.0.weight", &[2, 1, 3, 3]).unwrap_err().to_string();
    assert!(m.contains("[2, 1, 2, 2]") && m.contains("[2, 1, 3, 3]"), "{m}");
    let m = ck.get("features.3.weight", &[1]).unwrap_err().to_string();
    assert!(
        m.contains("no tensor `features.3.weight`") && m.contains("features.0.bias"),
        "{m}"
    );
    assert!(Checkpoint::default().insert("x", &[2, 3], vec![0.0; 5]).is_err());
}

#[test]
fn atomic_save_leaves_no_temp_file() {
    let dir = std::env::temp_dir().join(format!("ultraspike-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let mut ck = sample();
    ck.save_atomic(&path).unwrap();
    ck.metadata["epoch"] = json!(8);
    ck.save_atomic(&path).unwrap(); // replaces the previous file
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["model.safetensors"]);
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back.metadata["epoch"], 8);
    assert_eq!(back.to_bytes().unwrap(), ck.to_bytes().unwrap());
    std::fs::write(&path, b"garbage!garbage!").unwrap();
    let m = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(m.contains("model.safetensors"), "{m}");
    let m = ck
        .save_atomic(&dir.join("missing-dir/x.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("cannot write"), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(Checkpoint::load(&path).is_err());
}

/// Equal checkpoints are equal files: the header's keys (metadata included)
/// come out in one order, whatever order a HashMap would pick.
#[test]
fn serialization_is_deterministic() {
    let mut ck = sample();
    ck.extra.insert("format".into(), "pt".into());
    ck.extra.insert("zz-note".into(), "kept".into());
    let first = ck.to_bytes().unwrap();
    for _ in 0..20 {
        assert_eq!(ck.to_bytes().unwrap(), first);
    }
    let back = Checkpoint::from_bytes(&first).unwrap();
    assert_eq!(back.extra, ck.extra);
    assert_eq!(back.metadata, ck.metadata);
    assert_eq!(back.to_bytes().unwrap(), first);
}

/// `ultraspike export --format weights`: the same file less the optimizer state (the SGD
/// momentum), bit for bit in everything else; what the page's bundled models are made with.
#[test]
fn export_weights_drops_only_the_optimizer_state() {
    let dir = std::env::temp_dir().join(format!("ultraspike-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (full, out) = (dir.join("full.safetensors"), dir.join("weights.safetensors"));
    let model = sample();
    let mut ck = model.clone();
    let momentum = format!("{OPTIMIZER_PREFIX}features.0.bias.momentum_buffer");
    ck.insert(&momentum, &[2], vec![0.25, 0.125]).unwrap();
    ck.save_atomic(&full).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(["export", "--format", "weights", "--ckpt"])
        .arg(&full)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let back = Checkpoint::load(&out).unwrap();
    assert!(back.same_bits(&model), "{:?}", back.tensors.keys().collect::<Vec<_>>());
    assert_eq!(back.metadata, model.metadata);
    assert!(Checkpoint::load(&full).unwrap().tensors.contains_key(&momentum));
    std::fs::remove_dir_all(&dir).unwrap();
}
