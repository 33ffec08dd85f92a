//! `ultraspike convert --diagnostics FILE`: the walkthrough as JSON agrees with
//! the SNN it describes (one layer report per spiking layer, the chosen V_th and
//! beta of the checkpoint, Algorithm 1's pick the minimum of its own loss grid),
//! and an unwritable FILE is refused before any work.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::meta::SnnMeta;

fn cli(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ultraspike"))
        .args(args)
        .output()
        .expect("run the ultraspike binary");
    out
}

fn path(dir: &std::path::Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

fn ok(out: Output) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn diagnostics_describe_the_converted_snn() {
    let dir: PathBuf = std::env::temp_dir().join(format!("ultraspike-diag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (dnn, snn, diag) = (path(&dir, "dnn.st"), path(&dir, "snn.st"), path(&dir, "diag.json"));
    let data = ["--dataset", "synthetic", "--train-subset", "256", "--test-subset", "64"];
    ok(cli(&[
        &["train", "--model", "vgg-tiny", "--epochs", "1", "--out", &dnn][..],
        &data,
    ]
    .concat()));
    let refused = cli(&[
        &[
            "convert",
            "--ckpt",
            &dnn,
            "--out",
            &snn,
            "--diagnostics",
            "/nonexistent-dir/d.json",
        ][..],
        &data,
    ]
    .concat());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refused.status.code() == Some(1) && err.contains("--diagnostics") && !std::path::Path::new(&snn).exists(),
        "{err}"
    );
    let convert = [
        "convert",
        "--ckpt",
        &dnn,
        "--out",
        &snn,
        "--timesteps",
        "2",
        "--calib-batches",
        "1",
        "--batch",
        "64",
        "--diagnostics",
        &diag,
    ];
    ok(cli(&[&convert[..], &data].concat()));

    let meta = SnnMeta::from_checkpoint(&Checkpoint::load(std::path::Path::new(&snn)).unwrap()).unwrap();
    let r: Value = serde_json::from_slice(&std::fs::read(&diag).unwrap()).unwrap();
    assert_eq!(
        (r["method"].as_str(), r["t"].as_u64(), r["loss_kind"].as_str()),
        (Some("alpha-beta"), Some(2), Some("signed"))
    );
    let layers = r["layers"].as_array().unwrap();
    assert_eq!(layers.len(), meta.neurons.len());
    for (l, n) in layers.iter().zip(&meta.neurons) {
        let name = l["name"].as_str().unwrap();
        let f = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("{name}: no `{k}`"));
        let p: Vec<f64> = l["percentiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            p.len() == 99 && p.windows(2).all(|w| w[0] <= w[1]),
            "{name}: percentiles"
        );
        assert!(
            (f("vth") - n.vth as f64).abs() < 1e-6 && (f("beta") - n.beta as f64).abs() < 1e-6,
            "{name}: not the checkpoint's V_th/beta"
        );
        let grid = l["loss"].as_array().unwrap();
        assert_eq!(grid.len(), l["alphas"].as_array().unwrap().len(), "{name}");
        let best_cell = grid
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap().abs()))
            .fold(f64::INFINITY, f64::min);
        assert!(
            grid.iter().all(|row| row.as_array().unwrap().len() == 201),
            "{name}: 201 betas"
        );
        // Algorithm 1 takes the smallest |loss| over the grid and the start point (1, 1).
        let chosen = f("chosen_loss").abs();
        assert!(
            chosen <= best_cell + 1e-9 && chosen <= f("unscaled_loss").abs() + 1e-12,
            "{name}: |loss| {chosen} vs grid min {best_cell}"
        );
        let at_t = &l["per_t"].as_array().unwrap()[1]; // (T = 2, its scaling)
        assert!(
            (at_t[1]["alpha"].as_f64().unwrap() * f("mu") - f("vth")).abs() < 1e-4 * f("vth"),
            "{name}: per_t"
        );
        assert!(f("k_mu").is_finite() && f("h_t_mu").is_finite());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
