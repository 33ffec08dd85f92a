//! What the subcommands share: the dataset and model flags (translated into
//! the pipeline's `DataSource` and model text), opening the pipeline, and the
//! progress bars (stderr; a plain line every tenth when stderr is not a terminal).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ultraspike::data::DatasetKind;
use ultraspike::gpu::Gpu;
use ultraspike::pipeline::{DataSource, DatasetSummary, Pipeline};
use ultraspike::spec::Progress;
use ultraspike::{Error, Result};

use super::GpuArgs;

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

    /// Load the dataset into the pipeline.
    pub fn load_into(&self, p: &mut Pipeline) -> Result<DatasetSummary> {
        let kind = self.kind()?;
        let dir = self.data.clone().unwrap_or_else(|| PathBuf::from("data"));
        let source = match kind {
            DatasetKind::Synthetic => DataSource::Synthetic,
            _ => DataSource::Dir { kind, dir: &dir },
        };
        p.load_data(source, self.train_subset, self.test_subset)
    }
}

#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// A built-in model (vgg11, vgg16, resnet20, vgg-small, vgg-tiny) or a path to a JSON config.
    #[arg(long, default_value = "vgg-small")]
    pub model: String,
}

impl ModelArgs {
    /// A built-in name as is, or the JSON text of a config file.
    pub fn text(&self) -> Result<String> {
        model_text(&self.model)
    }
}

/// `--model`: a built-in name as is, or the JSON text of the config file it names.
pub fn model_text(model: &str) -> Result<String> {
    if model.ends_with(".json") {
        return std::fs::read_to_string(model).map_err(|e| Error::Config(format!("--model {model}: {e}")));
    }
    Ok(model.to_string())
}

/// The pipeline on the adapter the flags choose.
pub fn open(gpu: &GpuArgs) -> Result<Pipeline> {
    Ok(Pipeline::new(Gpu::new_blocking(&gpu.options())?))
}

/// Ctrl-C asks the pipeline's running work to stop where it checks its cancel
/// handle (`at`: before the next batch, or the next sweep point), so a
/// checkpoint is never cut in half; a second Ctrl-C quits at once. Only the
/// commands whose long work checks the handle install it.
pub fn stop_on_ctrl_c(p: &Pipeline, at: &'static str) {
    let cancel = p.cancel_handle();
    let pressed = AtomicBool::new(false);
    let installed = ctrlc::set_handler(move || {
        if pressed.swap(true, Ordering::Relaxed) {
            eprintln!("\ninterrupted");
            std::process::exit(INTERRUPTED);
        }
        eprintln!("\nstopping {at} (Ctrl-C again quits at once)");
        cancel.request();
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will quit at once ({e})");
    }
}

/// The exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

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
        eprintln!(
            "{} {pos}/{len} {} ({:.0}s elapsed, ETA {:.0}s)",
            pb.prefix(),
            pb.message(),
            pb.elapsed().as_secs_f64(),
            pb.eta().as_secs_f64()
        );
    }
}

/// One bar per epoch, fed from the pipeline's progress.
#[derive(Default)]
pub struct EpochBar {
    pb: Option<ProgressBar>,
    /// The batch the bar was made at: images/s counts the batches after it (the
    /// first report comes when a batch is already done, at an elapsed time of ~0).
    first_batch: Option<usize>,
}

impl EpochBar {
    /// Show a trained batch; `images` is the batch size (for images/s), 0 to leave it out.
    pub fn batch(&mut self, p: &Progress, images: usize) {
        let pb = self
            .pb
            .get_or_insert_with(|| bar(p.batches as u64, format!("epoch {}", p.epoch + 1)));
        pb.set_position(p.batch as u64);
        let first = *self.first_batch.get_or_insert(p.batch);
        let rate = if images > 0 && p.batch > first {
            format!(
                " {:.0} img/s",
                ((p.batch - first) * images) as f64 / pb.elapsed().as_secs_f64().max(1e-9)
            )
        } else {
            String::new()
        };
        pb.set_message(format!("loss {:.4} acc {:.2}%{rate}", p.loss, p.accuracy * 100.0));
        log_progress(pb);
    }

    /// The epoch closed: clear its bar.
    pub fn finish(&mut self) {
        if let Some(pb) = self.pb.take() {
            pb.finish_and_clear();
        }
        self.first_batch = None;
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// A refusal of a checkpoint's content, naming the file it came from.
pub fn in_file<T>(path: &Path, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
        e => e,
    })
}
