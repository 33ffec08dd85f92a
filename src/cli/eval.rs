//! `ultraspike eval`: accuracy and loss of a DNN checkpoint on a test set; an
//! SNN checkpoint is evaluated with spikes and energy (printed by `snn_eval`).

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::pipeline::LoadedModel;
use ultraspike::Result;

use super::common::{in_file, model_text, open, to_json, DataArgs};
use super::GpuArgs;

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub ckpt: PathBuf,
    /// For a checkpoint without ultraspike metadata (a plain PyTorch state dict): a built-in model or a JSON config.
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// SNN only: time steps (default: the checkpoint's).
    #[arg(long)]
    pub timesteps: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &EvalArgs) -> Result<()> {
    let ck = Checkpoint::load(&a.ckpt)?;
    let mut p = open(&a.gpu)?;
    a.data.load_into(&mut p)?;
    let model_text = a.model.as_deref().map(model_text).transpose()?;
    let model = match in_file(&a.ckpt, p.load_checkpoint_as(ck, model_text.as_deref()))? {
        LoadedModel::Snn { .. } => {
            let report = pollster::block_on(p.evaluate_snn(a.timesteps, a.batch))?;
            super::snn_eval::print(&report, a.json);
            return Ok(());
        }
        LoadedModel::Dnn { model, .. } => model,
    };
    let ev = pollster::block_on(p.evaluate_dnn(a.batch))?;
    if a.json {
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "kind": "dnn", "model": model, "images": ev.images, "loss": ev.loss, "accuracy": ev.accuracy })
            )
        );
    } else {
        println!(
            "{model}: test accuracy {:.2}% (loss {:.4}) on {} images",
            ev.accuracy * 100.0,
            ev.loss,
            ev.images
        );
    }
    Ok(())
}
