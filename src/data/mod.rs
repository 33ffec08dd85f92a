//! Datasets parsed from bytes, so the same code serves a file natively and a
//! fetched or uploaded buffer in the browser: MNIST / Fashion-MNIST IDX (raw or
//! .gz), CIFAR-10/100 binary (loose files or the official .tar.gz), and a
//! learnable synthetic set. Images stay u8 `[n, c, h, w]` until a batch is
//! normalized, which keeps CIFAR-10's 50k training images at 150 MB.

pub mod archive;
pub mod augment;
pub mod batch;
pub mod cifar;
pub mod idx;
pub mod named;
pub mod synthetic;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use augment::Augment;
pub use batch::Batcher;
pub use cifar::{parse_cifar, parse_cifar_archive};
pub use idx::parse_idx_pair;
#[cfg(not(target_arch = "wasm32"))]
pub use named::load_dir;
pub use named::load_named_files;
pub use synthetic::{synthetic, synthetic_split};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    Cifar10,
    Cifar100,
    Synthetic,
}

impl DatasetKind {
    pub const ALL: [DatasetKind; 5] = [
        Self::Mnist,
        Self::FashionMnist,
        Self::Cifar10,
        Self::Cifar100,
        Self::Synthetic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::Synthetic => "synthetic",
        }
    }

    /// `[c, h, w]` and class count of the real datasets (None for synthetic,
    /// whose shape is chosen by the caller).
    pub fn shape(self) -> Option<([usize; 3], usize)> {
        match self {
            Self::Mnist | Self::FashionMnist => Some(([1, 28, 28], 10)),
            Self::Cifar10 => Some(([3, 32, 32], 10)),
            Self::Cifar100 => Some(([3, 32, 32], 100)),
            Self::Synthetic => None,
        }
    }

    /// Whether the standard recipe augments it (random crop pad 4 + flip).
    pub fn default_augment(self) -> bool {
        matches!(self, Self::Cifar10 | Self::Cifar100)
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        match key.as_str() {
            "mnist" => Ok(Self::Mnist),
            "fashionmnist" | "fashion" => Ok(Self::FashionMnist),
            "cifar10" => Ok(Self::Cifar10),
            "cifar100" => Ok(Self::Cifar100),
            "synthetic" => Ok(Self::Synthetic),
            _ => Err(Error::Data(format!(
                "unknown dataset `{s}` (expected one of mnist, fashion-mnist, cifar10, cifar100, synthetic)"
            ))),
        }
    }
}

/// Per-channel normalization x = (pixel/255 - mean[c]) / std[c].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    /// The usual statistics of each dataset (synthetic: mean 0.5, std 0.25, one
    /// entry that applies to every channel).
    pub fn for_kind(kind: DatasetKind) -> Self {
        let (mean, std): (&[f32], &[f32]) = match kind {
            DatasetKind::Cifar10 => (&[0.4914, 0.4822, 0.4465], &[0.2023, 0.1994, 0.2010]),
            DatasetKind::Cifar100 => (&[0.5071, 0.4867, 0.4408], &[0.2675, 0.2565, 0.2761]),
            DatasetKind::Mnist => (&[0.1307], &[0.3081]),
            DatasetKind::FashionMnist => (&[0.2860], &[0.3530]),
            DatasetKind::Synthetic => (&[0.5], &[0.25]),
        };
        Self {
            mean: mean.to_vec(),
            std: std.to_vec(),
        }
    }

    /// Check it fits `c` channels (one entry broadcasts) and has no zero std.
    pub fn validate(&self, c: usize) -> Result<()> {
        let ok_len = |n: usize| n == c || n == 1;
        if !ok_len(self.mean.len()) || !ok_len(self.std.len()) {
            return Err(Error::Data(format!(
                "normalization has {} means and {} stds for {c} channels",
                self.mean.len(),
                self.std.len()
            )));
        }
        if self.std.iter().any(|&s| !(s.is_finite() && s > 0.0)) || self.mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::Data(format!(
                "normalization {self:?} needs finite means and positive stds"
            )));
        }
        Ok(())
    }

    /// Normalize one u8 image `[c, h*w]` into `out` (same length). Lengths were
    /// validated when the dataset was built; a short `out` only fills what fits.
    pub fn apply(&self, img: &[u8], c: usize, out: &mut [f32]) {
        let hw = img.len().checked_div(c).unwrap_or(0);
        for ch in 0..c {
            let m = self.mean.get(ch).or(self.mean.first()).copied().unwrap_or(0.0);
            let s = self.std.get(ch).or(self.std.first()).copied().unwrap_or(1.0);
            let (scale, shift) = (1.0 / (255.0 * s), m / s);
            let src = &img[ch * hw..(ch + 1) * hw];
            let dst = out.iter_mut().skip(ch * hw).take(hw);
            for (o, &p) in dst.zip(src) {
                *o = p as f32 * scale - shift;
            }
        }
    }
}

/// Images `[n, c, h, w]` u8 with one u8 label each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub classes: usize,
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub norm: Normalization,
}

/// Train and test halves of one dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub train: Dataset,
    pub test: Dataset,
}

impl Dataset {
    pub fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// The u8 pixels of sample `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let l = self.image_len();
        &self.images[i * l..(i + 1) * l]
    }

    /// Normalized sample `i` into `out` (`image_len()` floats).
    pub fn normalized_into(&self, i: usize, out: &mut [f32]) {
        self.norm.apply(self.image(i), self.c, out);
    }

    /// Samples `start..start+len`, clamped to the dataset.
    pub fn subset(&self, start: usize, len: usize) -> Dataset {
        let s = start.min(self.n);
        let e = s.saturating_add(len).min(self.n);
        let l = self.image_len();
        Dataset {
            n: e - s,
            images: self.images[s * l..e * l].to_vec(),
            labels: self.labels[s..e].to_vec(),
            norm: self.norm.clone(),
            ..*self
        }
    }

    /// Count of each label (length `classes`).
    pub fn label_histogram(&self) -> Vec<usize> {
        let mut h = vec![0usize; self.classes];
        for &l in &self.labels {
            if let Some(x) = h.get_mut(l as usize) {
                *x += 1;
            }
        }
        h
    }

    /// Every invariant the batcher and trainers rely on.
    pub fn validate(&self) -> Result<()> {
        let what = self.kind;
        if self.images.len() != self.n * self.image_len() || self.labels.len() != self.n {
            return Err(Error::Data(format!(
                "{what}: {} image bytes and {} labels for n={} of [{}, {}, {}]",
                self.images.len(),
                self.labels.len(),
                self.n,
                self.c,
                self.h,
                self.w
            )));
        }
        if self.classes == 0 || self.classes > 256 {
            return Err(Error::Data(format!(
                "{what}: {} classes (u8 labels allow 1..=256)",
                self.classes
            )));
        }
        if let Some(i) = self.labels.iter().position(|&l| l as usize >= self.classes) {
            return Err(Error::Data(format!(
                "{what}: label {} of sample {i} is out of range for {} classes",
                self.labels[i], self.classes
            )));
        }
        self.norm.validate(self.c)
    }
}

/// Prefix a data error with the file (or part) it came from.
pub(crate) fn context(e: Error, what: &str) -> Error {
    match e {
        Error::Data(m) => Error::Data(format!("{what}: {m}")),
        other => other,
    }
}
