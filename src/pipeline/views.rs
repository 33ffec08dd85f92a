//! What the faces show: evaluations of the DNN and the SNN, the conversion
//! walkthrough of one layer, the spike raster of one test image, a test image,
//! and the energy constants.

use serde::Serialize;

use super::options::check_timesteps;
use super::{no_dnn, no_snn, Pipeline};
use crate::convert::algorithm1::{find_scaling_factors, loss_grid, LossKind, Scaling};
use crate::dnn::{evaluate, DnnNet, SgdConfig};
use crate::error::{Error, Result};
use crate::models::check_dataset;
use crate::snn::ckpt::snn_from_checkpoint;
use crate::snn::energy::{EnergyModel, CMOS_45NM, SPINNAKER, TRUENORTH};
use crate::snn::eval::{evaluate_accuracy, evaluate_snn, shrink_until_fits, SnnEvaluation};
use crate::snn::{SnnNet, SnnOptions};
use crate::spec::{ConversionMethod, Evaluation};

/// Histogram bins of the walkthrough (the calibration keeps 16,384).
const VIEW_BINS: usize = 120;

/// An SNN's evaluation with what it is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SnnReport {
    pub model: String,
    pub method: ConversionMethod,
    pub finetune_epochs: usize,
    pub t: usize,
    pub evaluation: SnnEvaluation,
}

/// The conversion-error walkthrough of one layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Walkthrough {
    pub name: String,
    pub mu: f32,
    /// The DNN's QCFS levels L (None: the plain clip), for the staircase view.
    pub act_levels: Option<u32>,
    pub min: f32,
    pub max: f32,
    /// `VIEW_BINS` counts over [lo, hi).
    pub hist: Vec<u64>,
    pub lo: f64,
    pub hi: f64,
    pub percentiles: Vec<f64>,
    pub percentile_error: f64,
    /// Algorithm 1's (alpha, beta) for T = 1..8.
    pub per_t: Vec<(usize, Scaling)>,
    /// The loss surface at the last conversion's T (1 before any): rows alphas, columns betas.
    pub t: usize,
    pub alphas: Vec<f64>,
    pub betas: Vec<f64>,
    pub loss: Vec<Vec<f64>>,
    pub best: Scaling,
}

/// Spikes of sampled neurons of every layer over T for one test image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Raster {
    pub index: usize,
    pub label: u32,
    pub predicted: usize,
    pub logits: Vec<f32>,
    pub t: usize,
    pub layers: Vec<RasterLayer>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RasterLayer {
    pub name: String,
    pub neurons: usize,
    /// Indices of the sampled neurons.
    pub sample: Vec<usize>,
    /// spikes[t][j]: whether sampled neuron j fired at step t.
    pub spikes: Vec<Vec<bool>>,
    /// Spikes of the whole layer at each step.
    pub per_step: Vec<usize>,
}

/// One test image as stored (u8, CHW).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestImage {
    pub pixels: Vec<u8>,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub label: u8,
}

/// The energy model used and the neuromorphic (compute, static) pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyConstants {
    pub model: &'static str,
    pub e_mac_pj: f64,
    pub e_ac_pj: f64,
    pub truenorth: (f64, f64),
    pub spinnaker: (f64, f64),
}

pub fn energy_constants() -> EnergyConstants {
    let m: EnergyModel = CMOS_45NM;
    EnergyConstants {
        model: m.name,
        e_mac_pj: m.e_mac_pj,
        e_ac_pj: m.e_ac_pj,
        truenorth: TRUENORTH,
        spinnaker: SPINNAKER,
    }
}

impl Pipeline {
    /// Test loss and accuracy of the DNN in batches of `batch` (a running training snapshots first).
    pub async fn evaluate_dnn(&mut self, batch: usize) -> Result<Evaluation> {
        if batch == 0 {
            return Err(Error::InvalidOption("--batch must be >= 1".into()));
        }
        self.sync_training().await?;
        let saved = self.dnn.as_ref().and_then(|d| d.saved.as_ref()).ok_or_else(no_dnn)?;
        let test = self.test_set()?;
        check_dataset(&saved.meta.model, test)?;
        let mut net = DnnNet::new(&self.gpu, &saved.meta.model, batch, 0, SgdConfig::default())?;
        net.load_checkpoint(&self.gpu, &saved.ck, false)?;
        let (mut x, mut y) = (vec![0.0; batch * net.image_len()], vec![0; batch]);
        evaluate(&self.gpu, &mut net, test, &mut x, &mut y).await
    }

    /// The current SNN at `t` steps (None: its own T), batch at most `max_batch`
    /// and shrunk to what the device takes.
    fn snn_net(&self, t: Option<usize>, max_batch: usize) -> Result<SnnNet> {
        let saved = &self.snn.as_ref().ok_or_else(no_snn)?.saved;
        let test = self.test_set()?;
        check_dataset(&saved.meta.model, test)?;
        let t = t.unwrap_or(saved.meta.timesteps);
        check_timesteps(t)?;
        let (net, _) = shrink_until_fits(max_batch.max(1), test.n, |b| {
            snn_from_checkpoint(&self.gpu, &saved.ck, SnnOptions::inference(b, t))
        })?;
        Ok(net)
    }

    /// Accuracy, spikes per layer and energy of the current SNN on the whole test set.
    pub async fn evaluate_snn(&mut self, t: Option<usize>, max_batch: usize) -> Result<SnnReport> {
        self.sync_finetuning().await?;
        let net = self.snn_net(t, max_batch)?;
        let evaluation = evaluate_snn(&self.gpu, &net, self.test_set()?, Some(CMOS_45NM)).await?;
        let meta = &self.snn.as_ref().ok_or_else(no_snn)?.saved.meta;
        Ok(SnnReport {
            model: meta.model.name.clone(),
            method: meta.method,
            finetune_epochs: meta.finetune_epochs,
            t: net.opts.t,
            evaluation,
        })
    }

    /// Test accuracy only of the current SNN at `t` steps (for accuracy vs T).
    pub async fn snn_accuracy_at(&mut self, t: usize, max_batch: usize) -> Result<f32> {
        self.sync_finetuning().await?;
        let net = self.snn_net(Some(t), max_batch)?;
        let b = net.opts.batch;
        let (mut x, mut y) = (vec![0.0; b * net.image_len()], vec![0; b]);
        Ok(evaluate_accuracy(&self.gpu, &net, self.test_set()?, &mut x, &mut y)
            .await?
            .accuracy)
    }

    /// Test image `i`.
    pub fn test_image(&self, i: usize) -> Result<TestImage> {
        let ds = self.test_set()?;
        if i >= ds.n {
            return Err(Error::InvalidOption(format!(
                "test image {i} out of range (0..{})",
                ds.n
            )));
        }
        Ok(TestImage {
            pixels: ds.image(i).to_vec(),
            c: ds.c,
            h: ds.h,
            w: ds.w,
            label: ds.labels[i],
        })
    }

    /// Spikes of up to `sample` neurons per layer over T for test image `index`, and the prediction.
    pub async fn raster(&self, index: usize, sample: usize) -> Result<Raster> {
        let (net, ds) = self.single_image_snn()?;
        let t = net.opts.t;
        let mut x = vec![0.0; net.image_len()];
        let label = super::spikes::load_test_image(ds, index, &mut x)?;
        net.eval_step(&self.gpu, &x, &[label], 1, false).await?;
        let logits = net.read_logits(&self.gpu, 1).await?;
        let predicted = super::argmax(&logits);
        let outs = self
            .gpu
            .read_many(&net.neurons.iter().map(|nr| &nr.out).collect::<Vec<_>>())
            .await?;
        let layers = net
            .neurons
            .iter()
            .zip(&outs)
            .map(|(nr, out)| raster_layer(&nr.name, out, nr.per_sample, t, sample))
            .collect();
        Ok(Raster {
            index,
            label,
            predicted,
            logits,
            t,
            layers,
        })
    }

    /// The walkthrough data of calibrated layer `index`.
    pub fn walkthrough(&self, index: usize) -> Result<Walkthrough> {
        let cal = self.calibrated()?;
        let s = cal
            .stats
            .get(index)
            .ok_or_else(|| Error::InvalidOption(format!("layer {index} out of range (0..{})", cal.stats.len())))?;
        let mu = s.mu as f64;
        let mut hist = vec![0u64; VIEW_BINS];
        let n = s.hist.len().max(1);
        for (i, &c) in s.hist.iter().enumerate() {
            hist[(i * VIEW_BINS / n).min(VIEW_BINS - 1)] += c as u64;
        }
        let per_t = (1..=8)
            .map(|t| (t, find_scaling_factors(&s.percentiles, mu, t, LossKind::Signed)))
            .collect();
        let t = cal.last_t.max(1);
        let (alphas, betas, loss) = loss_grid(&s.percentiles, mu, t, LossKind::Signed);
        let best = find_scaling_factors(&s.percentiles, mu, t, LossKind::Signed);
        let act_levels = self.saved_dnn().and_then(|d| d.meta.model.act_levels);
        Ok(Walkthrough {
            name: s.name.clone(),
            mu: s.mu,
            act_levels,
            min: s.min,
            max: s.max,
            hist,
            lo: s.min as f64,
            hi: s.hist_top as f64,
            percentiles: s.percentiles.clone(),
            percentile_error: s.percentile_error,
            per_t,
            t,
            alphas,
            betas,
            loss,
            best,
        })
    }
}

/// Sample `sample` neurons evenly from a layer's outputs `[T, per]` (one image).
fn raster_layer(name: &str, out: &[f32], per: usize, t: usize, sample: usize) -> RasterLayer {
    let k = sample.clamp(1, per.max(1));
    let idx: Vec<usize> = (0..k).map(|j| j * per / k).collect();
    let spikes = (0..t)
        .map(|step| {
            idx.iter()
                .map(|&i| out.get(step * per + i).is_some_and(|v| *v != 0.0))
                .collect()
        })
        .collect();
    let per_step = (0..t)
        .map(|step| {
            out[(step * per).min(out.len())..((step + 1) * per).min(out.len())]
                .iter()
                .filter(|v| **v != 0.0)
                .count()
        })
        .collect();
    RasterLayer {
        name: name.to_string(),
        neurons: per,
        sample: idx,
        spikes,
        per_step,
    }
}
