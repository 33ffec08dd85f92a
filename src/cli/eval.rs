//! `ultraspike eval`: accuracy and loss of a DNN checkpoint on a test set
//! (SNN checkpoints are evaluated with spikes and energy, see `snn_eval`).

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::gpu::Gpu;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::meta::DnnMeta;
use ultraspike::dnn::evaluate;
use ultraspike::models::check_dataset;
use ultraspike::Result;

use super::common::{to_json, DataArgs};
use super::GpuArgs;

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub ckpt: PathBuf,
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
    if ck.metadata.get("kind").and_then(|k| k.as_str()) == Some("snn") {
        return super::snn_eval::run(a, &ck);
    }
    let meta = DnnMeta::from_checkpoint(&ck)?;
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let split = a.data.load()?;
    check_dataset(&meta.model, &split.test)?;
    let net = DnnNet::new(&gpu, &meta.model, a.batch, 0, SgdConfig::default())?;
    net.load_checkpoint(&gpu, &ck, false)?;
    let img = net.image_len();
    let (mut x, mut y) = (vec![0.0; a.batch * img], vec![0; a.batch]);
    let ev = pollster::block_on(evaluate(&gpu, &net, &split.test, &mut x, &mut y))?;
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "kind": "dnn", "model": meta.model.name, "images": ev.images, "loss": ev.loss, "accuracy": ev.accuracy })));
    } else {
        println!("{}: test accuracy {:.2}% (loss {:.4}) on {} images", meta.model.name, ev.accuracy * 100.0, ev.loss, ev.images);
    }
    Ok(())
}
