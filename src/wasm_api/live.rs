//! What a long session holds, for the page to show and the e2e test to check flat: the
//! engine's live GPU buffers and the module's linear memory.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{to_js, Session};

#[derive(Serialize)]
struct Live {
    buffers: u64,
    bytes: u64,
    wasm_memory_bytes: u64,
}

#[wasm_bindgen]
impl Session {
    /// The engine's live GPU buffers and the module's linear memory:
    /// `{buffers, bytes, wasm_memory_bytes}` (flat over a long session).
    pub fn live_buffers(&self) -> Result<JsValue, JsError> {
        let live = self.pipeline.gpu().live_buffers();
        to_js(&Live {
            buffers: live.buffers,
            bytes: live.bytes,
            wasm_memory_bytes: wasm_memory_bytes(),
        })
    }
}

/// The wasm module's linear memory (it only grows: a leak of host memory shows here).
fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0) as u64 * 65_536;
    #[cfg(not(target_arch = "wasm32"))]
    0
}
