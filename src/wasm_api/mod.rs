//! The browser face (`#[wasm_bindgen]`): one `Session` holding the pipeline
//! (`crate::pipeline`) and the files staged for loading. Every method only
//! translates: JS values in, a pipeline call, JS values out (the library's
//! `Error` becomes a `JsError` with the same message). Long work is step-wise,
//! so the page slices it between frames and stays responsive.

mod convert;
mod demo;
mod embed;
mod live;
mod snn;
mod train;
mod tune;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::checkpoint::Checkpoint;
use crate::data::DatasetKind;
use crate::gpu::{Gpu, GpuOptions};
use crate::pipeline::{Archive, DataSource, Pipeline};
use crate::spec::Cancel;
use crate::Error;

/// Call once after the module loads: Rust panics then show in the browser
/// console with their message instead of "unreachable executed".
#[wasm_bindgen]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Open the browser's WebGPU adapter and describe it as `[name, value]` pairs.
#[wasm_bindgen]
pub async fn gpu_info() -> Result<JsValue, JsError> {
    let gpu = Gpu::new(&GpuOptions::default()).await.map_err(js_err)?;
    to_js(&gpu.describe())
}

/// Open the GPU and start an empty session.
#[wasm_bindgen]
pub async fn create_session() -> Result<Session, JsError> {
    let gpu = Gpu::new(&GpuOptions::default()).await.map_err(js_err)?;
    Ok(Session {
        pipeline: Pipeline::new(gpu),
        staged: Vec::new(),
    })
}

/// The names of the built-in models.
#[wasm_bindgen]
pub fn builtin_models() -> Vec<String> {
    crate::models::builtin::NAMES.iter().map(|s| s.to_string()).collect()
}

#[wasm_bindgen]
pub struct Session {
    pipeline: Pipeline,
    staged: Vec<(String, Vec<u8>)>,
}

#[wasm_bindgen]
impl Session {
    /// Adapter and limits as `[name, value]` pairs.
    pub fn gpu_info(&self) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.gpu().describe())
    }

    /// What the pipeline holds now (data, DNN, calibration, SNN, running work).
    pub fn state(&self) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.state())
    }

    /// Keep a file (an IDX file, a CIFAR .bin or .tar.gz) for `load_staged`.
    pub fn stage_file(&mut self, name: String, bytes: Vec<u8>) {
        self.staged.push((name, bytes));
    }

    /// Parse the staged files into the session's data (`kind` "" guesses from
    /// the names), keeping the first `train_subset` / `test_subset` images (0 = all).
    pub fn load_staged(&mut self, kind: String, train_subset: usize, test_subset: usize) -> Result<JsValue, JsError> {
        let files = std::mem::take(&mut self.staged);
        let kind = if kind.is_empty() {
            None
        } else {
            Some(kind.parse::<DatasetKind>().map_err(js_err)?)
        };
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        let all = |n: usize| (n > 0).then_some(n);
        let summary = self
            .pipeline
            .load_data(
                DataSource::Files { kind, files: &refs },
                all(train_subset),
                all(test_subset),
            )
            .map_err(js_err)?;
        to_js(&summary)
    }

    /// Test image `i`: `{ pixels (u8, CHW), c, h, w, label }`.
    pub fn test_image(&self, i: usize) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.test_image(i).map_err(js_err)?)
    }

    /// Load a safetensors checkpoint written by the CLI or this page (DNN or SNN);
    /// a plain PyTorch state dict (no metadata) is read as `model` (a built-in
    /// name or a JSON config), which files with metadata ignore.
    pub fn load_checkpoint(&mut self, bytes: Vec<u8>, model: Option<String>) -> Result<JsValue, JsError> {
        let ck = Checkpoint::from_bytes(&bytes).map_err(js_err)?;
        to_js(
            &self
                .pipeline
                .load_checkpoint_or_bare(ck, model.as_deref())
                .map_err(js_err)?,
        )
    }

    /// The Cancel button's handle: it works while a `*_steps` call holds the session.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(self.pipeline.cancel_handle())
    }

    /// The DNN, the SNN and the calibration as one file (`crate::pipeline::Archive`),
    /// for the page to keep across a reload or a lost device.
    pub fn archive(&self) -> Result<Vec<u8>, JsError> {
        self.pipeline.archive().map_err(js_err)
    }

    /// Replace the models and the calibration with an archive's (load the data first).
    pub fn restore(&mut self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let archive = Archive::from_bytes(&bytes).map_err(js_err)?;
        to_js(&self.pipeline.restore(archive))
    }

    /// Test loss and accuracy of the DNN, as `ultraspike eval` computes them (batch 100).
    pub async fn evaluate_dnn(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.pipeline.evaluate_dnn(EVAL_BATCH).await.map_err(js_err)?)
    }
}

/// Stops the running step-wise call before its next batch (it then fails with "cancelled").
#[wasm_bindgen]
pub struct CancelHandle(Cancel);

#[wasm_bindgen]
impl CancelHandle {
    pub fn request(&self) {
        self.0.request();
    }

    /// Forget a request no call answered (before new work starts).
    pub fn clear(&self) {
        self.0.clear();
    }
}

/// The evaluation batch of the page (the CLI's default `--batch`), shrunk where the device needs it.
const EVAL_BATCH: usize = 100;

/// A JS `Error` with the library's message and, as properties, its stable `kind`
/// (`Error::kind`, what the page decides on) and its `hint` (what the user can do).
fn js_err(e: Error) -> JsError {
    let err = JsError::new(&e.to_string());
    let obj = JsValue::from(err.clone());
    // Setting a property on a fresh Error object cannot fail; if it did, the message stands.
    let _ = js_sys::Reflect::set(&obj, &"kind".into(), &e.kind().into());
    let _ = js_sys::Reflect::set(&obj, &"hint".into(), &e.hint().into());
    err
}

fn from_js<T: serde::de::DeserializeOwned>(what: &str, v: JsValue) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(v).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// Plain JS objects (maps as objects, 64-bit integers as numbers).
fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}
