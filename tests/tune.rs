//! Autotuning per adapter (`gpu::tune`, `nn::tune`): every kernel variant the tuner may pick gives
//! the same training numbers bit for bit, timing records the fastest candidate within its budget,
//! the choices survive a cache round trip, a corrupt cache is ignored, and the first training
//! step of a pipeline tunes its shapes without changing a number.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use ultraspike::data::{synthetic_split, Dataset};
use ultraspike::gpu::tune::{fastest, AdapterKey, Pending, TuneTable};
use ultraspike::gpu::tune_cache::{load_file, save_file};
use ultraspike::gpu::{Gpu, GpuOptions, TunePass, TuneShape};
use ultraspike::models::{builtin, ModelConfig};
use ultraspike::nn::tune::{candidates, runnable, tune_pending, tune_pending_where, TuneOptions};
use ultraspike::pipeline::{DataSource, Pipeline, TrainOptions, TrainStart};
use ultraspike::train::{TrainConfig, Trainer};

/// A GPU with an in-memory table only (no cache file), so tests never see a user's choices.
fn fresh_gpu() -> Gpu {
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    pollster::block_on(Gpu::new(&opts)).expect("tests need a GPU adapter")
}

/// conv 3->8 and 8->16 on 16x16 (3x3, so Vec4 fits), linear 256 -> 4 (Subgroup fits every pass).
fn model() -> ModelConfig {
    builtin("vgg-tiny", [3, 16, 16], 4).unwrap()
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch: 8,
        seed: 5,
        ..Default::default()
    }
}

/// Loss and accuracy bits after three steps, every weight's bits, and the kernels the step ran.
fn train_three(gpu: &Gpu, train: &Dataset) -> (Vec<u32>, Vec<Vec<u32>>, BTreeSet<String>) {
    let mut t = Trainer::new(gpu, &model(), train, config()).unwrap();
    let kernels = t
        .net
        .train_step_ops()
        .iter()
        .map(|o| o.kernel.name().to_string())
        .collect();
    for _ in 0..3 {
        assert!(pollster::block_on(t.train_batch(gpu, train)).unwrap());
    }
    pollster::block_on(t.flush(gpu)).unwrap();
    let (loss, acc) = t.running();
    let params = pollster::block_on(t.net.read_params(gpu)).unwrap();
    let bits = params
        .iter()
        .map(|(_, _, v)| v.iter().map(|x| x.to_bits()).collect())
        .collect();
    (vec![loss.to_bits(), acc.to_bits()], bits, kernels)
}

/// Make `name` the table's choice for every pending shape it can run (others keep the first
/// candidate), as if it had timed fastest.
fn force(gpu: &Gpu, pending: &[Pending], name: &str) {
    let timings: Vec<_> = pending
        .iter()
        .map(|p| {
            let c = runnable(gpu, p.pass, &p.shape);
            let wanted = c.iter().any(|n| n == name);
            let t: Vec<(String, f64)> = c
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.clone(),
                        if (wanted && n == name) || (!wanted && i == 0) {
                            1.0
                        } else {
                            2.0
                        },
                    )
                })
                .collect();
            (p.pass, p.shape, t)
        })
        .collect();
    gpu.with_tune(|table| {
        for (pass, shape, t) in timings {
            table.record(pass, shape, t);
        }
    });
}

#[test]
fn every_variant_gives_the_same_training_numbers() {
    let gpu = fresh_gpu();
    let split = synthetic_split(64, 16, 3, 16, 16, 4, 11).unwrap();
    let baseline = train_three(&gpu, &split.train); // the deterministic defaults
    let pending = gpu.with_tune(|t| t.take_pending());
    let passes: BTreeSet<TunePass> = pending.iter().map(|p| p.pass).collect();
    assert!(passes.len() >= 5, "conv and linear passes met: {passes:?}");
    let names: BTreeSet<String> = pending.iter().flat_map(|p| runnable(&gpu, p.pass, &p.shape)).collect();
    let mut kernel_sets = BTreeSet::from([baseline.2.clone()]);
    for name in &names {
        force(&gpu, &pending, name);
        let got = train_three(&gpu, &split.train);
        assert_eq!(got.0, baseline.0, "loss/accuracy bits under {name}");
        assert_eq!(got.1, baseline.1, "weight bits under {name}");
        kernel_sets.insert(got.2);
    }
    eprintln!("variants {names:?}: {} distinct kernel sets", kernel_sets.len());
    if gpu.has_subgroups() {
        assert!(names.len() >= 3, "Direct, Subgroup, Vec4 / Plain, Subgroup: {names:?}");
        assert!(kernel_sets.len() >= 3, "forcing a variant changes the kernels run");
    }
}

/// CPU adapters do not time the workgroup-memory Tiled family (it never wins there, and
/// SwiftShader compiles it for seconds); it still runs there, and real GPUs time it.
#[test]
fn cpu_adapters_do_not_time_the_tiled_family() {
    let gpu = fresh_gpu();
    let conv = TuneShape::Conv(ultraspike::nn::conv::Conv2dShape {
        n: 8,
        c_in: 16,
        h: 8,
        w: 8,
        c_out: 32,
        k: 3,
        stride: 1,
        pad: 1,
    });
    let linear = TuneShape::Linear {
        n: 8,
        in_f: 64,
        out_f: 32,
    };
    let real = matches!(
        gpu.info.device_type,
        wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
    );
    for (pass, shape) in [(TunePass::ConvForward, conv), (TunePass::LinearForward, linear)] {
        let (all, timed) = (runnable(&gpu, pass, &shape), candidates(&gpu, pass, &shape));
        assert!(
            all.iter().any(|n| n == "Tiled"),
            "{pass:?}: Tiled runs anywhere: {all:?}"
        );
        assert_eq!(timed.iter().any(|n| n == "Tiled"), real, "{pass:?}: {timed:?}");
        assert_eq!(
            timed.len() + usize::from(!real),
            all.len(),
            "{pass:?}: only Tiled is left out"
        );
    }
}

#[test]
fn timing_records_the_fastest_candidate_within_the_budget() {
    let gpu = fresh_gpu();
    let split = synthetic_split(16, 8, 3, 16, 16, 4, 3).unwrap();
    drop(Trainer::new(&gpu, &model(), &split.train, config()).unwrap());
    let n = gpu.with_tune(|t| {
        let p = t.take_pending();
        let n = p.len();
        t.requeue(p);
        n
    });
    assert!(n >= 5);
    let none = TuneOptions {
        budget: Duration::ZERO,
        ..TuneOptions::default()
    };
    let r = pollster::block_on(tune_pending(&gpu, &none)).unwrap();
    assert_eq!((r.tuned, r.left), (0, n), "no budget: every shape stays pending");
    let quick = TuneOptions {
        budget: Duration::from_secs(600),
        per_variant: Duration::from_millis(1),
        max_reps: 2,
    };
    let r = pollster::block_on(tune_pending(&gpu, &quick)).unwrap();
    assert_eq!((r.tuned, r.left), (n, 0));
    let entries = gpu.with_tune(|t| t.entries());
    assert_eq!(entries.len(), n);
    for e in &entries {
        let cands = candidates(&gpu, e.pass, &e.shape);
        let timed: Vec<&String> = e.timings.iter().map(|(n, _)| n).collect();
        assert!(timed.iter().all(|t| cands.contains(t)), "{e:?}");
        assert_eq!(fastest(&e.timings), Some(e.choice.as_str()), "{e:?}");
        assert!(e.timings.iter().all(|(_, ms)| ms.is_finite() && *ms >= 0.0), "{e:?}");
    }
    // Tuned shapes are not pending when met again.
    drop(Trainer::new(&gpu, &model(), &split.train, config()).unwrap());
    assert!(gpu.with_tune(|t| t.take_pending()).is_empty());
}

/// A filtered tuning call times only the shapes it selects (a training run: its own batch); the
/// others stay pending, in the table and out of the report.
#[test]
fn tuning_one_batch_leaves_the_other_batches_pending() {
    let gpu = fresh_gpu();
    let split = synthetic_split(16, 8, 3, 16, 16, 4, 3).unwrap();
    for batch in [4, 8] {
        let cfg = TrainConfig { batch, ..config() };
        drop(Trainer::new(&gpu, &model(), &split.train, cfg).unwrap());
    }
    let pending = gpu.with_tune(|t| {
        let p = t.take_pending();
        t.requeue(p.clone());
        p
    });
    let at = |b: usize| pending.iter().filter(|p| p.shape.batch() == b).count();
    assert!(
        at(4) >= 5 && at(8) >= 5,
        "both trainers left their shapes pending: {pending:?}"
    );
    let quick = TuneOptions {
        budget: Duration::from_secs(600),
        per_variant: Duration::from_millis(1),
        max_reps: 1,
    };
    let r = pollster::block_on(tune_pending_where(&gpu, &quick, |p| p.shape.batch() == 8)).unwrap();
    assert_eq!((r.tuned, r.left), (at(8), 0));
    let entries = gpu.with_tune(|t| t.entries());
    assert!(entries.iter().all(|e| e.shape.batch() == 8), "{entries:?}");
    let left = gpu.with_tune(|t| t.take_pending());
    assert_eq!(left.len(), at(4));
    assert!(left.iter().all(|p| p.shape.batch() == 4), "{left:?}");
}

fn sample_table(adapter: AdapterKey) -> TuneTable {
    let mut t = TuneTable::new(adapter);
    let conv = ultraspike::nn::conv::Conv2dShape {
        n: 8,
        c_in: 3,
        h: 16,
        w: 16,
        c_out: 8,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let timings = |v: &[(&str, f64)]| v.iter().map(|(n, ms)| (n.to_string(), *ms)).collect();
    t.record(
        TunePass::ConvForward,
        TuneShape::Conv(conv),
        timings(&[("Direct", 2.0), ("Subgroup", 0.5)]),
    );
    let lin = TuneShape::Linear {
        n: 8,
        in_f: 256,
        out_f: 4,
    };
    t.record(
        TunePass::LinearBackwardWeight,
        lin,
        timings(&[("Plain", 0.1), ("Subgroup", 0.3)]),
    );
    t
}

#[test]
fn cache_round_trip_and_corrupt_files() {
    let dir = std::env::temp_dir().join(format!("ultraspike-tune-{}", std::process::id()));
    let path = dir.join("nested").join("tune.json");
    let a = AdapterKey {
        name: "A".into(),
        ..AdapterKey::default()
    };
    let b = AdapterKey {
        name: "B".into(),
        ..AdapterKey::default()
    };
    let mut fresh = TuneTable::new(a.clone());
    assert_eq!(load_file(&path, &mut fresh), None, "a missing file is no warning");
    save_file(&path, &sample_table(a.clone())).unwrap();
    save_file(&path, &sample_table(b.clone())).unwrap(); // a second adapter keeps the first
    let mut back = TuneTable::new(a.clone());
    assert_eq!(load_file(&path, &mut back), None);
    assert_eq!(back.entries(), sample_table(a.clone()).entries());
    let mut other = TuneTable::new(AdapterKey::default());
    assert_eq!(load_file(&path, &mut other), None);
    assert!(other.entries().is_empty(), "another adapter's choices never apply");

    let good = std::fs::read_to_string(&path).unwrap();
    let bad_choice = good.replacen("\"choice\": \"Subgroup\"", "\"choice\": \"Direct\"", 1);
    assert_ne!(bad_choice, good);
    let corrupt = [
        &good[..good.len() / 2],
        "not json",
        &bad_choice,
        &good.replace("\"version\": 1", "\"version\": 99"),
    ];
    for text in corrupt {
        std::fs::write(&path, text).unwrap();
        let mut t = sample_table(a.clone());
        let warning = load_file(&path, &mut t);
        assert!(warning.is_some_and(|w| w.contains("ignored")), "{text}");
        assert_eq!(
            t.entries(),
            sample_table(a.clone()).entries(),
            "a bad file changes nothing"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pipeline_weights(tune: bool) -> (Vec<Vec<u32>>, usize) {
    let gpu = fresh_gpu();
    gpu.with_tune(|t| t.enabled = tune);
    let mut p = Pipeline::new(gpu);
    p.load_data(DataSource::Synthetic, Some(64), Some(16)).unwrap();
    let opts = TrainOptions {
        model: "vgg-tiny".into(),
        epochs: 1,
        batch: 16,
        ..Default::default()
    };
    p.start_training(&opts, TrainStart::Fresh).unwrap();
    while !pollster::block_on(p.train_steps(2)).unwrap().done {}
    let tuned = p.gpu().with_tune(|t| t.entries().len());
    let snap = pollster::block_on(p.dnn_snapshot()).unwrap();
    let bits = snap
        .ck
        .tensors
        .values()
        .map(|t| t.data.iter().map(|x| x.to_bits()).collect())
        .collect();
    (bits, tuned)
}

#[test]
fn first_training_step_tunes_without_changing_a_number() {
    let (plain, none) = pipeline_weights(false);
    let (tuned, n) = pipeline_weights(true);
    assert_eq!(none, 0, "tuning off: nothing timed");
    assert!(n >= 5, "the network's shapes were timed before its first step ({n})");
    assert_eq!(plain, tuned, "the same weights, bit for bit");
}

/// `ultraspike info --tune` with its cache file at `cache`: (success, stdout, stderr).
fn info_tune(cache: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(["info", "--tune"])
        .args(extra)
        .env("ULTRASPIKE_TUNE_CACHE", cache)
        .env_remove("ULTRASPIKE_TUNE")
        .output()
        .expect("run the ultraspike binary");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The lines from "tuning for" on: the adapter, the cache and the choices.
fn choices(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("tuning for"))
        .map(String::from)
        .collect()
}

#[test]
fn info_tune_times_a_model_lists_and_persists_its_choices() {
    let dir = std::env::temp_dir().join(format!("ultraspike-info-tune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cache = dir.join("tune.json");
    let (ok, out, err) = info_tune(&cache, &[]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("cache {}", cache.display())), "{out}");
    assert!(out.contains("no tuned choices yet"), "{out}");

    let model = [
        "--model",
        "vgg-tiny",
        "--input",
        "3x16x16",
        "--classes",
        "4",
        "--batch",
        "8",
    ];
    let (ok, tuned, err) = info_tune(&cache, &model);
    assert!(ok, "{err}");
    assert!(
        tuned.contains("tuned ") && tuned.contains("shapes of vgg-tiny at batch 8"),
        "{tuned}"
    );
    for pass in [
        "conv-forward",
        "conv-backward-weight",
        "linear-forward",
        "linear-backward-input",
    ] {
        assert!(
            tuned.lines().any(|l| l.starts_with(pass) && l.contains(" ms")),
            "{pass}:\n{tuned}"
        );
    }
    assert!(cache.exists());

    let (ok, again, err) = info_tune(&cache, &[]);
    assert!(ok, "{err}");
    assert_eq!(choices(&again), choices(&tuned), "the choices come back from the cache");

    std::fs::write(&cache, "{ not json").unwrap();
    let (ok, out, err) = info_tune(&cache, &[]);
    assert!(ok, "a corrupt cache is no failure: {err}");
    assert!(err.contains("warning") && err.contains("ignored"), "{err}");
    assert!(out.contains("no tuned choices yet"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
