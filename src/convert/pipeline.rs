//! The conversion pipeline: a DNN checkpoint + calibration data -> per-layer
//! statistics -> neuron constants for a method and T -> an SNN with the DNN's
//! weights, plus the per-layer diagnostics of the conversion error.

use serde::{Deserialize, Serialize};

use super::algorithm1::{h_of_t_mu, k_of_mu};
use super::methods::NeuronParams;
use super::stats::{calibrate, LayerStats};
use crate::checkpoint::Checkpoint;
use crate::data::Dataset;
use crate::dnn::{DnnNet, SgdConfig};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::models::ModelConfig;
use crate::snn::eval::SnnEvaluation;
use crate::snn::net::{SnnNet, SnnOptions};

/// Calibrate a DNN checkpoint's layers on `batches` batches of `batch` images.
pub async fn calibrate_checkpoint(
    gpu: &Gpu,
    model: &ModelConfig,
    ck: &Checkpoint,
    ds: &Dataset,
    batches: usize,
    batch: usize,
) -> Result<Vec<LayerStats>> {
    let net = DnnNet::new(gpu, model, batch.min(ds.n).max(1), 0, SgdConfig::default())?;
    net.load_checkpoint(gpu, ck, false)?;
    calibrate(gpu, net, ds, batches).await
}

/// Build the SNN of `method` at `t` steps with the DNN checkpoint's weights.
pub fn build_converted(
    gpu: &Gpu,
    model: &ModelConfig,
    ck: &Checkpoint,
    neurons: &[NeuronParams],
    opts: SnnOptions,
) -> Result<SnnNet> {
    let net = SnnNet::new(gpu, model, neurons, opts)?;
    net.load_dnn_weights(gpu, ck)?;
    Ok(net)
}

/// What the app's conversion-error walkthrough draws, per layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerDiagnostics {
    pub name: String,
    pub mu: f32,
    pub vth: f32,
    pub alpha: f32,
    pub beta: f32,
    pub shift: f32,
    /// The paper's K(mu) and h(T, mu) (eq. 7) from the calibration histogram.
    pub k_mu: f64,
    pub h_t_mu: f64,
    /// mu (K - h): the predicted error of unscaled conversion (V_th = mu).
    pub predicted_error: f64,
    /// Mean DNN post-activation (calibration data) and mean SNN output per step.
    pub dnn_mean: f64,
    pub snn_mean: f64,
    /// dnn_mean - snn_mean, measured.
    pub measured_error: f64,
    pub activity: f64,
}

/// Join statistics, neuron constants and an SNN evaluation into per-layer diagnostics.
pub fn diagnostics(
    stats: &[LayerStats],
    neurons: &[NeuronParams],
    eval: &SnnEvaluation,
    t: usize,
) -> Vec<LayerDiagnostics> {
    stats
        .iter()
        .zip(neurons)
        .zip(&eval.layers)
        .map(|((s, n), l)| {
            let vals = s.weighted_values();
            let (k, h) = (k_of_mu(&vals, s.mu as f64), h_of_t_mu(&vals, t, s.mu as f64));
            LayerDiagnostics {
                name: s.name.clone(),
                mu: s.mu,
                vth: n.vth,
                alpha: n.alpha,
                beta: n.beta,
                shift: n.shift,
                k_mu: k,
                h_t_mu: h,
                predicted_error: s.mu as f64 * (k - h),
                dnn_mean: s.mean_post,
                snn_mean: l.mean_output,
                measured_error: s.mean_post - l.mean_output,
                activity: l.activity,
            }
        })
        .collect()
}

/// Like `build_converted` for inference over `n_images`: batch `max_batch` (at
/// most `n_images`), halved until the device takes it (T*B rows grow with T).
pub fn build_converted_fitting(
    gpu: &Gpu,
    model: &ModelConfig,
    ck: &Checkpoint,
    neurons: &[NeuronParams],
    t: usize,
    n_images: usize,
    max_batch: usize,
) -> Result<SnnNet> {
    crate::snn::eval::shrink_until_fits(max_batch, n_images, |b| {
        build_converted(gpu, model, ck, neurons, SnnOptions::inference(b, t))
    })
}
