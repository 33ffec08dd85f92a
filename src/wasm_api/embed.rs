//! What another page needs to embed a model (the `wasm-pack build` package,
//! see `examples/embed/`): load a checkpoint, classify pixels.

use wasm_bindgen::prelude::*;

use super::{js_err, to_js, Session};
use crate::pipeline::ClassifyWith;

#[wasm_bindgen]
impl Session {
    /// Classify `pixels` (u8, channel-major [C, H, W] of the model's input) with
    /// `with` = "snn", "dnn" or "auto" (the SNN when one is loaded, else the DNN):
    /// `{ model, predicted, scores, probabilities, timesteps }`. Needs no dataset:
    /// the pixels are normalized as the checkpoint's metadata says.
    pub async fn classify(&self, pixels: Vec<u8>, with: String) -> Result<JsValue, JsError> {
        let with: ClassifyWith = with.parse().map_err(js_err)?;
        to_js(&self.pipeline.classify(&pixels, with).await.map_err(js_err)?)
    }

    /// What `classify(.., with)` takes: `{ model, name, input: [C, H, W], classes }`.
    pub fn model_input(&self, with: String) -> Result<JsValue, JsError> {
        let with: ClassifyWith = with.parse().map_err(js_err)?;
        to_js(&self.pipeline.model_input(with).map_err(js_err)?)
    }
}
