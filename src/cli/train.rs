//! `ultraspike train`: train a threshold-ReLU DNN with progress bars, an
//! evaluation and an atomic checkpoint per epoch, resume and `--json`.

use std::path::{Path, PathBuf};

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::pipeline::{TrainEvent, TrainOptions, TrainStart};
use ultraspike::spec::EpochRecord;
use ultraspike::{Error, Result};

use super::common::{in_file, open, stop_on_ctrl_c, to_json, DataArgs, EpochBar, ModelArgs};
use super::GpuArgs;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.95)]
    pub momentum: f32,
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f32,
    /// Learning-rate factor at 60/80/90 % of the epochs (paper: 0.1; its code: 0.2).
    #[arg(long, default_value_t = 0.1)]
    pub lr_gamma: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random crop (pad 4) + horizontal flip; on by default for CIFAR.
    #[arg(long)]
    pub augment: Option<bool>,
    #[arg(long)]
    pub no_shuffle: bool,
    #[arg(long)]
    pub no_dropout: bool,
    /// Stop after this many SGD steps in total.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Train with QCFS activations (Bu et al. 2022): every clip rounded to L levels of mu / L,
    /// for `convert --method qcfs`.
    #[arg(long, value_name = "L")]
    pub qcfs: Option<u32>,
    /// Where to write the checkpoint (after every epoch, atomically).
    #[arg(long, default_value = "dnn.safetensors")]
    pub out: PathBuf,
    /// Continue a run from its checkpoint (weights, momentum, epoch, history).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Start from these weights (a fresh run otherwise).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    fn options(&self) -> Result<TrainOptions> {
        Ok(TrainOptions {
            model: self.model.text()?,
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            lr_gamma: self.lr_gamma,
            seed: self.seed,
            augment: self.augment,
            shuffle: !self.no_shuffle,
            dropout: !self.no_dropout,
            max_steps: self.max_steps,
            qcfs: self.qcfs,
        })
    }
}

pub fn run(a: &TrainArgs) -> Result<()> {
    let opts = a.options()?;
    opts.validate()?;
    Checkpoint::check_writable(&a.out)?;
    let mut p = open(&a.gpu)?;
    let data = a.data.load_into(&mut p)?;
    let start = match (&a.resume, &a.init) {
        (Some(path), _) => {
            in_file(path, p.load_dnn(Checkpoint::load(path)?))?;
            TrainStart::Resume
        }
        (None, Some(path)) => TrainStart::FromWeights(Checkpoint::load(path)?),
        (None, None) => TrainStart::Fresh,
    };
    let info = p.start_training(&opts, start)?;
    if let Some(path) = &a.resume {
        eprintln!(
            "resumed {} at epoch {} (step {})",
            path.display(),
            info.epoch,
            info.step
        );
    }
    let device = p.gpu().info.name.clone();
    eprintln!(
        "training {} on {} ({} train / {} test images) on {device}",
        info.model.name,
        data.kind.name(),
        data.train,
        data.test
    );
    stop_on_ctrl_c(&p, "before the next batch");
    let mut bar = EpochBar::default();
    let mut saved: Option<usize> = None;
    let run = pollster::block_on(p.train_to_end(|event| match event {
        TrainEvent::Batch(progress) => {
            bar.batch(progress, a.batch);
            Ok(())
        }
        TrainEvent::Epoch(progress, snapshot) => {
            bar.finish();
            if let Some(rec) = &progress.record {
                print_epoch(rec);
            }
            snapshot.ck.save_atomic(&a.out)?;
            saved = Some(snapshot.meta.epoch);
            Ok(())
        }
    }));
    bar.finish();
    run.map_err(|e| diverged_note(e, &a.out, saved))?;
    match saved {
        Some(_) => eprintln!("saved {}", a.out.display()),
        None => eprintln!(
            "nothing to train: the run is at epoch {} of {}; {} was not written",
            info.epoch,
            info.epochs,
            a.out.display()
        ),
    }
    if a.json {
        let history = p.saved_dnn().map(|s| s.meta.history.clone()).unwrap_or_default();
        let checkpoint = saved.map(|_| &a.out);
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "model": info.model.name, "dataset": data.kind.name(), "checkpoint": checkpoint, "history": history })
            )
        );
    }
    Ok(())
}

fn print_epoch(rec: &EpochRecord) {
    eprintln!(
        "epoch {:>3}  lr {:.5}  train loss {:.4} acc {:.2}%  test loss {:.4} acc {:.2}%  {:.0} img/s  {:.1}s",
        rec.epoch + 1,
        rec.lr,
        rec.train_loss,
        rec.train_acc * 100.0,
        rec.test_loss,
        rec.test_acc * 100.0,
        rec.images_per_s,
        rec.seconds
    );
}

/// On divergence or Ctrl-C, say where the last good weights are (nothing is overwritten).
fn diverged_note(e: Error, out: &Path, saved: Option<usize>) -> Error {
    match (e, saved) {
        (Error::Cancelled, Some(ep)) => {
            eprintln!(
                "{} holds epoch {ep}; continue with `ultraspike train --resume {}` and the same flags",
                out.display(),
                out.display()
            );
            Error::Cancelled
        }
        (Error::Cancelled, None) => {
            eprintln!("no epoch closed, so {} was not written", out.display());
            Error::Cancelled
        }
        (Error::Diverged(m), Some(ep)) => Error::Diverged(format!(
            "{m}; the last good checkpoint is {} (epoch {ep})",
            out.display()
        )),
        (Error::Diverged(m), None) => Error::Diverged(format!("{m}; no checkpoint was written yet")),
        (e, _) => e,
    }
}
