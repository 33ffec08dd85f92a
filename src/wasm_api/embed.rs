//! What another page needs to embed a model (the `wasm-pack build` package,
//! see `examples/embed/`): load a checkpoint, classify pixels. The results get
//! TypeScript interfaces in `pkg/ultraspike.d.ts` (`Classification`, `ModelInput`).

use wasm_bindgen::prelude::*;

use super::{js_err, to_js, Session};
use crate::pipeline::ClassifyWith;

#[wasm_bindgen(typescript_custom_section)]
const EMBED_TYPES: &str = r#"
/** `Session.classify`'s result (`crate::pipeline::Classification`). */
export interface Classification {
  model: "dnn" | "snn";
  predicted: number;
  /** DNN: the logits; SNN: the readout summed over its T steps. */
  scores: number[];
  /** softmax(scores). */
  probabilities: number[];
  /** The SNN's time steps (null for the DNN). */
  timesteps: number | null;
}
/** What `Session.classify` takes (`crate::pipeline::ModelInput`). */
export interface ModelInput {
  model: "dnn" | "snn";
  name: string;
  /** [C, H, W]: `classify` takes C*H*W u8 pixels, channel-major. */
  input: [number, number, number];
  classes: number;
}
"#;

#[wasm_bindgen]
impl Session {
    /// Classify `pixels` (u8, channel-major [C, H, W] of the model's input) with
    /// `with` = "snn", "dnn" or "auto" (the SNN when one is loaded, else the DNN).
    /// Needs no dataset: the pixels are normalized as the checkpoint's metadata says.
    #[wasm_bindgen(unchecked_return_type = "Classification")]
    pub async fn classify(&self, pixels: Vec<u8>, with: String) -> Result<JsValue, JsError> {
        let with: ClassifyWith = with.parse().map_err(js_err)?;
        to_js(&self.pipeline.classify(&pixels, with).await.map_err(js_err)?)
    }

    /// What `classify(.., with)` takes.
    #[wasm_bindgen(unchecked_return_type = "ModelInput")]
    pub fn model_input(&self, with: String) -> Result<JsValue, JsError> {
        let with: ClassifyWith = with.parse().map_err(js_err)?;
        to_js(&self.pipeline.model_input(with).map_err(js_err)?)
    }
}
