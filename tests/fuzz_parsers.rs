//! A seeded mutation fuzzer over every parser that takes user bytes or JSON:
//! IDX (raw and gzip), CIFAR (loose .bin, .tar, .tar.gz) through the named-upload
//! loader, checkpoints with DNN and SNN metadata, session archives (the page's
//! saved state) and model configs. Each case
//! must return (Ok or a clean `Err`), never panic; the test build has overflow
//! checks on, so an unchecked size computation panics here.
//!
//! `scripts/test.sh` runs a bounded number of cases (it is `#[ignore]`d in a plain
//! `cargo test`): `cargo test --test fuzz_parsers -- --ignored --nocapture`.
//! A longer run: `ULTRASPIKE_FUZZ_CASES=200000 ULTRASPIKE_FUZZ_SEED=7 cargo test
//! --release --test fuzz_parsers -- --ignored --nocapture`. A crashing input is
//! written to `target/fuzz-crash-<target>-<case>.bin` to become a regression test.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ultraspike::checkpoint::Checkpoint;
use ultraspike::data::load_named_files;
use ultraspike::meta::{DnnMeta, SnnMeta};
use ultraspike::models::params::{param_specs, snn_param_specs};
use ultraspike::models::{builtin, ModelConfig};
use ultraspike::pipeline::Archive;
use ultraspike::util::rng::Rng;

/// Named files, as a page upload or a folder gives them.
type Files = Vec<(String, Vec<u8>)>;

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
    out.extend(data);
    out
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend(h);
        out.extend(*data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A small valid MNIST-format upload: 3 train and 2 test images of 28x28.
fn mnist_files(rng: &mut Rng) -> Files {
    let px = |n: usize, rng: &mut Rng| (0..n * 784).map(|_| rng.next_u32() as u8).collect::<Vec<u8>>();
    let (tr, te) = (px(3, rng), px(2, rng));
    vec![
        ("train-images-idx3-ubyte".into(), idx(&[3, 28, 28], &tr)),
        ("train-labels-idx1-ubyte".into(), idx(&[3], &[1, 2, 3])),
        ("t10k-images-idx3-ubyte.gz".into(), gzip(&idx(&[2, 28, 28], &te))),
        ("t10k-labels-idx1-ubyte.gz".into(), gzip(&idx(&[2], &[4, 5]))),
    ]
}

/// CIFAR-10 as loose batches and as one archive, .tar and .tar.gz (2 records per batch).
fn cifar_uploads(rng: &mut Rng) -> (Files, Files) {
    let batch = |rng: &mut Rng| {
        (0..2)
            .flat_map(|_| {
                std::iter::once(3u8)
                    .chain((0..3072).map(|_| rng.next_u32() as u8))
                    .collect::<Vec<u8>>()
            })
            .collect::<Vec<u8>>()
    };
    let mut loose: Files = (1..=5).map(|i| (format!("data_batch_{i}.bin"), batch(rng))).collect();
    loose.push(("test_batch.bin".into(), batch(rng)));
    let entries: Vec<(String, &[u8])> = loose
        .iter()
        .map(|(n, b)| (format!("cifar-10-batches-bin/{n}"), b.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let archives = vec![
        ("cifar-10-binary.tar".into(), tar(&refs)),
        ("cifar-10-binary.tar.gz".into(), gzip(&tar(&refs))),
    ];
    drop(entries);
    (loose, archives)
}

/// A DNN and an SNN checkpoint of vgg-tiny on 1x16x16 with their metadata.
fn checkpoints() -> (Vec<u8>, Vec<u8>, String) {
    let model = builtin("vgg-tiny", [1, 16, 16], 4).unwrap();
    let mut dnn = Checkpoint::new(serde_json::to_value(DnnMeta::new(&model)).unwrap());
    for s in param_specs(&model).unwrap() {
        let n = s.shape.iter().product();
        dnn.insert(&s.name, &s.shape, vec![0.5; n]).unwrap();
    }
    let neurons = r#"{"vth":1.0,"beta":1.0,"shift":0.0,"alpha":1.0,"leak":1.0,"mu":4.0}"#;
    let n_neurons = snn_param_specs(&model)
        .unwrap()
        .iter()
        .filter(|s| s.name.ends_with(".vth"))
        .count();
    let snn_meta = format!(
        r#"{{"kind":"snn","model":{},"timesteps":2,"method":"alpha-beta","neurons":[{}],"dataset":null,"normalization":null}}"#,
        serde_json::to_string(&model).unwrap(),
        vec![neurons; n_neurons].join(",")
    );
    let mut snn = Checkpoint::new(serde_json::from_str(&snn_meta).unwrap());
    for s in snn_param_specs(&model).unwrap() {
        let n = s.shape.iter().product();
        snn.insert(&s.name, &s.shape, vec![0.5; n]).unwrap();
    }
    (dnn.to_bytes().unwrap(), snn.to_bytes().unwrap(), model.to_json())
}

/// Session archives (what the page keeps across a reload) of those checkpoints:
/// a DNN with its calibration (one histogram per threshold-ReLU) and a loaded SNN.
fn session_archives(dnn: &[u8], snn: &[u8]) -> Vec<Vec<u8>> {
    let model = builtin("vgg-tiny", [1, 16, 16], 4).unwrap();
    let layer = |name: &str| {
        let mut hist = vec![0u32; ultraspike::convert::stats::BINS];
        hist[0] = 3;
        hist[100] = 5;
        serde_json::json!({"name": name.trim_end_matches(".mu"), "mu": 0.5, "count": 8, "min": -1.0, "max": 1.0,
            "hist": hist, "hist_top": 1.0, "percentiles": vec![0.25; 99], "p99_9": 0.9, "p99_99": 1.0,
            "percentile_error": 0.01, "mean_post": 0.2})
    };
    let stats: Vec<_> = param_specs(&model)
        .unwrap()
        .iter()
        .filter(|s| s.kind == ultraspike::models::params::ParamKind::Mu)
        .map(|s| layer(&s.name))
        .collect();
    let fnv = |b: &[u8]| {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
            (h ^ x as u64).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let archive = |header: serde_json::Value, body: &[&[u8]]| {
        let h = serde_json::to_vec(&header).unwrap();
        [
            b"USPKARC1".as_slice(),
            &(h.len() as u64).to_le_bytes(),
            &h,
            &body.concat(),
        ]
        .concat()
    };
    let calibrated = serde_json::json!({"dnn_len": dnn.len(), "snn_len": 0, "snn_origin": null,
        "calibration": {"dnn_fingerprint": fnv(dnn), "stats": stats, "last_t": 2, "steps": 4}});
    let with_snn =
        serde_json::json!({"dnn_len": dnn.len(), "snn_len": snn.len(), "snn_origin": "loaded", "calibration": null});
    vec![archive(calibrated, &[dnn]), archive(with_snn, &[dnn, snn])]
}

/// One mutation of `seed`: flips, overwrites with edge values, inserts, deletes,
/// truncates, duplicates a span, or (for text) swaps a number for an extreme one.
fn mutate(seed: &[u8], rng: &mut Rng, text: bool) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if b.is_empty() { 0 } else { rng.below(b.len()) };
        match rng.below(if text { 8 } else { 7 }) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = [0, 0xff, 0x7f, 0x80, b'9', b'-'][rng.below(6)],
            2 => b.insert(at, rng.next_u32() as u8),
            3 if !b.is_empty() => {
                b.remove(at);
            }
            4 => b.truncate(at),
            5 if !b.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                let span = b[at..end].to_vec();
                b.splice(at..at, span);
            }
            6 if !b.is_empty() => {
                let w = (rng.below(4) + 1).min(b.len() - at);
                for x in &mut b[at..at + w] {
                    *x = 0xff;
                }
            }
            7 => {
                let extreme = [
                    "0",
                    "-1",
                    "4294967296",
                    "9223372036854775807",
                    "2305843009213693952",
                    "1e39",
                    "1e-45",
                    "NaN",
                ][rng.below(8)];
                let s = String::from_utf8_lossy(&b).into_owned();
                let digits: Vec<usize> = s
                    .char_indices()
                    .filter(|(_, c)| c.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                if let Some(&i) = digits.get(rng.below(digits.len().max(1))) {
                    let end = s[i..]
                        .find(|c: char| !c.is_ascii_digit() && c != '.')
                        .map_or(s.len(), |e| i + e);
                    b = format!("{}{extreme}{}", &s[..i], &s[end..]).into_bytes();
                }
            }
            _ => {}
        }
    }
    b
}

/// Parse one input (and the index of the seed it came from); true when it was accepted.
type Parser<'a> = Box<dyn Fn(&[u8], usize) -> bool + 'a>;

struct Target<'a> {
    name: &'static str,
    text: bool,
    seeds: Vec<Vec<u8>>,
    /// Parse one input; the result only matters by not panicking.
    parse: Parser<'a>,
}

fn targets() -> Vec<Target<'static>> {
    let mut rng = Rng::new(11);
    let mnist = mnist_files(&mut rng);
    let (loose, archives) = cifar_uploads(&mut rng);
    let (tar_only, tar_gz) = (vec![archives[0].clone()], vec![archives[1].clone()]);
    let (dnn, snn, model) = checkpoints();
    // An upload set: the mutated file replaces one of the seed set's files (by index).
    let upload = |set: Files| {
        move |b: &[u8], i: usize| {
            let mut files: Vec<(&str, &[u8])> = set.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            files[i % set.len()].1 = b;
            load_named_files(None, &files).is_ok()
        }
    };
    let ckpt = |b: &[u8], _: usize| match Checkpoint::from_bytes(b) {
        Ok(ck) => DnnMeta::from_checkpoint(&ck).is_ok() | SnnMeta::from_checkpoint(&ck).is_ok(),
        Err(_) => false,
    };
    let archive = |b: &[u8], _: usize| Archive::from_bytes(b).is_ok();
    let config = |b: &[u8], _: usize| {
        let Ok(cfg) = ModelConfig::from_json(&String::from_utf8_lossy(b)) else {
            return false;
        };
        param_specs(&cfg).is_ok() && snn_param_specs(&cfg).is_ok()
    };
    vec![
        Target {
            name: "idx (raw, gzip)",
            text: false,
            seeds: mnist.iter().map(|f| f.1.clone()).collect(),
            parse: Box::new(upload(mnist)),
        },
        Target {
            name: "cifar (.bin)",
            text: false,
            seeds: loose.iter().map(|f| f.1.clone()).collect(),
            parse: Box::new(upload(loose)),
        },
        Target {
            name: "cifar (.tar)",
            text: false,
            seeds: vec![tar_only[0].1.clone()],
            parse: Box::new(upload(tar_only)),
        },
        Target {
            name: "cifar (.tar.gz)",
            text: false,
            seeds: vec![tar_gz[0].1.clone()],
            parse: Box::new(upload(tar_gz)),
        },
        Target {
            name: "checkpoint + metadata",
            text: false,
            seeds: vec![dnn.clone(), snn.clone()],
            parse: Box::new(ckpt),
        },
        Target {
            name: "session archive",
            text: false,
            seeds: session_archives(&dnn, &snn),
            parse: Box::new(archive),
        },
        Target {
            name: "model config",
            text: true,
            seeds: vec![model.into_bytes()],
            parse: Box::new(config),
        },
    ]
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
#[ignore = "run by scripts/test.sh with --ignored --nocapture (bounded), or longer by hand"]
fn parsers_never_panic_on_mutated_input() {
    let cases = env_usize("ULTRASPIKE_FUZZ_CASES", 20_000);
    let seed = env_usize("ULTRASPIKE_FUZZ_SEED", 1) as u64;
    std::panic::set_hook(Box::new(|_| {})); // counted below; one line per crash, not a backtrace each
    let mut total_panics = 0;
    for t in targets() {
        let mut rng = Rng::new(seed ^ t.name.len() as u64);
        let (mut accepted, mut panics) = (0, 0);
        for case in 0..cases {
            let which = rng.below(t.seeds.len());
            let input = mutate(&t.seeds[which], &mut rng, t.text);
            match catch_unwind(AssertUnwindSafe(|| (t.parse)(&input, which))) {
                Ok(ok) => accepted += ok as usize,
                Err(_) => {
                    panics += 1;
                    let path = format!(
                        "{}/fuzz-crash-{}-{case}.bin",
                        env!("CARGO_TARGET_TMPDIR"),
                        t.name.replace(|c: char| !c.is_alphanumeric(), "_")
                    );
                    let _ = std::fs::write(&path, &input);
                    eprintln!("fuzz: {} case {case} panicked; input saved to {path}", t.name);
                }
            }
        }
        println!(
            "fuzz: {:<22} {cases} cases (seed {seed}), {accepted} parsed, {panics} panics",
            t.name
        );
        total_panics += panics;
    }
    let _ = std::panic::take_hook();
    assert_eq!(
        total_panics,
        0,
        "parsers panicked; the inputs are in {}",
        env!("CARGO_TARGET_TMPDIR")
    );
}

#[test]
fn the_seeds_parse_and_the_mutator_changes_them() {
    for t in targets() {
        for (i, s) in t.seeds.iter().enumerate() {
            assert!((t.parse)(s, i), "{}: seed {i} must parse", t.name);
        }
        let mut rng = Rng::new(3);
        let changed = (0..50)
            .filter(|_| mutate(&t.seeds[0], &mut rng, t.text) != t.seeds[0])
            .count();
        assert!(
            changed > 40,
            "{}: only {changed} of 50 mutations changed the input",
            t.name
        );
    }
}
