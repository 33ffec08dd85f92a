//! Model configs as JSON: a sequence of layers (VGG-style) with residual
//! blocks (ResNet-style). Users write their own; `builtin` has the paper's.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};

/// One layer of a model. Convolutions and linears carry a bias (no BatchNorm),
/// `Act` is the threshold ReLU clip(x, 0, mu) with one trainable mu per layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerSpec {
    Conv {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    Act {
        #[serde(default = "mu_init")]
        mu: f32,
    },
    Dropout {
        p: f32,
    },
    MaxPool {
        k: usize,
        stride: usize,
    },
    AvgPool {
        k: usize,
        stride: usize,
    },
    Flatten,
    Linear {
        out: usize,
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Basic residual block: conv3x3(stride) - act - dropout - conv3x3 - (+ shortcut) - act.
    /// The shortcut is the identity, or a 1x1 conv with `stride` when the shape changes.
    /// The add happens before the clip (as in the paper's code).
    Block {
        out: usize,
        stride: usize,
        #[serde(default)]
        dropout: f32,
    },
}

fn yes() -> bool {
    true
}

fn mu_init() -> f32 {
    4.0
}

/// A whole model: input shape [C, H, W], number of classes and its layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub name: String,
    pub input: [usize; 3],
    pub classes: usize,
    pub layers: Vec<LayerSpec>,
}

impl ModelConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: ModelConfig = serde_json::from_str(text).map_err(|e| Error::Config(format!("model config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Walk the layers checking every shape, so that a bad config fails
    /// before any GPU buffer is allocated. Returns each layer's output shape.
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>> {
        let mut cur: Vec<usize> = self.input.to_vec();
        let mut out = Vec::new();
        let bad = |i: usize, msg: String| Error::Config(format!("{}: layer {i}: {msg}", self.name));
        for (i, l) in self.layers.iter().enumerate() {
            cur = match l {
                LayerSpec::Conv {
                    out, k, stride, pad, ..
                } => {
                    let [c, h, w] = spatial(&cur).ok_or_else(|| bad(i, "conv needs a [C,H,W] input".into()))?;
                    let _ = c;
                    if *k == 0 || *stride == 0 || h + 2 * pad < *k || w + 2 * pad < *k || *out == 0 {
                        return Err(bad(
                            i,
                            format!("conv k={k} stride={stride} pad={pad} does not fit {h}x{w}"),
                        ));
                    }
                    vec![*out, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1]
                }
                LayerSpec::Act { mu } => {
                    if mu.is_nan() || *mu <= 0.0 {
                        return Err(bad(i, format!("mu must be > 0, got {mu}")));
                    }
                    cur
                }
                LayerSpec::Dropout { p } => {
                    if !(0.0..1.0).contains(p) {
                        return Err(bad(i, format!("dropout p must be in [0,1), got {p}")));
                    }
                    cur
                }
                LayerSpec::MaxPool { k, stride } | LayerSpec::AvgPool { k, stride } => {
                    let [c, h, w] = spatial(&cur).ok_or_else(|| bad(i, "pool needs a [C,H,W] input".into()))?;
                    if *k == 0 || *stride == 0 || h < *k || w < *k {
                        return Err(bad(i, format!("pool k={k} stride={stride} does not fit {h}x{w}")));
                    }
                    vec![c, (h - k) / stride + 1, (w - k) / stride + 1]
                }
                LayerSpec::Flatten => vec![cur.iter().product()],
                LayerSpec::Linear { out, .. } => {
                    if cur.len() != 1 {
                        return Err(bad(
                            i,
                            format!("linear needs a flat input, got {cur:?} (add a flatten)"),
                        ));
                    }
                    vec![*out]
                }
                LayerSpec::Block { out, stride, dropout } => {
                    let [_, h, w] = spatial(&cur).ok_or_else(|| bad(i, "block needs a [C,H,W] input".into()))?;
                    if *stride == 0 || !(0.0..1.0).contains(dropout) {
                        return Err(bad(i, "block stride must be >= 1 and dropout in [0,1)".into()));
                    }
                    vec![*out, (h + 2 - 3) / stride + 1, (w + 2 - 3) / stride + 1]
                }
            };
            out.push(cur.clone());
        }
        match cur.as_slice() {
            [c] if *c == self.classes => Ok(out),
            _ => Err(Error::Config(format!(
                "{}: the last layer must output [{}] logits, got {cur:?}",
                self.name, self.classes
            ))),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() || self.classes < 2 || self.input.contains(&0) {
            return Err(Error::Config(format!(
                "{}: needs layers, >= 2 classes and a non-empty input",
                self.name
            )));
        }
        self.shapes().map(|_| ())
    }
}

fn spatial(s: &[usize]) -> Option<[usize; 3]> {
    match s {
        [c, h, w] => Some([*c, *h, *w]),
        _ => None,
    }
}

/// The dataset's images and classes must match what the model expects.
pub fn check_dataset(model: &ModelConfig, ds: &Dataset) -> Result<()> {
    if [ds.c, ds.h, ds.w] != model.input || ds.classes > model.classes {
        return Err(Error::Data(format!(
            "dataset `{}` has {}x{}x{} images and {} classes; model `{}` expects {:?} and {} classes",
            ds.kind.name(),
            ds.c,
            ds.h,
            ds.w,
            ds.classes,
            model.name,
            model.input,
            model.classes
        )));
    }
    Ok(())
}
