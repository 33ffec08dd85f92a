//! What the page's conversion walkthrough shows, as one serializable report
//! (`ultraspike convert --diagnostics FILE`), so that a researcher can inspect
//! or plot a conversion outside the page: per layer the percentiles, Algorithm
//! 1's loss over the whole (alpha, beta) grid, the chosen pair and its loss,
//! K(mu), h(T, mu) and the measured DNN-vs-SNN error.

use serde::Serialize;

use super::{Conversion, Pipeline};
use crate::convert::algorithm1::{find_scaling_factors, loss_at_threshold, loss_grid, LossKind, Scaling};
use crate::convert::pipeline::LayerDiagnostics;
use crate::convert::{ConversionMethod, Recipe};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversionReport {
    pub method: Recipe,
    pub t: usize,
    pub accuracy: f32,
    pub images: usize,
    /// "signed" (the paper's Algorithm 1: |sum| is minimized) or "squared" (alpha-beta-mse);
    /// the loss of the grid and of the chosen pair.
    pub loss_kind: &'static str,
    pub layers: Vec<LayerReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    /// The neuron constants chosen, K(mu), h(T, mu), the predicted and the measured error.
    #[serde(flatten)]
    pub summary: LayerDiagnostics,
    /// Pre-activation range and percentiles q = 1..=99 (index q-1) on the calibration data.
    pub min: f32,
    pub max: f32,
    pub percentiles: Vec<f64>,
    pub p99_9: f64,
    pub p99_99: f64,
    /// Upper bound of every percentile's error (one histogram bin).
    pub percentile_error: f64,
    /// The loss at the chosen (alpha, beta) and at (1, 1). For the baselines (max-norm,
    /// percentile, deng) their (V_th / mu, beta) in Algorithm 1's model, which has no input shift.
    pub chosen_loss: f64,
    pub unscaled_loss: f64,
    /// Algorithm 1's pick at T = 1..=8 (for how the choice moves with T).
    pub per_t: Vec<(usize, Scaling)>,
    /// The loss surface at T: rows = alpha candidates (percentiles <= mu, over mu), columns = beta.
    pub alphas: Vec<f64>,
    pub betas: Vec<f64>,
    pub loss: Vec<Vec<f64>>,
}

impl Pipeline {
    /// The report of `conversion`, which must be the last conversion of the current calibration.
    pub fn conversion_report(&self, conversion: &Conversion) -> Result<ConversionReport> {
        let cal = self.calibrated()?;
        if cal.stats.len() != conversion.layers.len() {
            return Err(Error::Config(format!(
                "the conversion has {} spiking layers, the calibration {}: convert again",
                conversion.layers.len(),
                cal.stats.len()
            )));
        }
        let kind = match conversion.method.method {
            ConversionMethod::AlphaBetaMse => LossKind::Squared,
            _ => LossKind::Signed,
        };
        let t = conversion.t;
        let layers = cal
            .stats
            .iter()
            .zip(&conversion.layers)
            .map(|(s, d)| {
                let mu = s.mu as f64;
                let (alphas, betas, loss) = loss_grid(&s.percentiles, mu, t, kind);
                // Algorithm 1's own pick in f64: the checkpoint holds its threshold exactly (a
                // percentile, an f32 value) but beta only as f32, off the k/100 grid. Other
                // methods are scored at their own V_th, never rebuilt from V_th / mu.
                let chosen_loss = match conversion.method.method {
                    ConversionMethod::AlphaBeta | ConversionMethod::AlphaBetaMse => {
                        find_scaling_factors(&s.percentiles, mu, t, kind).loss
                    }
                    _ => loss_at_threshold(&s.percentiles, mu, d.vth as f64, d.beta as f64, t, kind),
                };
                LayerReport {
                    summary: d.clone(),
                    min: s.min,
                    max: s.max,
                    percentiles: s.percentiles.clone(),
                    p99_9: s.p99_9,
                    p99_99: s.p99_99,
                    percentile_error: s.percentile_error,
                    chosen_loss,
                    unscaled_loss: loss_at_threshold(&s.percentiles, mu, mu, 1.0, t, kind),
                    per_t: (1..=8)
                        .map(|t| (t, find_scaling_factors(&s.percentiles, mu, t, kind)))
                        .collect(),
                    alphas,
                    betas,
                    loss,
                }
            })
            .collect();
        Ok(ConversionReport {
            method: conversion.method,
            t,
            accuracy: conversion.evaluation.accuracy,
            images: conversion.evaluation.images,
            loss_kind: match kind {
                LossKind::Signed => "signed",
                LossKind::Squared => "squared",
            },
            layers,
        })
    }
}
