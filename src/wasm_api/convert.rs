//! Conversion from the page: calibration, one conversion (evaluated, with the
//! per-layer diagnostics), single points of the method x T sweep, and the data
//! of the conversion-error walkthrough (histogram, percentiles, Algorithm 1's
//! choice for T = 1..8, its loss over (alpha, beta)). Mirrors src/cli/convert.rs
//! and src/cli/sweep.rs.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{js_err, no_data, no_dnn, to_js, Session, SnnState};
use crate::convert::algorithm1::{find_scaling_factors, loss_grid, LossKind, Scaling};
use crate::convert::pipeline::{build_converted_fitting, calibrate_checkpoint, diagnostics, snn_meta};
use crate::convert::{convert, ConversionMethod, NeuronParams};
use crate::snn::energy::CMOS_45NM;
use crate::snn::eval::{evaluate_snn, SnnEvaluation};
use crate::snn::net::SnnNet;

/// Histogram bins sent to the page (the calibration keeps 16,384).
const VIEW_BINS: usize = 120;

#[derive(Serialize)]
struct LayerSummary {
    name: String,
    mu: f32,
    min: f32,
    max: f32,
    p99_9: f64,
    count: u64,
}

#[derive(Serialize)]
struct Walkthrough {
    name: String,
    mu: f32,
    min: f32,
    max: f32,
    /// `VIEW_BINS` counts over [lo, hi).
    hist: Vec<u64>,
    lo: f64,
    hi: f64,
    percentiles: Vec<f64>,
    percentile_error: f64,
    /// Algorithm 1's (alpha, beta) for T = 1..8.
    per_t: Vec<(usize, Scaling)>,
    /// The loss surface at the chosen T: rows alphas, columns betas.
    t: usize,
    alphas: Vec<f64>,
    betas: Vec<f64>,
    loss: Vec<Vec<f64>>,
    best: Scaling,
}

#[wasm_bindgen]
impl Session {
    /// Per-layer pre-activation statistics of the DNN on `batches` training batches.
    pub async fn calibrate(&mut self, batches: usize, batch: usize) -> Result<JsValue, JsError> {
        if self.trainer.is_some() {
            self.snapshot_trainer().await?;
        }
        let d = self
            .dnn
            .as_ref()
            .ok_or_else(no_dnn)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let stats = calibrate_checkpoint(
            &self.gpu,
            &d.meta.model,
            &d.ck,
            &split.train,
            batches.max(1),
            batch.max(1),
        )
        .await
        .map_err(js_err)?;
        let out: Vec<LayerSummary> = stats
            .iter()
            .map(|s| LayerSummary {
                name: s.name.clone(),
                mu: s.mu,
                min: s.min,
                max: s.max,
                p99_9: s.p99_9,
                count: s.count,
            })
            .collect();
        self.stats = Some(stats);
        to_js(&out)
    }

    /// Convert with `method` at `t` steps, evaluate on the test set (spikes,
    /// energy) and keep the SNN (for fine-tuning, rasters and download).
    pub async fn convert(&mut self, method: String, t: usize) -> Result<JsValue, JsError> {
        let (method, snn, ev, neurons) = self.convert_and_evaluate(&method, t).await?;
        let (d, stats) = (self.dnn.as_ref().ok_or_else(no_dnn)?, self.stats.as_ref().ok_or_else(not_calibrated)?);
        let diag = diagnostics(stats, &neurons, &ev, t);
        let scalings: Vec<Scaling> = stats
            .iter()
            .map(|s| find_scaling_factors(&s.percentiles, s.mu as f64, t, LossKind::Signed))
            .collect();
        let meta = snn_meta(&d.meta.model, method, t, neurons, Some(&d.meta));
        let ck = snn.to_checkpoint(&self.gpu, &meta).await.map_err(js_err)?;
        self.snn = Some(SnnState { ck, meta });
        self.finetuner = None;
        self.calib_t = t;
        to_js(
            &serde_json::json!({ "method": method, "t": t, "evaluation": ev, "layers": diag, "scalings": scalings }),
        )
    }

    /// One point of the sweep: accuracy, spikes and energy ratio of `method` at `t`.
    pub async fn sweep_point(&mut self, method: String, t: usize) -> Result<JsValue, JsError> {
        let (method, _, ev, _) = self.convert_and_evaluate(&method, t).await?;
        let ratio = ev.energy.as_ref().map(|e| e.ratio).unwrap_or(0.0);
        to_js(
            &serde_json::json!({ "method": method, "t": t, "accuracy": ev.accuracy, "spikes_per_image": ev.total_spikes_per_image, "energy_ratio": ratio }),
        )
    }

    /// The walkthrough data of layer `index` (needs `calibrate`; T from the last conversion).
    pub fn walkthrough(&self, index: usize) -> Result<JsValue, JsError> {
        let stats = self
            .stats
            .as_ref()
            .ok_or_else(not_calibrated)?;
        let s = stats.get(index).ok_or_else(|| {
            JsError::new(&format!("layer {index} out of range (0..{})", stats.len()))
        })?;
        let mu = s.mu as f64;
        let (lo, hi) = (s.min as f64, s.hist_top as f64);
        let mut hist = vec![0u64; VIEW_BINS];
        let n = s.hist.len().max(1);
        for (i, &c) in s.hist.iter().enumerate() {
            hist[(i * VIEW_BINS / n).min(VIEW_BINS - 1)] += c as u64;
        }
        let per_t = (1..=8)
            .map(|t| {
                (
                    t,
                    find_scaling_factors(&s.percentiles, mu, t, LossKind::Signed),
                )
            })
            .collect();
        let t = self.calib_t.max(1);
        let (alphas, betas, loss) = loss_grid(&s.percentiles, mu, t, LossKind::Signed);
        let best = find_scaling_factors(&s.percentiles, mu, t, LossKind::Signed);
        let w = Walkthrough {
            name: s.name.clone(),
            mu: s.mu,
            min: s.min,
            max: s.max,
            hist,
            lo,
            hi,
            percentiles: s.percentiles.clone(),
            percentile_error: s.percentile_error,
            per_t,
            t,
            alphas,
            betas,
            loss,
            best,
        };
        to_js(&w)
    }
}

impl Session {
    /// The calibrated DNN converted with `method` at `t` steps and evaluated on
    /// the whole test set (batch shrunk to what the device takes).
    async fn convert_and_evaluate(&self, method: &str, t: usize) -> Result<(ConversionMethod, SnnNet, SnnEvaluation, Vec<NeuronParams>), JsError> {
        let method: ConversionMethod = method.parse().map_err(js_err)?;
        let d = self.dnn.as_ref().ok_or_else(no_dnn)?;
        let split = self.split.as_ref().ok_or_else(no_data)?;
        let stats = self.stats.as_ref().ok_or_else(not_calibrated)?;
        let neurons = convert(method, stats, t).map_err(js_err)?;
        let snn = build_converted_fitting(&self.gpu, &d.meta.model, &d.ck, &neurons, t, split.test.n, 100).map_err(js_err)?;
        let ev = evaluate_snn(&self.gpu, &snn, &split.test, Some(CMOS_45NM)).await.map_err(js_err)?;
        Ok((method, snn, ev, neurons))
    }
}

fn not_calibrated() -> JsError {
    JsError::new("calibrate first")
}
