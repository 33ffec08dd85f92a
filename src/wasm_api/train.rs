//! DNN training from the page: a fresh model or one started from a checkpoint's weights (the
//! quick demo's bundled model), driven a few batches per call, and the DNN checkpoint download.

use wasm_bindgen::prelude::*;

use super::{from_js, js_err, to_js, Session};
use crate::checkpoint::Checkpoint;
use crate::pipeline::{TrainOptions, TrainStart};

#[wasm_bindgen]
impl Session {
    /// Build a fresh model (`opts.model`: a built-in name or a JSON config) and its trainer.
    pub fn start_training(&mut self, opts: JsValue) -> Result<JsValue, JsError> {
        self.start(opts, TrainStart::Fresh)
    }

    /// `start_training` from the weights of a checkpoint's bytes (the quick demo's bundled model).
    pub fn start_training_from(&mut self, opts: JsValue, weights: Vec<u8>) -> Result<JsValue, JsError> {
        let ck = Checkpoint::from_bytes(&weights).map_err(js_err)?;
        self.start(opts, TrainStart::FromWeights(ck))
    }

    /// Up to `k` training batches; closes the epoch (test evaluation, snapshot) when it ends.
    pub async fn train_steps(&mut self, k: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.train_steps(k).await.map_err(js_err)?)
    }

    /// The DNN (current weights, momentum included) as the safetensors file
    /// `ultraspike train` writes. Works mid-training.
    pub async fn dnn_checkpoint(&mut self) -> Result<Vec<u8>, JsError> {
        self.pipeline
            .dnn_snapshot()
            .await
            .map_err(js_err)?
            .to_bytes()
            .map_err(js_err)
    }
}

impl Session {
    fn start(&mut self, opts: JsValue, start: TrainStart) -> Result<JsValue, JsError> {
        let o: TrainOptions = from_js("training options", opts)?;
        let info = self.pipeline.start_training(&o, start).map_err(js_err)?;
        to_js(
            &serde_json::json!({ "model": info.model.name, "layers": info.layers, "config": info.model, "batches_per_epoch": info.batches_per_epoch }),
        )
    }
}
