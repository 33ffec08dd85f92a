//! Bad input, as a careless or hostile user gives it to the release CLI: each
//! case must end with one `error:` line naming the culprit, exit status 1, and
//! no side effect (a good checkpoint stays loadable, nothing is written).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ultraspike::checkpoint::Checkpoint;
use ultraspike::meta::SnnMeta;

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(args)
        .env(
            "ULTRASPIKE_FALLBACK",
            std::env::var("ULTRASPIKE_FALLBACK").unwrap_or_default(),
        )
        .output()
        .expect("run the ultraspike binary")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ultraspike-bad-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Exit 1 with an `error:` line containing `want`.
fn refused(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    // The last one: Mesa may print its own `error: XDG_RUNTIME_DIR ...` first.
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error:` line in {err}"));
    assert!(line.contains(want), "`{line}` does not mention `{want}`");
}

const QUICK: [&str; 8] = [
    "--dataset",
    "synthetic",
    "--model",
    "vgg-tiny",
    "--train-subset",
    "128",
    "--test-subset",
    "64",
];

fn train(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train"];
    args.extend(QUICK);
    args.extend(["--batch", "32", "--out", out.to_str().unwrap()]);
    args.extend(extra);
    cli(&args)
}

#[test]
fn nan_and_out_of_range_hyperparameters_leave_the_good_checkpoint_alone() {
    let d = dir("hyper");
    let good = d.join("good.safetensors");
    let ok = train(&good, &["--epochs", "1"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let before = std::fs::read(&good).unwrap();
    let g = good.to_str().unwrap();
    for (flag, value, named) in [
        ("--lr-gamma", "NaN", "--lr-gamma"),
        ("--lr", "-1", "--lr"),
        ("--lr", "inf", "--lr"),
        ("--momentum", "1.5", "--momentum"),
        ("--epochs", "0", "--epochs"),
        ("--batch", "0", "--batch"),
        ("--train-subset", "0", "--train-subset"),
        ("--test-subset", "0", "--test-subset"),
    ] {
        let out = train(&good, &["--resume", g, &format!("{flag}={value}")]);
        refused(&out, named);
        assert_eq!(
            std::fs::read(&good).unwrap(),
            before,
            "{flag} {value} touched the checkpoint"
        );
    }
    Checkpoint::load(&good).expect("the previous checkpoint still loads");
    // A finished run resumed: nothing to do, and no claim that it saved.
    let again = train(&good, &["--resume", g, "--epochs", "1"]);
    assert!(again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!err.contains("saved") && err.contains("nothing to train"), "{err}");
    assert_eq!(std::fs::read(&good).unwrap(), before);
}

#[test]
fn an_unwritable_out_fails_before_any_work() {
    let out = train(
        Path::new("/nonexistent-ultraspike-dir/dnn.safetensors"),
        &["--epochs", "1"],
    );
    refused(&out, "cannot write");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("training "),
        "it trained before failing"
    );
}

#[test]
fn absurd_timesteps_are_refused_at_once() {
    let d = dir("t");
    let snn = d.join("snn.safetensors");
    for args in [
        vec![
            "convert",
            "--dataset",
            "synthetic",
            "--ckpt",
            "missing.safetensors",
            "--timesteps",
            "100000",
            "--out",
            snn.to_str().unwrap(),
        ],
        vec![
            "convert",
            "--dataset",
            "synthetic",
            "--ckpt",
            "missing.safetensors",
            "--timesteps",
            "0",
            "--out",
            snn.to_str().unwrap(),
        ],
        vec![
            "sweep",
            "--dataset",
            "synthetic",
            "--ckpt",
            "missing.safetensors",
            "--timesteps",
            "2,100000",
        ],
    ] {
        refused(&cli(&args), "1..=256");
    }
    assert!(!snn.exists());
}

#[test]
fn damaged_checkpoints_name_the_file_and_tensor() {
    let d = dir("ckpt");
    let dnn = d.join("dnn.safetensors");
    assert!(train(&dnn, &["--epochs", "1"]).status.success());
    let mut ck = Checkpoint::load(&dnn).unwrap();
    let (name, t) = ck.tensors.iter_mut().find(|(k, _)| k.ends_with(".weight")).unwrap();
    let name = name.clone();
    t.data[3] = f32::NAN;
    let nan = d.join("nan.safetensors");
    std::fs::write(&nan, ck.to_bytes().unwrap()).unwrap();
    let mut args = vec!["eval", "--ckpt", nan.to_str().unwrap()];
    args.extend(QUICK[..2].iter().copied());
    let out = cli(&args);
    refused(&out, &name);
    refused(&out, "nan.safetensors");

    // A DNN whose threshold-ReLU ceiling is zero.
    let mut ck = Checkpoint::load(&dnn).unwrap();
    let mu = ck.tensors.keys().find(|k| k.ends_with(".mu")).unwrap().clone();
    ck.tensors.get_mut(&mu).unwrap().data[0] = 0.0;
    let zero_mu = d.join("mu.safetensors");
    std::fs::write(&zero_mu, ck.to_bytes().unwrap()).unwrap();
    refused(
        &cli(&["eval", "--dataset", "synthetic", "--ckpt", zero_mu.to_str().unwrap()]),
        &mu,
    );

    // An SNN whose threshold tensor is negative, or whose metadata says leak 2.
    let snn = d.join("snn.safetensors");
    let conv = cli(&[
        "convert",
        "--dataset",
        "synthetic",
        "--ckpt",
        dnn.to_str().unwrap(),
        "--calib-batches",
        "1",
        "--batch",
        "64",
        "--test-subset",
        "64",
        "--out",
        snn.to_str().unwrap(),
    ]);
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let good = Checkpoint::load(&snn).unwrap();
    let mut neg = good.clone();
    let vth = neg.tensors.keys().find(|k| k.ends_with(".vth")).unwrap().clone();
    neg.tensors.get_mut(&vth).unwrap().data[0] = -1.0;
    let mut leaky = good.clone();
    let mut meta = SnnMeta::from_checkpoint(&good).unwrap();
    meta.neurons[0].leak = 2.0;
    leaky.metadata = serde_json::to_value(&meta).unwrap();
    let mut flat = good.clone();
    meta.neurons[0].leak = 1.0;
    meta.neurons[0].beta = 0.0; // a zero spike height
    flat.metadata = serde_json::to_value(&meta).unwrap();
    for (ck, want) in [(neg, vth.as_str()), (leaky, "leak"), (flat, "beta")] {
        let p = d.join("bad-snn.safetensors");
        std::fs::write(&p, ck.to_bytes().unwrap()).unwrap();
        refused(
            &cli(&["eval", "--dataset", "synthetic", "--ckpt", p.to_str().unwrap()]),
            want,
        );
    }
}

#[test]
fn absurd_model_configs_fail_in_milliseconds_naming_the_layer() {
    let d = dir("model");
    let head = r#"{"name":"m","input":[1,16,16],"classes":4,"layers":["#;
    for (layers, want) in [
        (
            r#"{"flatten":null},{"linear":{"out":2000000000}},{"linear":{"out":4}}"#,
            "layer 1 (linear)",
        ),
        (
            r#"{"conv":{"out":2000000000,"k":3,"stride":1,"pad":1}},{"flatten":null},{"linear":{"out":4}}"#,
            "layer 0 (conv)",
        ),
        (
            r#"{"conv":{"out":2305843009213693952,"k":3,"stride":1,"pad":1}},{"flatten":null},{"linear":{"out":4}}"#,
            "layer 0 (conv)",
        ),
        (
            r#"{"conv":{"out":4,"k":4294967296,"stride":1,"pad":0}},{"flatten":null},{"linear":{"out":4}}"#,
            "layer 0 (conv)",
        ),
        (
            r#"{"conv":{"out":4,"k":3,"stride":1,"pad":9223372036854775807}},{"flatten":null},{"linear":{"out":4}}"#,
            "layer 0 (conv)",
        ),
        (
            r#"{"conv":{"out":100000,"k":3,"stride":1,"pad":1}},{"act":{}},{"flatten":null},{"linear":{"out":4}}"#,
            "classifier.0.weight` needs",
        ),
        (
            r#"{"flatten":null},{"linear":{"out":4,"bais":true}}"#,
            "unknown field `bais`",
        ),
        (
            r#"{"act":{"mU":2}},{"flatten":null},{"linear":{"out":4}}"#,
            "unknown field `mU`",
        ),
    ] {
        let cfg = d.join("m.json");
        std::fs::write(&cfg, format!("{head}{layers}]}}")).unwrap();
        let out_file = d.join("never.safetensors");
        let start = std::time::Instant::now();
        let out = cli(&[
            "train",
            "--dataset",
            "synthetic",
            "--model",
            cfg.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ]);
        refused(&out, want);
        assert!(
            start.elapsed().as_secs_f64() < 5.0,
            "{layers}: {:?} to refuse",
            start.elapsed()
        );
        assert!(!out_file.exists());
    }
}

#[test]
fn a_plain_state_dict_evaluates_with_model_named() {
    let d = dir("bare");
    let dnn = d.join("dnn.safetensors");
    assert!(train(&dnn, &["--epochs", "1"]).status.success());
    let mut bare = Checkpoint::load(&dnn).unwrap();
    bare.metadata = serde_json::Value::Null; // what safetensors.torch.save_file(model.state_dict()) writes
    bare.tensors.retain(|k, _| !k.starts_with("optimizer."));
    let plain = d.join("plain.safetensors");
    std::fs::write(&plain, bare.to_bytes().unwrap()).unwrap();
    let eval = |ckpt: &Path, extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--dataset",
            "synthetic",
            "--test-subset",
            "64",
            "--json",
            "--ckpt",
            ckpt.to_str().unwrap(),
        ];
        args.extend(extra);
        cli(&args)
    };
    refused(&eval(&plain, &[]), "--model");
    let with_model = eval(&plain, &["--model", "vgg-tiny"]);
    assert!(
        with_model.status.success(),
        "{}",
        String::from_utf8_lossy(&with_model.stderr)
    );
    let acc = |o: &Output| {
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["accuracy"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        acc(&with_model),
        acc(&eval(&dnn, &[])),
        "the same weights evaluate the same"
    );
    refused(&eval(&dnn, &["--model", "vgg-tiny"]), "metadata");
}

#[test]
fn a_missing_dataset_says_how_to_get_that_dataset() {
    let out_file = dir("data").join("never.safetensors");
    for (kind, hint, not) in [
        ("cifar10", "bring CIFAR", "fetch-datasets"),
        ("mnist", "fetch-datasets.sh", "CIFAR"),
    ] {
        let args = [
            "train",
            "--dataset",
            kind,
            "--data",
            "/nonexistent-ultraspike-data",
            "--out",
            out_file.to_str().unwrap(),
        ];
        let out = cli(&args);
        refused(&out, hint);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains(not) && !err.contains("dataset: dataset:"), "{err}");
    }
}
