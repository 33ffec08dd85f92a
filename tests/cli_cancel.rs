//! Ctrl-C on the command line: a training stops before its next batch with
//! status 130, keeps the checkpoint of its last closed epoch (loadable, and
//! says how to resume), and a sweep stops before its next point, still printing
//! the points it finished (`"complete": false`).
#![cfg(all(unix, not(target_arch = "wasm32")))] // SIGINT; the browser's cancel is tested in tests/e2e

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use ultraspike::checkpoint::Checkpoint;
use ultraspike::meta::DnnMeta;

const DATA: [&str; 6] = ["--dataset", "synthetic", "--train-subset", "256", "--test-subset", "64"];

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(args)
        .args(DATA)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the ultraspike binary")
}

/// Read stderr until a line starts with `marker`, press Ctrl-C (SIGINT), then
/// return the exit status, stdout and all of stderr.
fn interrupt_after(mut child: Child, marker: &str) -> (Option<i32>, String, String) {
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "exited before `{marker}`:\n{seen}"
        );
        seen.push_str(&line);
        if line.starts_with(marker) {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    err.read_to_string(&mut seen).unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (child.wait().unwrap().code(), out, seen)
}

#[test]
fn ctrl_c_stops_training_and_sweeps_between_steps() {
    let dir = std::env::temp_dir().join(format!("ultraspike-cancel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dnn = dir.join("dnn.st");
    let dnn_arg = dnn.to_str().unwrap();

    let train = spawn(&["train", "--model", "vgg-tiny", "--epochs", "200", "--out", dnn_arg]);
    let (code, _, err) = interrupt_after(train, "epoch   1 ");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("stopping before the next batch"), "{err}");
    assert!(err.contains(&format!("ultraspike train --resume {dnn_arg}")), "{err}");
    assert!(err.trim_end().ends_with("cancelled"), "{err}");
    let meta = DnnMeta::from_checkpoint(&Checkpoint::load(&dnn).unwrap()).unwrap();
    assert!((1..200).contains(&meta.epoch), "saved at epoch {}", meta.epoch);
    assert!(err.contains(&format!("holds epoch {}", meta.epoch)), "{err}");

    let methods = "max-norm,percentile";
    let sweep = spawn(&[
        "sweep",
        "--ckpt",
        dnn_arg,
        "--methods",
        methods,
        "--calib-batches",
        "1",
        "--batch",
        "64",
        "--json",
    ]);
    let (code, out, err) = interrupt_after(sweep, "sweep 1/14 ");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("stopping after the current sweep point"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(report["complete"], false);
    assert!((1..14).contains(&rows.len()), "{} rows", rows.len());
    assert!(err.contains(&format!("{} of 14 points done", rows.len())), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
