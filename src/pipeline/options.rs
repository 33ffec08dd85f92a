//! What a face may ask for, validated once for both: the training and
//! fine-tuning options (the CLI's flags and the page's option objects
//! deserialize into these), their defaults, and their ranges.

use serde::Deserialize;

use crate::data::{Dataset, DatasetKind};
use crate::error::{Error, Result};
use crate::models::{builtin, ModelConfig};
use crate::spec::{FinetuneConfig, SgdConfig, StepDecay, Surrogate, TrainConfig, MAX_QCFS_LEVELS};

use crate::spec::MAX_TIMESTEPS;

/// DNN training options (defaults: the CLI's).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainOptions {
    /// A built-in model name or a model config as JSON text.
    pub model: String,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// Learning-rate factor at 60/80/90 % of the epochs (paper: 0.1; its code: 0.2).
    pub lr_gamma: f32,
    pub seed: u64,
    /// Random crop + flip; None: on for CIFAR.
    pub augment: Option<bool>,
    pub shuffle: bool,
    pub dropout: bool,
    /// Stop after this many SGD steps in total.
    pub max_steps: Option<u64>,
    /// Train with QCFS activations of this many levels (sets the model's `act_levels`).
    pub qcfs: Option<u32>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: "vgg-small".into(),
            epochs: 10,
            batch: 64,
            lr: 0.01,
            momentum: 0.95,
            weight_decay: 5e-4,
            lr_gamma: 0.1,
            seed: 0,
            augment: None,
            shuffle: true,
            dropout: true,
            max_steps: None,
            qcfs: None,
        }
    }
}

impl TrainOptions {
    pub fn validate(&self) -> Result<()> {
        at_least_one("epochs", self.epochs)?;
        at_least_one("batch", self.batch)?;
        positive("lr", self.lr)?;
        in_range("momentum", self.momentum, 0.0, 1.0, false)?;
        non_negative("weight-decay", self.weight_decay)?;
        in_range("lr-gamma", self.lr_gamma, 0.0, 1.0, true)?;
        if self.max_steps == Some(0) {
            return Err(Error::InvalidOption("--max-steps must be >= 1".into()));
        }
        if let Some(l) = self.qcfs.filter(|l| !(1..=MAX_QCFS_LEVELS).contains(l)) {
            return Err(Error::InvalidOption(format!(
                "--qcfs must be in 1..={MAX_QCFS_LEVELS} (quantization levels), got {l}"
            )));
        }
        Ok(())
    }

    /// The model to build for images like `ds`'s (a built-in name or JSON text),
    /// with QCFS activations when `qcfs` is set.
    pub fn model_config(&self, ds: &Dataset) -> Result<ModelConfig> {
        let mut cfg = if self.model.trim_start().starts_with('{') {
            ModelConfig::from_json(&self.model)?
        } else {
            builtin(&self.model, [ds.c, ds.h, ds.w], ds.classes)?
        };
        if self.qcfs.is_some() {
            cfg.act_levels = self.qcfs;
            cfg.validate()?;
        }
        Ok(cfg)
    }

    /// A resumed run keeps its checkpoint's model: `qcfs`, if given, must agree with it.
    pub fn check_resumed_model(&self, model: &ModelConfig) -> Result<()> {
        match self.qcfs {
            Some(l) if model.act_levels != Some(l) => Err(Error::InvalidOption(format!(
                "--qcfs {l}: the resumed checkpoint's model has act_levels {:?}; resume without --qcfs, \
                 or start from its weights (--init) to change the activation",
                model.act_levels
            ))),
            _ => Ok(()),
        }
    }

    pub fn to_config(&self, kind: DatasetKind) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            sgd: SgdConfig {
                lr: self.lr,
                momentum: self.momentum,
                weight_decay: self.weight_decay,
            },
            schedule: StepDecay {
                gamma: self.lr_gamma,
                ..Default::default()
            },
            augment: self.augment.unwrap_or(kind.default_augment()),
            shuffle: self.shuffle,
            dropout: self.dropout,
            seed: self.seed,
            max_steps: self.max_steps,
        }
    }
}

/// SNN fine-tuning options (defaults: the CLI's).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinetuneOptions {
    /// Time steps; None: the SNN's own T.
    pub timesteps: Option<usize>,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub weight_decay: f32,
    pub lr_gamma: f32,
    /// boxcar (paper), triangle or fast-sigmoid.
    pub surrogate: String,
    /// Dropout probability for every dropout layer (paper: 0.1); negative keeps the model's.
    pub dropout: f32,
    pub augment: Option<bool>,
    pub seed: u64,
    pub max_steps: Option<u64>,
    /// Fine-tune on the first N training images only (None: all).
    pub train_subset: Option<usize>,
}

impl Default for FinetuneOptions {
    fn default() -> Self {
        FinetuneOptions {
            timesteps: None,
            epochs: 5,
            batch: 32,
            lr: 1e-4,
            weight_decay: 0.0,
            lr_gamma: 0.1,
            surrogate: "boxcar".into(),
            dropout: 0.1,
            augment: None,
            seed: 0,
            max_steps: None,
            train_subset: None,
        }
    }
}

impl FinetuneOptions {
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = self.timesteps {
            check_timesteps(t)?;
        }
        at_least_one("epochs", self.epochs)?;
        at_least_one("batch", self.batch)?;
        positive("lr", self.lr)?;
        non_negative("weight-decay", self.weight_decay)?;
        in_range("lr-gamma", self.lr_gamma, 0.0, 1.0, true)?;
        if !self.dropout.is_finite() || self.dropout >= 1.0 {
            return Err(Error::InvalidOption(format!(
                "--dropout must be below 1 (negative keeps the model's), got {}",
                self.dropout
            )));
        }
        if self.max_steps == Some(0) || self.train_subset == Some(0) {
            return Err(Error::InvalidOption(
                "--max-steps and --train-subset must be >= 1".into(),
            ));
        }
        parse_surrogate(&self.surrogate).map(|_| ())
    }

    pub fn to_config(&self, t: usize, kind: DatasetKind) -> Result<FinetuneConfig> {
        Ok(FinetuneConfig {
            epochs: self.epochs,
            batch: self.batch,
            t,
            lr: self.lr,
            weight_decay: self.weight_decay,
            schedule: StepDecay {
                gamma: self.lr_gamma,
                ..Default::default()
            },
            surrogate: parse_surrogate(&self.surrogate)?,
            dropout: (self.dropout >= 0.0).then_some(self.dropout),
            augment: self.augment.unwrap_or(kind.default_augment()),
            shuffle: true,
            seed: self.seed,
            max_steps: self.max_steps,
        })
    }
}

pub fn parse_surrogate(s: &str) -> Result<Surrogate> {
    match s {
        "boxcar" => Ok(Surrogate::Boxcar),
        "triangle" => Ok(Surrogate::Triangle),
        "fast-sigmoid" => Ok(Surrogate::FastSigmoid),
        _ => Err(Error::InvalidOption(format!(
            "unknown surrogate `{s}` (boxcar, triangle, fast-sigmoid)"
        ))),
    }
}

/// 1 <= T <= `MAX_TIMESTEPS`.
pub fn check_timesteps(t: usize) -> Result<()> {
    if t == 0 || t > MAX_TIMESTEPS {
        return Err(Error::InvalidOption(format!(
            "time steps T must be in 1..={MAX_TIMESTEPS}, got {t}"
        )));
    }
    Ok(())
}

fn at_least_one(flag: &str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(Error::InvalidOption(format!("--{flag} must be >= 1")));
    }
    Ok(())
}

fn positive(flag: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::InvalidOption(format!(
            "--{flag} must be a finite number > 0, got {v}"
        )));
    }
    Ok(())
}

fn non_negative(flag: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::InvalidOption(format!(
            "--{flag} must be a finite number >= 0, got {v}"
        )));
    }
    Ok(())
}

/// lo <= v < hi, or lo < v <= hi with `upper_closed` (then lo is excluded).
fn in_range(flag: &str, v: f32, lo: f32, hi: f32, upper_closed: bool) -> Result<()> {
    let ok = v.is_finite()
        && if upper_closed {
            v > lo && v <= hi
        } else {
            v >= lo && v < hi
        };
    if !ok {
        let range = if upper_closed {
            format!("({lo}, {hi}]")
        } else {
            format!("[{lo}, {hi})")
        };
        return Err(Error::InvalidOption(format!("--{flag} must be in {range}, got {v}")));
    }
    Ok(())
}
