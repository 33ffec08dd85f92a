//! Calibration through the pipeline: the DNN's activation statistics on the
//! training set, step-wise (one batch of a pass per step) or to the end.

use serde::Serialize;

use super::{no_data, no_dnn, Calibrated, Calibration, Pipeline};
use crate::convert::stats::{Calibrator, LayerStats};
use crate::dnn::{DnnNet, SgdConfig};
use crate::error::{Error, Result};

/// Where a calibration stands; `layers` is set once it finished.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationProgress {
    pub done: usize,
    pub total: usize,
    pub layers: Option<Vec<LayerSummary>>,
}

/// One layer's statistics, as a face lists them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub mu: f32,
    pub min: f32,
    pub max: f32,
    pub p99_9: f64,
    pub count: u64,
}

impl LayerSummary {
    fn of(s: &LayerStats) -> LayerSummary {
        LayerSummary {
            name: s.name.clone(),
            mu: s.mu,
            min: s.min,
            max: s.max,
            p99_9: s.p99_9,
            count: s.count,
        }
    }
}

impl Pipeline {
    /// Start calibrating the current DNN on `batches` batches of `batch`
    /// training images (a running training is snapshotted first).
    pub async fn start_calibration(&mut self, batches: usize, batch: usize) -> Result<CalibrationProgress> {
        if batches == 0 || batch == 0 {
            return Err(Error::InvalidOption("--calib-batches and --batch must be >= 1".into()));
        }
        self.sync_training().await?;
        let train = &self.data.as_ref().ok_or_else(no_data)?.train;
        let dnn = self.dnn.as_mut().ok_or_else(no_dnn)?;
        let saved = dnn.saved.as_ref().ok_or_else(no_dnn)?;
        dnn.calibration = None; // free the old calibration's net first
        let net = DnnNet::new(
            &self.gpu,
            &saved.meta.model,
            batch.min(train.n).max(1),
            0,
            SgdConfig::default(),
        )?;
        net.load_checkpoint(&self.gpu, &saved.ck, false)?;
        let c = Calibrator::new(&self.gpu, net, train, batches)?;
        let p = CalibrationProgress {
            done: 0,
            total: c.total_steps(),
            layers: None,
        };
        dnn.calibration = Some(Calibration::Running(Box::new(c)));
        Ok(p)
    }

    /// Up to `k` calibration batches; the statistics once the last one ran.
    pub async fn calibration_steps(&mut self, k: usize) -> Result<CalibrationProgress> {
        let train = &self.data.as_ref().ok_or_else(no_data)?.train;
        let dnn = self.dnn.as_mut().ok_or_else(no_dnn)?;
        let c = match &mut dnn.calibration {
            Some(Calibration::Running(c)) => c,
            Some(Calibration::Done(d)) => {
                let n = d.steps;
                return Ok(CalibrationProgress {
                    done: n,
                    total: n,
                    layers: Some(d.stats.iter().map(LayerSummary::of).collect()),
                });
            }
            None => return Err(Error::MissingStep("no calibration running: start one first".into())),
        };
        for _ in 0..k {
            if c.is_done() {
                break;
            }
            self.cancel.check()?;
            c.step(&self.gpu, train).await?;
        }
        let (done, total) = (c.steps_done(), c.total_steps());
        if done < total {
            return Ok(CalibrationProgress {
                done,
                total,
                layers: None,
            });
        }
        let Some(Calibration::Running(c)) = dnn.calibration.take() else {
            return Err(Error::Config("calibration state changed while it ran".into()));
        };
        let stats = c.finish(&self.gpu).await?;
        let layers = Some(stats.iter().map(LayerSummary::of).collect());
        dnn.calibration = Some(Calibration::Done(Calibrated {
            stats,
            last_t: 0,
            steps: total,
        }));
        Ok(CalibrationProgress { done, total, layers })
    }

    /// Calibrate start to finish, reporting each step to `on`.
    pub async fn calibrate(
        &mut self,
        batches: usize,
        batch: usize,
        mut on: impl FnMut(&CalibrationProgress),
    ) -> Result<Vec<LayerSummary>> {
        let mut p = self.start_calibration(batches, batch).await?;
        while p.layers.is_none() {
            p = self.calibration_steps(1).await?;
            on(&p);
        }
        Ok(p.layers.unwrap_or_default())
    }

    /// The finished calibration's per-layer statistics.
    pub fn layer_stats(&self) -> Result<&[LayerStats]> {
        Ok(&self.calibrated()?.stats)
    }

    pub(super) fn calibrated(&self) -> Result<&Calibrated> {
        match self.dnn.as_ref().and_then(|d| d.calibration.as_ref()) {
            Some(Calibration::Done(c)) => Ok(c),
            _ => Err(super::not_calibrated()),
        }
    }
}
