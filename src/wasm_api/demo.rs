//! The quick demo sized to the device, from the page: the models it probes, its
//! default budget, and the library's plan from the page's timings (www/demo.js).

use wasm_bindgen::prelude::*;

use super::{from_js, js_err, to_js, Session};
use crate::pipeline::{DemoProbe, DEMO_BUDGET_S, DEMO_MODELS};

/// The models the quick demo probes and chooses from, the bigger first.
#[wasm_bindgen]
pub fn demo_models() -> Vec<String> {
    DEMO_MODELS.iter().map(|s| s.to_string()).collect()
}

/// The quick demo's default time budget (seconds).
#[wasm_bindgen]
pub fn demo_budget_s() -> f64 {
    DEMO_BUDGET_S
}

#[wasm_bindgen]
impl Session {
    /// The quick demo sized to this device for the loaded data: `probes` is one
    /// `{ model, batch, first_batch_s, batch_s }` per model of `demo_models()`.
    pub fn plan_quick_demo(&self, probes: JsValue, budget_s: f64) -> Result<JsValue, JsError> {
        let probes: Vec<DemoProbe> = from_js("demo probes", probes)?;
        to_js(&self.pipeline.plan_quick_demo(&probes, budget_s).map_err(js_err)?)
    }
}
