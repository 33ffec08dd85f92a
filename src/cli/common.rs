//! Options shared by the training and evaluation commands: which dataset
//! (and where), which model, and the progress bar style.

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ultraspike::data::{load_dir, synthetic_split, DatasetKind, Split};
use ultraspike::models::{builtin, ModelConfig};
use ultraspike::{Error, Result};

#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// mnist, fashion-mnist, cifar10, cifar100 or synthetic.
    #[arg(long, default_value = "fashion-mnist")]
    pub dataset: String,
    /// Folder with the dataset (default: data/, searched for data/<dataset>/ as scripts/fetch-datasets.sh lays it out).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first N training images.
    #[arg(long)]
    pub train_subset: Option<usize>,
    /// Use only the first N test images.
    #[arg(long)]
    pub test_subset: Option<usize>,
}

impl DataArgs {
    pub fn kind(&self) -> Result<DatasetKind> {
        self.dataset.parse::<DatasetKind>()
    }

    pub fn load(&self) -> Result<Split> {
        let kind = self.kind()?;
        let mut split = if kind == DatasetKind::Synthetic {
            synthetic_split(2048, 512, 1, 16, 16, 4, 1)?
        } else {
            let dir = self.data.clone().unwrap_or_else(|| PathBuf::from("data"));
            load_dir(kind, &dir).map_err(|e| {
                Error::Data(format!("{e} (fetch MNIST/Fashion-MNIST with `bash scripts/fetch-datasets.sh data`; bring CIFAR with --data DIR)"))
            })?
        };
        if let Some(n) = self.train_subset {
            split.train = split.train.subset(0, n);
        }
        if let Some(n) = self.test_subset {
            split.test = split.test.subset(0, n);
        }
        Ok(split)
    }
}

#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// A built-in model (vgg11, vgg16, resnet20, vgg-small, vgg-tiny) or a path to a JSON config.
    #[arg(long, default_value = "vgg-small")]
    pub model: String,
}

impl ModelArgs {
    pub fn config(&self, split: &Split) -> Result<ModelConfig> {
        let ds = &split.train;
        if self.model.ends_with(".json") {
            let text = std::fs::read_to_string(&self.model)?;
            return ModelConfig::from_json(&text);
        }
        builtin(&self.model, [ds.c, ds.h, ds.w], ds.classes)
    }
}

pub fn bar(len: u64, prefix: String) -> ProgressBar {
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix:>10} [{bar:28.cyan/blue}] {pos}/{len} {msg} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(prefix);
    pb
}

/// When stderr is not a terminal (logs, CI) indicatif draws nothing: print a
/// plain progress line every tenth of the bar instead.
pub fn log_progress(pb: &ProgressBar) {
    use std::io::IsTerminal;
    let len = pb.length().unwrap_or(0).max(1);
    let pos = pb.position();
    if !std::io::stderr().is_terminal() && (pos * 10 / len != (pos.saturating_sub(1)) * 10 / len || pos == 1) {
        eprintln!("{} {pos}/{len} {} ({:.0}s elapsed, ETA {:.0}s)", pb.prefix(), pb.message(), pb.elapsed().as_secs_f64(), pb.eta().as_secs_f64());
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
