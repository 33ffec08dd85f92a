//! A conversion recipe: the method that sets the thresholds plus the options
//! that apply to any method (where the membrane starts; whether the biases are
//! corrected afterwards). Written and parsed as `method[+half|+zero][+bias]`
//! (`alpha-beta+half`, `qcfs+bias`), so the CLI's `--method`/`--methods`, the
//! page and the sweep's JSON share one spelling; a plain method name means that
//! method's defaults, so old spellings keep their meaning.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::neuron::ConversionMethod;
use crate::error::{Error, Result};

/// The membrane before the first step: 0 (the paper's), or V_th / 2, which
/// centres the rate code's rounding error on 0 (Bu et al. 2022).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitialMembrane {
    Zero,
    Half,
}

impl InitialMembrane {
    /// u(0) as a fraction of V_th.
    pub fn fraction(self) -> f32 {
        match self {
            InitialMembrane::Zero => 0.0,
            InitialMembrane::Half => 0.5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InitialMembrane::Zero => "zero",
            InitialMembrane::Half => "half",
        }
    }
}

impl FromStr for InitialMembrane {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero" | "0" => Ok(InitialMembrane::Zero),
            "half" => Ok(InitialMembrane::Half),
            _ => Err(Error::InvalidOption(format!(
                "unknown initial membrane `{s}` (zero, or half: V_th / 2)"
            ))),
        }
    }
}

impl ConversionMethod {
    /// Where this method starts the membrane unless told otherwise.
    pub fn default_init(self) -> InitialMembrane {
        match self {
            ConversionMethod::Qcfs => InitialMembrane::Half,
            _ => InitialMembrane::Zero,
        }
    }
}

/// A method and its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Recipe {
    pub method: ConversionMethod,
    pub init: InitialMembrane,
    /// After the conversion, match each spiking layer's per-channel mean output
    /// to the DNN's on the calibration images through its bias (`+bias`).
    pub bias_correction: bool,
}

impl Recipe {
    /// `method` with the initial membrane `init` (None: the method's default), no correction.
    pub fn new(method: ConversionMethod, init: Option<InitialMembrane>) -> Recipe {
        Recipe {
            method,
            init: init.unwrap_or(method.default_init()),
            bias_correction: false,
        }
    }

    /// A recipe from its spelling plus the options a face may also offer on their own
    /// (the CLI's `--init-membrane` and `--bias-correction`): a start given both ways
    /// must agree, a correction asked for either way is made.
    pub fn with_options(spelled: &str, init: Option<&str>, bias_correction: bool) -> Result<Recipe> {
        let r: Recipe = spelled.parse()?;
        let r = r.with_bias_correction(r.bias_correction || bias_correction);
        let Some(init) = init else { return Ok(r) };
        let init: InitialMembrane = init.parse().map_err(|_| {
            Error::InvalidOption(format!(
                "--init-membrane: unknown initial membrane `{init}` (zero, or half: V_th / 2)"
            ))
        })?;
        let spelled_init = spelled
            .split('+')
            .skip(1)
            .any(|o| matches!(o.trim(), "half" | "zero" | "0"));
        if spelled_init && init != r.init {
            return Err(Error::InvalidOption(format!(
                "--method {spelled} and --init-membrane {} disagree",
                init.name()
            )));
        }
        Ok(Recipe { init, ..r })
    }

    pub fn with_bias_correction(self, on: bool) -> Recipe {
        Recipe {
            bias_correction: on,
            ..self
        }
    }
}

impl From<ConversionMethod> for Recipe {
    fn from(method: ConversionMethod) -> Recipe {
        Recipe::new(method, None)
    }
}

impl fmt::Display for Recipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method.name())?;
        if self.init != self.method.default_init() {
            write!(f, "+{}", self.init.name())?;
        }
        if self.bias_correction {
            f.write_str("+bias")?;
        }
        Ok(())
    }
}

impl FromStr for Recipe {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.split('+');
        let method: ConversionMethod = parts.next().unwrap_or_default().trim().parse()?;
        let (mut init, mut bias) = (None, false);
        for opt in parts.map(str::trim) {
            match opt {
                "bias" if !bias => bias = true,
                "half" | "zero" | "0" if init.is_none() => init = Some(opt.parse::<InitialMembrane>()?),
                "bias" | "half" | "zero" | "0" => {
                    return Err(Error::InvalidOption(format!(
                        "conversion `{s}`: `+{opt}` given twice or with its opposite"
                    )))
                }
                _ => {
                    return Err(Error::InvalidOption(format!(
                        "conversion `{s}`: unknown option `+{opt}` (+half or +zero: the initial membrane; +bias: bias correction)"
                    )))
                }
            }
        }
        Ok(Recipe::new(method, init).with_bias_correction(bias))
    }
}

impl From<Recipe> for String {
    fn from(r: Recipe) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for Recipe {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}
