//! Model configs as JSON: a sequence of layers (VGG-style) with residual
//! blocks (ResNet-style). Users write their own; `builtin` has the paper's.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::spec::MAX_QCFS_LEVELS;

/// One layer of a model. Convolutions and linears carry a bias (no BatchNorm),
/// `Act` is the threshold ReLU clip(x, 0, mu) with one trainable mu per layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    pub input: [usize; 3],
    pub classes: usize,
    pub layers: Vec<LayerSpec>,
    /// `Some(L)`: every activation (residual blocks' included) is QCFS, the clip
    /// rounded to L levels of mu / L (Bu et al. 2022); `None`: the plain clip. With
    /// QCFS a mu starts at most at L / 4 (`params::QCFS_FIRST_LEVEL_INIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_levels: Option<u32>,
}

impl ModelConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: ModelConfig = serde_json::from_str(text).map_err(|e| Error::Model(format!("model config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Walk the layers checking every shape with checked arithmetic, so that a
    /// bad config fails before anything is allocated. Returns each layer's output shape.
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>> {
        let mut cur: Vec<usize> = self.input.to_vec();
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let bad = |msg: String| Error::Model(format!("{}: layer {i} ({}): {msg}", self.name, l.kind()));
            cur = layer_shape(l, &cur).map_err(bad)?;
            let elems = cur.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if elems.is_none_or(|e| e > MAX_TENSOR_ELEMENTS) {
                return Err(bad(format!(
                    "output {cur:?} exceeds {MAX_TENSOR_ELEMENTS} values per image"
                )));
            }
            out.push(cur.clone());
        }
        match cur.as_slice() {
            [c] if *c == self.classes => Ok(out),
            _ => Err(Error::Model(format!(
                "{}: the last layer must output [{}] logits, got {cur:?}",
                self.name, self.classes
            ))),
        }
    }

    /// Shapes, sizes and the parameter count within the documented limits.
    pub fn validate(&self) -> Result<()> {
        if self.layers.is_empty() || self.classes < 2 || self.input.contains(&0) {
            return Err(Error::Model(format!(
                "{}: needs layers, >= 2 classes and a non-empty input",
                self.name
            )));
        }
        if let Some(l) = self.act_levels.filter(|l| !(1..=MAX_QCFS_LEVELS).contains(l)) {
            return Err(Error::Model(format!(
                "{}: act_levels must be in 1..={MAX_QCFS_LEVELS} (QCFS quantization levels), got {l}",
                self.name
            )));
        }
        let shapes = self.shapes()?;
        let mut total = 0usize;
        let mut cur = self.input.to_vec();
        for (i, (l, next)) in self.layers.iter().zip(&shapes).enumerate() {
            let n = layer_params(l, &cur).filter(|&n| n <= MAX_TENSOR_ELEMENTS);
            total = n
                .and_then(|n| total.checked_add(n))
                .filter(|&t| t <= MAX_PARAMETERS)
                .ok_or_else(|| {
                    Error::Model(format!(
                        "{}: layer {i} ({}) takes the model over {MAX_PARAMETERS} parameters",
                        self.name,
                        l.kind()
                    ))
                })?;
            cur = next.clone();
        }
        Ok(())
    }
}

/// The most values one tensor may hold (per image for activations): the kernels index with 32-bit integers.
pub const MAX_TENSOR_ELEMENTS: usize = i32::MAX as usize;

/// The most parameters a model may have (1 GiB of f32; VGG-16 has 15 M).
pub const MAX_PARAMETERS: usize = 1 << 28;

impl LayerSpec {
    /// The layer's name in configs (`conv`, `linear`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv { .. } => "conv",
            LayerSpec::Act { .. } => "act",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::MaxPool { .. } => "max_pool",
            LayerSpec::AvgPool { .. } => "avg_pool",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Block { .. } => "block",
        }
    }
}

/// Output length of a window `k` moved by `stride` over `size` padded by `pad`; None when it does not fit.
fn window_out(size: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = pad.checked_mul(2)?.checked_add(size)?;
    if k == 0 || stride == 0 || padded < k {
        return None;
    }
    Some((padded - k) / stride + 1)
}

/// One layer's output shape for input `cur`, or what is wrong.
fn layer_shape(l: &LayerSpec, cur: &[usize]) -> std::result::Result<Vec<usize>, String> {
    let chw = || spatial(cur).ok_or_else(|| format!("needs a [C,H,W] input, got {cur:?}"));
    match l {
        LayerSpec::Conv {
            out, k, stride, pad, ..
        } => {
            let [_, h, w] = chw()?;
            let fit = |s| window_out(s, *k, *stride, *pad);
            match (fit(h), fit(w)) {
                (Some(oh), Some(ow)) if *out > 0 => Ok(vec![*out, oh, ow]),
                _ => Err(format!(
                    "k={k} stride={stride} pad={pad} out={out} does not fit {h}x{w}"
                )),
            }
        }
        LayerSpec::Act { mu } if !(mu.is_finite() && *mu > 0.0) => Err(format!("mu must be finite and > 0, got {mu}")),
        LayerSpec::Dropout { p } if !(0.0..1.0).contains(p) => Err(format!("dropout p must be in [0,1), got {p}")),
        LayerSpec::Act { .. } | LayerSpec::Dropout { .. } => Ok(cur.to_vec()),
        LayerSpec::MaxPool { k, stride } | LayerSpec::AvgPool { k, stride } => {
            let [c, h, w] = chw()?;
            match (window_out(h, *k, *stride, 0), window_out(w, *k, *stride, 0)) {
                (Some(oh), Some(ow)) => Ok(vec![c, oh, ow]),
                _ => Err(format!("k={k} stride={stride} does not fit {h}x{w}")),
            }
        }
        LayerSpec::Flatten => {
            let n = cur
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or("the flattened size overflows")?;
            Ok(vec![n])
        }
        LayerSpec::Linear { out, .. } => match cur {
            [_] if *out > 0 => Ok(vec![*out]),
            [_] => Err("out must be >= 1".into()),
            _ => Err(format!("needs a flat input, got {cur:?} (add a flatten)")),
        },
        LayerSpec::Block { out, stride, dropout } => {
            let [_, h, w] = chw()?;
            if !(0.0..1.0).contains(dropout) || *out == 0 {
                return Err("block out must be >= 1 and dropout in [0,1)".into());
            }
            match (window_out(h, 3, *stride, 1), window_out(w, 3, *stride, 1)) {
                (Some(oh), Some(ow)) => Ok(vec![*out, oh, ow]),
                _ => Err(format!("stride={stride} does not fit {h}x{w}")),
            }
        }
    }
}

/// Parameters of one layer on input `cur` (None on overflow).
fn layer_params(l: &LayerSpec, cur: &[usize]) -> Option<usize> {
    let conv =
        |c_in: usize, out: usize, k: usize| c_in.checked_mul(out)?.checked_mul(k.checked_mul(k)?)?.checked_add(out);
    match l {
        LayerSpec::Conv { out, k, .. } => conv(cur[0], *out, *k),
        LayerSpec::Linear { out, .. } => cur[0].checked_mul(*out)?.checked_add(*out),
        LayerSpec::Act { .. } => Some(1),
        LayerSpec::Block { out, .. } => {
            let shortcut = conv(cur[0], *out, 1)?;
            conv(cur[0], *out, 3)?
                .checked_add(conv(*out, *out, 3)?)?
                .checked_add(shortcut)?
                .checked_add(2)
        }
        _ => Some(0),
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
