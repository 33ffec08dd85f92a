//! Conversion from the page: calibration (step-wise or at once), one
//! conversion (evaluated, with the per-layer diagnostics), single points of the
//! method x T sweep, and the conversion-error walkthrough of one layer.

use wasm_bindgen::prelude::*;

use super::{js_err, to_js, Session, EVAL_BATCH};
use crate::convert::Recipe;

#[wasm_bindgen]
impl Session {
    /// Start calibrating the DNN on `batches` training batches of `batch` images.
    pub async fn start_calibration(&mut self, batches: usize, batch: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.start_calibration(batches, batch).await.map_err(js_err)?)
    }

    /// Up to `k` calibration batches: `{ done, total, layers }` (`layers` once finished).
    pub async fn calibration_steps(&mut self, k: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.calibration_steps(k).await.map_err(js_err)?)
    }

    /// Calibrate start to finish: per-layer pre-activation statistics.
    pub async fn calibrate(&mut self, batches: usize, batch: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.calibrate(batches, batch, |_| {}).await.map_err(js_err)?)
    }

    /// Convert with `method` (a recipe: `alpha-beta`, `qcfs`, `deng+half`, ...) at `t` steps, evaluate on the test set (spikes,
    /// energy) and keep the SNN (for fine-tuning, rasters and download).
    pub async fn convert(&mut self, method: String, t: usize) -> Result<JsValue, JsError> {
        let method: Recipe = method.parse().map_err(js_err)?;
        to_js(&self.pipeline.convert(method, t, EVAL_BATCH).await.map_err(js_err)?)
    }

    /// One point of the sweep: accuracy, spikes and energy ratio of `method` at `t`.
    pub async fn sweep_point(&mut self, method: String, t: usize) -> Result<JsValue, JsError> {
        let method: Recipe = method.parse().map_err(js_err)?;
        to_js(&self.pipeline.sweep_point(method, t, EVAL_BATCH).await.map_err(js_err)?)
    }

    /// The walkthrough data of layer `index` (T from the last conversion).
    pub fn walkthrough(&self, index: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.walkthrough(index).map_err(js_err)?)
    }
}
