//! Conversion through the pipeline: the calibrated DNN converted with a method
//! at T steps, evaluated on the test set (spikes, energy), with the per-layer
//! diagnostics and the metadata; sweep points; the sweep to the end.

use serde::Serialize;

use super::options::check_timesteps;
use super::{no_data, no_dnn, rules, Pipeline, Snapshot, SnnOrigin};
use crate::convert::algorithm1::{find_scaling_factors, LossKind, Scaling};
use crate::convert::bias_correction::{correct_biases, BiasCorrection};
use crate::convert::pipeline::{build_converted_fitting, diagnostics, LayerDiagnostics};
use crate::convert::{convert, Recipe};
use crate::error::{Error, Result};
use crate::meta::SnnMeta;
use crate::snn::energy::CMOS_45NM;
use crate::snn::eval::{evaluate_snn, SnnEvaluation};
use crate::snn::SnnNet;
use crate::spec::NeuronParams;

/// One conversion: its evaluation, the per-layer diagnostics, Algorithm 1's
/// (alpha, beta) per layer at this T, and the SNN's metadata.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conversion {
    /// The method and its options (`alpha-beta`, `qcfs`, `deng+half`, ...).
    pub method: Recipe,
    pub t: usize,
    pub evaluation: SnnEvaluation,
    pub layers: Vec<LayerDiagnostics>,
    pub scalings: Vec<Scaling>,
    /// What `+bias` moved, per spiking layer (empty without it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bias_corrections: Vec<BiasCorrection>,
    #[serde(skip)]
    pub meta: SnnMeta,
}

/// One point of the method x T sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    pub method: Recipe,
    pub t: usize,
    pub accuracy: f32,
    pub spikes_per_image: f64,
    pub energy_ratio: f64,
    pub energy_ratio_first_once: Option<f64>,
}

impl Pipeline {
    /// Convert the calibrated DNN with `method` (a method or a recipe) at `t`
    /// steps (evaluation batch at most `max_batch`, shrunk to what the device
    /// takes) and keep the SNN.
    pub async fn convert(&mut self, method: impl Into<Recipe>, t: usize, max_batch: usize) -> Result<Conversion> {
        let method = method.into();
        let (snn, evaluation, neurons, bias_corrections) = self.convert_and_evaluate(method, t, max_batch).await?;
        let stats = &self.calibrated()?.stats;
        let layers = diagnostics(stats, &neurons, &evaluation, t);
        let scalings = stats
            .iter()
            .map(|s| find_scaling_factors(&s.percentiles, s.mu as f64, t, LossKind::Signed))
            .collect();
        let dnn_meta = &self
            .dnn
            .as_ref()
            .and_then(|d| d.saved.as_ref())
            .ok_or_else(no_dnn)?
            .meta;
        let meta = rules::converted_snn(dnn_meta, method.method, t, neurons);
        let ck = snn.to_checkpoint(&self.gpu, &meta).await?;
        drop(snn);
        let meta = SnnMeta::from_checkpoint(&ck)?;
        self.replace_snn(Snapshot { ck, meta: meta.clone() }, SnnOrigin::Converted);
        if let Some(super::Calibration::Done(c)) = self.dnn.as_mut().and_then(|d| d.calibration.as_mut()) {
            c.last_t = t;
        }
        Ok(Conversion {
            method,
            t,
            evaluation,
            layers,
            scalings,
            bias_corrections,
            meta,
        })
    }

    /// Accuracy, spikes and energy ratio of `method` at `t` (the SNN is not kept).
    pub async fn sweep_point(&self, method: impl Into<Recipe>, t: usize, max_batch: usize) -> Result<SweepPoint> {
        let method = method.into();
        let (_, ev, _, _) = self.convert_and_evaluate(method, t, max_batch).await?;
        let energy = ev.energy.as_ref();
        Ok(SweepPoint {
            method,
            t,
            accuracy: ev.accuracy,
            spikes_per_image: ev.total_spikes_per_image,
            energy_ratio: energy.map(|e| e.ratio).unwrap_or(0.0),
            energy_ratio_first_once: energy.map(|e| e.ratio_first_once),
        })
    }

    /// Every method x T point, reporting each to `on`; a cancel request stops it
    /// before the next point (`Error::Cancelled`, the points reported so far stand).
    pub async fn sweep(
        &self,
        methods: &[Recipe],
        ts: &[usize],
        max_batch: usize,
        mut on: impl FnMut(&SweepPoint),
    ) -> Result<Vec<SweepPoint>> {
        let mut rows = Vec::with_capacity(methods.len() * ts.len());
        for &m in methods {
            for &t in ts {
                self.cancel.check()?;
                let p = self.sweep_point(m, t, max_batch).await?;
                on(&p);
                rows.push(p);
            }
        }
        Ok(rows)
    }

    async fn convert_and_evaluate(
        &self,
        method: Recipe,
        t: usize,
        max_batch: usize,
    ) -> Result<(SnnNet, SnnEvaluation, Vec<NeuronParams>, Vec<BiasCorrection>)> {
        check_timesteps(t)?;
        if max_batch == 0 {
            return Err(Error::InvalidOption("--batch must be >= 1".into()));
        }
        let data = self.data.as_ref().ok_or_else(no_data)?;
        let test = &data.test;
        let stats = &self.calibrated()?.stats;
        let saved = self.dnn.as_ref().and_then(|d| d.saved.as_ref()).ok_or_else(no_dnn)?;
        let neurons = convert(method, stats, t)?;
        let snn = build_converted_fitting(&self.gpu, &saved.meta.model, &saved.ck, &neurons, t, test.n, max_batch)?;
        let corrections = if method.bias_correction {
            correct_biases(&self.gpu, &snn, stats, &data.train).await?
        } else {
            Vec::new()
        };
        let ev = evaluate_snn(&self.gpu, &snn, test, Some(CMOS_45NM)).await?;
        Ok((snn, ev, neurons, corrections))
    }
}
