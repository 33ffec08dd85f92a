//! Classify one image with the loaded DNN or SNN: what an embedding page needs
//! (load a checkpoint, hand it pixels, get the class) with no dataset loaded.
//! The pixels are normalized with the checkpoint's own statistics (its
//! metadata), or with the loaded data's when the file carries none.

use serde::Serialize;

use super::{no_dnn, no_snn, Pipeline};
use crate::data::Normalization;
use crate::dnn::{DnnNet, SgdConfig};
use crate::error::{Error, Result};
use crate::models::ModelConfig;
use crate::snn::ckpt::snn_from_checkpoint;
use crate::snn::SnnOptions;

/// Which model classifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassifyWith {
    /// The SNN when one is loaded, else the DNN.
    Auto,
    Dnn,
    Snn,
}

impl std::str::FromStr for ClassifyWith {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "auto" => Ok(Self::Auto),
            "dnn" => Ok(Self::Dnn),
            "snn" => Ok(Self::Snn),
            _ => Err(Error::InvalidOption(format!(
                "classify with `{s}`: expected auto, dnn or snn"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Classification {
    /// "dnn" or "snn".
    pub model: &'static str,
    pub predicted: usize,
    /// DNN: the logits; SNN: the readout summed over its T steps.
    pub scores: Vec<f32>,
    /// softmax(scores).
    pub probabilities: Vec<f32>,
    /// The SNN's time steps (None for the DNN).
    pub timesteps: Option<usize>,
}

/// What an image must be for `classify`: the model's input and classes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelInput {
    /// "dnn" or "snn".
    pub model: &'static str,
    pub name: String,
    /// [C, H, W].
    pub input: [usize; 3],
    pub classes: usize,
}

impl Pipeline {
    /// The input `classify(.., with)` takes (an embedding page sizes its canvas by it).
    pub fn model_input(&self, with: ClassifyWith) -> Result<ModelInput> {
        let (kind, model) = if self.uses_snn(with) {
            ("snn", &self.snn.as_ref().ok_or_else(no_snn)?.saved.meta.model)
        } else {
            let d = self.dnn.as_ref().and_then(|d| d.saved.as_ref());
            ("dnn", &d.ok_or_else(no_dnn)?.meta.model)
        };
        Ok(ModelInput {
            model: kind,
            name: model.name.clone(),
            input: model.input,
            classes: model.classes,
        })
    }

    fn uses_snn(&self, with: ClassifyWith) -> bool {
        match with {
            ClassifyWith::Auto => self.snn.is_some(),
            ClassifyWith::Snn => true,
            ClassifyWith::Dnn => false,
        }
    }

    /// Classify `pixels` (u8, channel-major [C, H, W] of the model's input).
    pub async fn classify(&self, pixels: &[u8], with: ClassifyWith) -> Result<Classification> {
        if self.uses_snn(with) {
            self.classify_snn(pixels).await
        } else {
            self.classify_dnn(pixels).await
        }
    }

    async fn classify_dnn(&self, pixels: &[u8]) -> Result<Classification> {
        let saved = self.dnn.as_ref().and_then(|d| d.saved.as_ref()).ok_or_else(no_dnn)?;
        let model = &saved.meta.model;
        let x = self.normalized(pixels, model, saved.meta.normalization.as_ref())?;
        let net = DnnNet::new(&self.gpu, model, 1, 0, SgdConfig::default())?;
        net.load_checkpoint(&self.gpu, &saved.ck, false)?;
        net.forward(&self.gpu, &x, 1)?;
        let scores = net.logits(&self.gpu, 1).await?;
        Ok(result("dnn", scores, None))
    }

    async fn classify_snn(&self, pixels: &[u8]) -> Result<Classification> {
        let saved = &self.snn.as_ref().ok_or_else(no_snn)?.saved;
        let (model, t) = (&saved.meta.model, saved.meta.timesteps);
        let x = self.normalized(pixels, model, saved.meta.normalization.as_ref())?;
        let (net, _) = snn_from_checkpoint(&self.gpu, &saved.ck, SnnOptions::inference(1, t))?;
        net.eval_step(&self.gpu, &x, &[0], 1, false).await?;
        let scores = net.read_logits(&self.gpu, 1).await?;
        Ok(result("snn", scores, Some(t)))
    }

    /// `pixels` checked against the model's input and normalized: the file's
    /// statistics, else the loaded data's (an image the model was not trained
    /// on the scale of would be classified wrongly without a word).
    fn normalized(&self, pixels: &[u8], model: &ModelConfig, own: Option<&Normalization>) -> Result<Vec<f32>> {
        let [c, h, w] = model.input;
        let want = c.checked_mul(h).and_then(|n| n.checked_mul(w));
        if want != Some(pixels.len()) {
            return Err(Error::Config(format!(
                "{} pixels given, model `{}` takes {c}x{h}x{w} (u8, channel-major)",
                pixels.len(),
                model.name
            )));
        }
        let norm = match (own, &self.data) {
            (Some(n), _) => n,
            (None, Some(d)) => &d.test.norm,
            (None, None) => {
                return Err(Error::Config(format!(
                    "model `{}`: its checkpoint names no normalization and no data is loaded to take it from",
                    model.name
                )))
            }
        };
        norm.validate(c)?;
        let mut x = vec![0.0; pixels.len()];
        norm.apply(pixels, c, &mut x);
        Ok(x)
    }
}

fn result(model: &'static str, scores: Vec<f32>, timesteps: Option<usize>) -> Classification {
    let predicted = super::argmax(&scores);
    let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
    let sum: f32 = exp.iter().sum();
    Classification {
        model,
        predicted,
        probabilities: exp.iter().map(|e| e / sum).collect(),
        scores,
        timesteps,
    }
}
