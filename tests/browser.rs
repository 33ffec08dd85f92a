//! The shared kernel checks (tests/checks) in headless Chromium's WebGPU:
//! `bash scripts/test.sh` runs them with
//! `cargo test --target wasm32-unknown-unknown --test browser`
//! (runner and browser flags: .cargo/config.toml, webdriver.json).
#![cfg(target_arch = "wasm32")]

mod checks;

use ultraspike::gpu::{Gpu, GpuOptions};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `browser_check!(name, path::to::async_check)`: one browser test per shared
/// check, each on its own device (nothing is shared between wasm tests).
macro_rules! browser_check {
    ($name:ident, $f:path) => {
        #[wasm_bindgen_test]
        async fn $name() {
            let gpu = match Gpu::new(&GpuOptions::default()).await {
                Ok(g) => g,
                Err(e) => {
                    panic!("browser tests need WebGPU (Chromium --enable-unsafe-webgpu): {e}")
                }
            };
            if let Err(e) = $f(&gpu).await {
                panic!("{e}");
            }
        }
    };
}

/// One browser test per check of `for_each_check!` (tests/checks/mod.rs).
macro_rules! browser_checks {
    ($($module:ident::$check:ident),* $(,)?) => {
        $(browser_check!($check, checks::$module::$check);)*
    };
}

for_each_check!(browser_checks);
