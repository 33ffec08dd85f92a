//! The SNN from the page: fine-tuning driven a few batches per call,
//! evaluation with spikes and energy, accuracy at another T, a spike raster of
//! one test image, its spike maps (or a drawn image's), the SNN checkpoint download and its NIR export.

use wasm_bindgen::prelude::*;

use super::{from_js, js_err, to_js, Session, EVAL_BATCH};
use crate::pipeline::{energy_constants, FinetuneOptions, SpikeInput};

#[wasm_bindgen]
impl Session {
    /// Build the BPTT trainer from the current SNN (a fresh conversion or an upload).
    pub fn start_finetune(&mut self, opts: JsValue) -> Result<JsValue, JsError> {
        let o: FinetuneOptions = from_js("fine-tuning options", opts)?;
        to_js(&self.pipeline.start_finetune(&o).map_err(js_err)?)
    }

    /// Up to `k` BPTT batches; an epoch that closes is evaluated and becomes the current SNN.
    pub async fn finetune_steps(&mut self, k: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.finetune_steps(k).await.map_err(js_err)?)
    }

    /// The current SNN (converted or fine-tuned) as the CLI's safetensors file.
    pub async fn snn_checkpoint(&mut self) -> Result<Vec<u8>, JsError> {
        self.pipeline
            .snn_snapshot()
            .await
            .map_err(js_err)?
            .to_bytes()
            .map_err(js_err)
    }

    /// The current SNN as a NIR file (HDF5 bytes, `.nir`); throws when NIR
    /// cannot express a layer (max-pooling), naming it.
    pub async fn export_nir(&mut self) -> Result<Vec<u8>, JsError> {
        self.pipeline.snn_nir().await.map_err(js_err)
    }

    /// Accuracy, spikes per layer and energy of the current SNN at `t` steps
    /// (0 = its own T), on the whole test set, as `ultraspike eval` on an SNN.
    pub async fn evaluate_snn(&mut self, t: usize) -> Result<JsValue, JsError> {
        let t = (t > 0).then_some(t);
        to_js(&self.pipeline.evaluate_snn(t, EVAL_BATCH).await.map_err(js_err)?)
    }

    /// Test accuracy only of the current SNN at `t` steps (for accuracy vs T).
    pub async fn snn_accuracy_at(&mut self, t: usize) -> Result<f32, JsError> {
        self.pipeline.snn_accuracy_at(t, EVAL_BATCH).await.map_err(js_err)
    }

    /// Spikes of up to `sample` neurons per layer over T for test image `index`, and the prediction.
    pub async fn raster(&self, index: usize, sample: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.raster(index, sample).await.map_err(js_err)?)
    }

    /// The spike maps of test image `index`, or of `pixels` (u8, [C, H, W] of the
    /// test images: the drawing pad) when given: every layer's spikes per step,
    /// the membrane of channel `channel`, and the output scores per step.
    pub async fn spike_maps(&self, index: usize, pixels: Option<Vec<u8>>, channel: usize) -> Result<JsValue, JsError> {
        let input = match &pixels {
            Some(px) => SpikeInput::Pixels(px),
            None => SpikeInput::Test(index),
        };
        to_js(&self.pipeline.spike_maps(input, channel).await.map_err(js_err)?)
    }

    /// The energy constants used (45 nm CMOS) and the neuromorphic (compute, static) pairs.
    pub fn energy_constants(&self) -> Result<JsValue, JsError> {
        to_js(&energy_constants())
    }
}
