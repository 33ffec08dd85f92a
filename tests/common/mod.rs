//! Native test harness: one GPU per test binary (lavapipe on CI; set
//! ULTRASPIKE_FALLBACK=1 to force the CPU adapter on a machine with a GPU).
//! `snn`: the SNN test models and parameter draws; `close`: the f32 comparison
//! the kernel checks share (`assert_close` asserts it).
#![allow(dead_code)]

#[allow(clippy::duplicate_mod)] // tests/checks loads it too (one comparison for both)
pub mod close;
pub mod snn;

use std::sync::OnceLock;

use ultraspike::gpu::{Gpu, GpuOptions};

pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(new_gpu)
}

/// Assert |got - want| <= atol + rtol * |want| element-wise (tests/common/close.rs);
/// the failure names the first mismatches and the largest error.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    if let Err(e) = close::check_close(what, got, want, atol, rtol) {
        panic!("{e}");
    }
}

/// A GPU of its own, for what takes ownership of one (a `Pipeline`).
pub fn new_gpu() -> Gpu {
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    // `Gpu::new`, not `new_blocking`: no tuning cache file, so no test reads or writes a user's.
    match pollster::block_on(Gpu::new(&opts)) {
        Ok(g) => g,
        Err(e) => panic!("tests need a GPU adapter (CI installs mesa-vulkan-drivers for lavapipe): {e}"),
    }
}

/// A pipeline with a 1-epoch vgg-tiny trained on 256 synthetic images, calibrated on one batch
/// and converted (Algorithm 1) at `t` steps; `test_images` synthetic test images loaded.
pub fn converted_pipeline(test_images: usize, t: usize) -> ultraspike::pipeline::Pipeline {
    use ultraspike::convert::ConversionMethod;
    use ultraspike::pipeline::{DataSource, Pipeline, TrainOptions, TrainStart};
    let mut p = Pipeline::new(new_gpu());
    p.load_data(DataSource::Synthetic, Some(256), Some(test_images))
        .unwrap();
    let train = TrainOptions {
        model: "vgg-tiny".into(),
        epochs: 1,
        batch: 32,
        ..TrainOptions::default()
    };
    p.start_training(&train, TrainStart::Fresh).unwrap();
    while !pollster::block_on(p.train_steps(8)).unwrap().done {}
    pollster::block_on(p.calibrate(1, 64, |_| {})).unwrap();
    pollster::block_on(p.convert(ConversionMethod::AlphaBeta, t, 20)).unwrap();
    p
}

/// `check!(name, path::to::async_check)` makes a #[test] running the shared check natively.
#[macro_export]
macro_rules! check {
    ($name:ident, $f:path) => {
        #[test]
        fn $name() {
            let gpu = common::gpu();
            if let Err(e) = pollster::block_on($f(gpu)) {
                panic!("{e}");
            }
        }
    };
}

/// The Python interpreter with python/requirements.txt (numpy, safetensors, h5py, nir):
/// $ULTRASPIKE_PYTHON (the test command sets it to .venv/bin/python), else .venv/bin/python
/// when it exists. None (the caller skips, saying so) only outside CI: with CI set, a
/// missing interpreter fails the test instead of hiding the check.
pub fn python() -> Option<std::path::PathBuf> {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let found = match std::env::var_os("ULTRASPIKE_PYTHON") {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => venv.exists().then_some(venv),
    };
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: no Python for the Python checks (scripts/setup.sh test makes .venv; or set ULTRASPIKE_PYTHON)"
        );
        eprintln!("skipped: no .venv/bin/python (run `bash scripts/setup.sh test`) and ULTRASPIKE_PYTHON unset");
    }
    found
}

/// Run `python script args...` from the repository root; panics with its output unless it exits 0.
pub fn run_python(python: &std::path::Path, script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed ({}):\n{text}", out.status);
    text
}
