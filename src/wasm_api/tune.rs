//! The kernel tuner's choices, from the page: shown in the GPU panel and kept in IndexedDB
//! (www/persist.js) as the same JSON the native cache file holds.

use wasm_bindgen::prelude::*;

use super::{js_err, to_js, Session};

#[wasm_bindgen]
impl Session {
    /// The tuner's choices for this adapter as the cache's JSON (the page keeps it in IndexedDB).
    pub fn tune_json(&self) -> Result<String, JsError> {
        self.pipeline.gpu().tune_json().map_err(js_err)
    }

    /// Take back choices kept by `tune_json` (another adapter's are skipped); returns how many.
    pub fn load_tune_json(&self, json: String) -> Result<usize, JsError> {
        self.pipeline.gpu().load_tune_json(&json).map_err(js_err)
    }

    /// The tuner's choices as `[pass, shape, variant, timings]` rows (the GPU panel).
    pub fn tune_choices(&self) -> Result<JsValue, JsError> {
        let rows: Vec<[String; 4]> = self
            .pipeline
            .gpu()
            .with_tune(|t| t.entries())
            .iter()
            .map(|e| {
                let times: Vec<String> = e.timings.iter().map(|(n, ms)| format!("{n} {ms:.2} ms")).collect();
                [
                    format!("{:?}", e.pass),
                    e.shape.to_string(),
                    e.choice.clone(),
                    times.join(", "),
                ]
            })
            .collect();
        to_js(&rows)
    }
}
