//! `ultraspike finetune`: surrogate-gradient BPTT fine-tuning of a converted
//! SNN at T steps (paper section 5), with progress bars, a checkpoint per
//! epoch and `--json`.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::gpu::Gpu;
use ultraspike::nn::spiking::Surrogate;
use ultraspike::snn::ckpt::SnnMeta;
use ultraspike::train::snn::{FinetuneConfig, Finetuner};
use ultraspike::train::StepDecay;
use ultraspike::{Error, Result};
use web_time::Instant;

use super::common::{bar, to_json, DataArgs};
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
    #[arg(long, default_value_t = 0.1)]
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

fn surrogate(s: &str) -> Result<Surrogate> {
    match s {
        "boxcar" => Ok(Surrogate::Boxcar),
        "triangle" => Ok(Surrogate::Triangle),
        "fast-sigmoid" => Ok(Surrogate::FastSigmoid),
        _ => Err(Error::Config(format!("unknown surrogate `{s}` (boxcar, triangle, fast-sigmoid)"))),
    }
}

pub fn run(a: &FinetuneArgs) -> Result<()> {
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let ck = Checkpoint::load(&a.ckpt)?;
    let meta = SnnMeta::from_checkpoint(&ck)?;
    let split = a.data.load()?;
    let kind = a.data.kind()?;
    let t = a.timesteps.unwrap_or(meta.timesteps);
    let cfg = FinetuneConfig {
        epochs: a.epochs,
        batch: a.batch,
        t,
        lr: a.lr,
        weight_decay: a.weight_decay,
        schedule: StepDecay { gamma: a.lr_gamma, ..Default::default() },
        surrogate: surrogate(&a.surrogate)?,
        dropout: (a.dropout >= 0.0).then_some(a.dropout),
        augment: a.augment.unwrap_or(kind.default_augment()),
        shuffle: true,
        seed: a.seed,
        max_steps: a.max_steps,
    };
    let mut f = Finetuner::new(&gpu, &meta.model, &meta.neurons, &ck, meta.out_scale, &split.train, cfg)?;
    eprintln!(
        "fine-tuning {} SNN at T={t} on {} images; GPU memory planned: {:.1} MiB",
        meta.model.name,
        split.train.n,
        f.net.memory_bytes as f64 / (1024.0 * 1024.0)
    );
    let before = pollster::block_on(f.evaluate(&gpu, &split.test))?;
    eprintln!("before: test accuracy {:.2}%", before.accuracy * 100.0);
    let mut smeta = SnnMeta { timesteps: t, ..meta.clone() };
    while !f.is_done() {
        let pb = bar(f.batches_per_epoch() as u64, format!("epoch {}", f.run.epoch + 1));
        let start = Instant::now();
        while pollster::block_on(f.train_batch(&gpu, &split.train))?.is_some() {
            let (loss, acc) = f.running();
            pb.set_message(format!("loss {loss:.4} acc {:.2}%", acc * 100.0));
            pb.inc(1);
            super::common::log_progress(&pb);
        }
        pb.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        let test = pollster::block_on(f.evaluate(&gpu, &split.test))?;
        let rec = f.finish_epoch(test, secs);
        eprintln!(
            "epoch {:>3}  lr {:.2e}  train loss {:.4} acc {:.2}%  test acc {:.2}%  {:.0} img/s  {:.1}s",
            rec.epoch + 1, rec.lr, rec.train_loss, rec.train_acc * 100.0, rec.test_acc * 100.0, rec.images_per_s, rec.seconds
        );
        smeta.finetune_epochs = meta.finetune_epochs + f.run.epoch;
        smeta.adam_steps = f.net.adam_steps();
        smeta.history.push(serde_json::to_value(&rec).unwrap_or_default());
        pollster::block_on(f.net.to_checkpoint(&gpu, &smeta))?.save_atomic(&a.out)?;
    }
    eprintln!("saved {}", a.out.display());
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "timesteps": t, "before": before, "history": f.run.history, "memory_bytes": f.net.memory_bytes, "checkpoint": a.out })));
    }
    Ok(())
}
