//! Native test harness: one GPU per test binary (lavapipe on CI; set
//! ULTRASPIKE_FALLBACK=1 to force the CPU adapter on a machine with a GPU).
//! `snn`: the SNN test models and parameter draws.
#![allow(dead_code)]

pub mod snn;

use std::sync::OnceLock;

use ultraspike::gpu::{Gpu, GpuOptions};

pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(new_gpu)
}

/// A GPU of its own, for what takes ownership of one (a `Pipeline`).
pub fn new_gpu() -> Gpu {
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    match Gpu::new_blocking(&opts) {
        Ok(g) => g,
        Err(e) => panic!("tests need a GPU adapter (CI installs mesa-vulkan-drivers for lavapipe): {e}"),
    }
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
