//! Every shader parses and validates with naga (no GPU), and every `.wgsl`
//! file under shaders/ is registered as a kernel (no stale copies).
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use std::collections::BTreeSet;

use ultraspike::gpu::kernels::{validate_wgsl, Kernel};

#[test]
fn every_kernel_validates() {
    let mut failures = Vec::new();
    for k in Kernel::ALL {
        if let Err(e) = validate_wgsl(k.name(), k.source()) {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_wgsl_file_is_registered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("shaders/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wgsl"))
        .map(|n| n.trim_end_matches(".wgsl").to_string())
        .collect();
    let registered: BTreeSet<String> = Kernel::ALL.iter().map(|k| k.name().to_string()).collect();
    let stale: Vec<_> = on_disk.difference(&registered).collect();
    assert!(
        stale.is_empty(),
        "shaders not registered in src/gpu/kernels.rs: {stale:?}"
    );
    assert_eq!(registered.len(), Kernel::ALL.len(), "two kernels share one file");
}

#[test]
fn validator_rejects_a_broken_shader() {
    let bad = "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }";
    assert!(validate_wgsl("broken", bad).is_err());
}

#[test]
fn shapes_are_not_baked_into_shaders() {
    // Shapes arrive in uniforms: every kernel reads a `Params` uniform.
    for k in Kernel::ALL {
        assert!(
            k.source().contains("var<uniform>"),
            "{} has no uniform params",
            k.name()
        );
    }
}

#[test]
fn generated_shaders_match_their_generator() {
    // The GEMM tiles are written by scripts/gen-gemm-wgsl.py (subgroup), gen-tiled-wgsl.py
    // (workgroup-tiled) and gen-register-wgsl.py (register-only); a hand edit of a .wgsl (or of a
    // script without rerunning it) must not go unnoticed.
    let root = env!("CARGO_MANIFEST_DIR");
    for script in ["gen-gemm-wgsl.py", "gen-tiled-wgsl.py", "gen-register-wgsl.py"] {
        let out = std::process::Command::new("python3")
            .arg(format!("{root}/scripts/{script}"))
            .arg("--check")
            .output();
        match out {
            Ok(o) => assert!(
                o.status.success(),
                "scripts/{script} --check: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("python3 not runnable ({e}): generated shaders not compared"),
        }
    }
}
