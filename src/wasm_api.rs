//! The browser's entry points (`#[wasm_bindgen]`). This is the only place where
//! the library's `Error` becomes a `JsError`, carrying the same message.

use wasm_bindgen::prelude::*;

use crate::gpu::{Gpu, GpuOptions};

/// Call once after the module loads: Rust panics then show in the browser
/// console with their message instead of "unreachable executed".
#[wasm_bindgen]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Open the browser's WebGPU adapter and describe it as an array of
/// `[name, value]` pairs in display order (adapter, backend, driver, limits);
/// `Object.fromEntries(await gpu_info())` gives an object. Rejects with a
/// message saying which browsers/flags expose WebGPU when none is available.
#[wasm_bindgen]
pub async fn gpu_info() -> Result<JsValue, JsError> {
    let gpu = Gpu::new(&GpuOptions::default()).await.map_err(js_err)?;
    serde_wasm_bindgen::to_value(&gpu.describe()).map_err(|e| JsError::new(&e.to_string()))
}

fn js_err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}
