//! `ultraspike train`: train a threshold-ReLU DNN with progress bars, an
//! evaluation and an atomic checkpoint per epoch, resume and `--json`.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::gpu::Gpu;
use ultraspike::dnn::SgdConfig;
use ultraspike::meta::DnnMeta;
use ultraspike::train::{StepDecay, TrainConfig, Trainer};
use ultraspike::{Error, Result};
use web_time::Instant;

use super::common::{bar, to_json, DataArgs, ModelArgs};
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

pub fn run(a: &TrainArgs) -> Result<()> {
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let split = a.data.load()?;
    let kind = a.data.kind()?;
    let model = match &a.resume {
        Some(p) => DnnMeta::from_checkpoint(&Checkpoint::load(p)?)?.model,
        None => a.model.config(&split)?,
    };
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch: a.batch,
        sgd: SgdConfig { lr: a.lr, momentum: a.momentum, weight_decay: a.weight_decay },
        schedule: StepDecay { gamma: a.lr_gamma, ..Default::default() },
        augment: a.augment.unwrap_or(kind.default_augment()),
        shuffle: !a.no_shuffle,
        dropout: !a.no_dropout,
        seed: a.seed,
        max_steps: a.max_steps,
    };
    let mut t = Trainer::new(&gpu, &model, &split.train, cfg.clone())?;
    if let Some(p) = &a.resume {
        let ck = Checkpoint::load(p)?;
        let meta = DnnMeta::from_checkpoint(&ck)?;
        t.net.load_checkpoint(&gpu, &ck, true)?;
        t.resume_at(&gpu, meta.epoch, meta.step, meta.history);
        eprintln!("resumed {} at epoch {} (step {})", p.display(), t.run.epoch, t.run.step);
    } else if let Some(p) = &a.init {
        t.net.load_checkpoint(&gpu, &Checkpoint::load(p)?, false)?;
    }
    eprintln!(
        "training {} on {} ({} train / {} test images) on {}",
        model.name,
        kind.name(),
        split.train.n,
        split.test.n,
        gpu.info.name
    );
    let mut saved: Option<usize> = None;
    while !t.is_done() {
        let pb = bar(t.batches_per_epoch() as u64, format!("epoch {}", t.run.epoch + 1));
        let start = Instant::now();
        let step = loop {
            match pollster::block_on(t.train_batch(&gpu, &split.train)) {
                Ok(Some(_)) => {
                    let (loss, acc) = t.running();
                    let ips = (t.batches_per_epoch().min(pb.position() as usize + 1) * a.batch) as f64
                        / start.elapsed().as_secs_f64().max(1e-9);
                    pb.set_message(format!("loss {loss:.4} acc {:.2}% {ips:.0} img/s", acc * 100.0));
                    pb.inc(1);
                    super::common::log_progress(&pb);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        pb.finish_and_clear();
        if let Err(e) = step {
            return Err(diverged_note(e, &a.out, saved));
        }
        let train_secs = start.elapsed().as_secs_f64();
        let test = pollster::block_on(t.evaluate(&gpu, &split.test))?;
        let rec = t.finish_epoch(&gpu, test, train_secs);
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
        let meta = DnnMeta {
            dataset: Some(kind),
            normalization: Some(split.train.norm.clone()),
            epoch: t.run.epoch,
            step: t.run.step,
            train: Some(cfg.clone()),
            history: t.run.history.clone(),
            ..DnnMeta::new(&model)
        };
        pollster::block_on(t.net.to_checkpoint(&gpu, &meta, true))?.save_atomic(&a.out)?;
        saved = Some(t.run.epoch);
    }
    eprintln!("saved {}", a.out.display());
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "model": model.name, "dataset": kind.name(), "checkpoint": a.out, "history": t.run.history })));
    }
    Ok(())
}

/// On divergence, say where the last good weights are (nothing is overwritten).
fn diverged_note(e: Error, out: &std::path::Path, saved: Option<usize>) -> Error {
    match (e, saved) {
        (Error::Diverged(m), Some(ep)) => Error::Diverged(format!("{m}; the last good checkpoint is {} (epoch {ep})", out.display())),
        (Error::Diverged(m), None) => Error::Diverged(format!("{m}; no checkpoint was written yet")),
        (e, _) => e,
    }
}
