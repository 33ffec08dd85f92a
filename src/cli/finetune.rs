//! `ultraspike finetune`: surrogate-gradient BPTT fine-tuning of a converted
//! SNN at T steps (paper section 5), with progress bars, a checkpoint per
//! epoch and `--json`.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::pipeline::{FinetuneEvent, FinetuneOptions};
use ultraspike::spec::EpochRecord;
use ultraspike::{Error, Result};

use super::common::{in_file, open, stop_on_ctrl_c, to_json, DataArgs, EpochBar};
use super::GpuArgs;

#[derive(Args)]
pub struct FinetuneArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// The SNN checkpoint (from `convert`, or a fine-tuning run to continue).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Time steps (default: the checkpoint's).
    #[arg(long)]
    pub timesteps: Option<usize>,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    #[arg(long, default_value_t = 0.1)]
    pub lr_gamma: f32,
    /// boxcar (paper), triangle or fast-sigmoid.
    #[arg(long, default_value = "boxcar")]
    pub surrogate: String,
    /// Dropout probability for every dropout layer during fine-tuning (paper: 0.1); -1 keeps the model's.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub dropout: f32,
    #[arg(long)]
    pub augment: Option<bool>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub max_steps: Option<u64>,
    #[arg(long, default_value = "snn-finetuned.safetensors")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

impl FinetuneArgs {
    fn options(&self) -> FinetuneOptions {
        FinetuneOptions {
            timesteps: self.timesteps,
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            weight_decay: self.weight_decay,
            lr_gamma: self.lr_gamma,
            surrogate: self.surrogate.clone(),
            dropout: self.dropout,
            augment: self.augment,
            seed: self.seed,
            max_steps: self.max_steps,
            // --train-subset applies to the whole dataset here (DataArgs).
            train_subset: None,
        }
    }
}

pub fn run(a: &FinetuneArgs) -> Result<()> {
    let opts = a.options();
    opts.validate()?;
    Checkpoint::check_writable(&a.out)?;
    let ck = Checkpoint::load(&a.ckpt)?;
    let mut p = open(&a.gpu)?;
    a.data.load_into(&mut p)?;
    in_file(&a.ckpt, p.load_snn(ck))?;
    let info = p.start_finetune(&opts)?;
    let model = p.saved_snn().map(|s| s.meta.model.name.clone()).unwrap_or_default();
    eprintln!(
        "fine-tuning {model} SNN at T={} on {} images; GPU memory planned: {:.1} MiB",
        info.t,
        info.images,
        info.memory_bytes as f64 / (1024.0 * 1024.0)
    );
    let before = pollster::block_on(p.finetune_evaluate())?;
    eprintln!("before: test accuracy {:.2}%", before.accuracy * 100.0);
    stop_on_ctrl_c(&p, "before the next batch");
    let mut bar = EpochBar::default();
    let mut history: Vec<EpochRecord> = Vec::new();
    let run = pollster::block_on(p.finetune_to_end(|event| match event {
        FinetuneEvent::Batch(progress) => {
            bar.batch(progress, 0);
            Ok(())
        }
        FinetuneEvent::Epoch(progress, snapshot) => {
            bar.finish();
            if let Some(rec) = &progress.record {
                print_epoch(rec);
                history.push(rec.clone());
            }
            snapshot.ck.save_atomic(&a.out)
        }
    }));
    bar.finish();
    if let Err(Error::Cancelled) = run {
        match history.last() {
            Some(rec) => eprintln!("{} holds fine-tuning epoch {}", a.out.display(), rec.epoch + 1),
            None => eprintln!("no epoch closed, so {} was not written", a.out.display()),
        }
    }
    run?;
    eprintln!("saved {}", a.out.display());
    if a.json {
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "timesteps": info.t, "before": before, "history": history, "memory_bytes": info.memory_bytes, "checkpoint": a.out })
            )
        );
    }
    Ok(())
}

fn print_epoch(rec: &EpochRecord) {
    eprintln!(
        "epoch {:>3}  lr {:.2e}  train loss {:.4} acc {:.2}%  test acc {:.2}%  {:.0} img/s  {:.1}s",
        rec.epoch + 1,
        rec.lr,
        rec.train_loss,
        rec.train_acc * 100.0,
        rec.test_acc * 100.0,
        rec.images_per_s,
        rec.seconds
    );
}
