//! `ultraspike convert`: calibrate a DNN checkpoint, convert it with one
//! method at T steps, evaluate the SNN and save it as an SNN checkpoint.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::Recipe;
use ultraspike::pipeline::check_timesteps;
use ultraspike::Result;

use super::common::{in_file, model_text, open, to_json, DataArgs};
use super::GpuArgs;

#[derive(Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// The trained DNN checkpoint.
    #[arg(long)]
    pub ckpt: PathBuf,
    /// For a checkpoint without ultraspike metadata (a plain PyTorch state dict): a built-in model or a JSON config.
    #[arg(long)]
    pub model: Option<String>,
    /// alpha-beta (the paper's Algorithm 1), alpha-beta-mse, max-norm, percentile, deng, or qcfs
    /// (V_th = mu, for a DNN trained with `--qcfs L`); also as METHOD+half / METHOD+zero.
    #[arg(long, default_value = "alpha-beta")]
    pub method: String,
    /// The membrane before the first step: zero, or half (V_th / 2). Default: the method's
    /// (half for qcfs, zero for the others).
    #[arg(long, value_name = "zero|half")]
    pub init_membrane: Option<String>,
    /// After converting, move each spiking layer's bias so that its per-channel mean output
    /// equals the DNN's on the calibration images, layer by layer (also METHOD+bias).
    #[arg(long)]
    pub bias_correction: bool,
    #[arg(long, default_value_t = 2)]
    pub timesteps: usize,
    /// Calibration batches of the training set.
    #[arg(long, default_value_t = 10)]
    pub calib_batches: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Where to write the SNN checkpoint.
    #[arg(long, default_value = "snn.safetensors")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// Also write what the page's walkthrough shows as JSON: per layer the percentiles, the loss
    /// over the (alpha, beta) grid, the chosen pair and its loss, K(mu), h(T, mu), the errors.
    #[arg(long, value_name = "FILE")]
    pub diagnostics: Option<PathBuf>,
}

pub fn run(a: &ConvertArgs) -> Result<()> {
    let method = Recipe::with_options(&a.method, a.init_membrane.as_deref(), a.bias_correction)?;
    check_timesteps(a.timesteps)?;
    Checkpoint::check_writable(&a.out)?;
    if let Some(d) = &a.diagnostics {
        Checkpoint::check_writable(d).map_err(|e| ultraspike::Error::Config(format!("--diagnostics: {e}")))?;
    }
    let ck = Checkpoint::load(&a.ckpt)?;
    let mut p = open(&a.gpu)?;
    a.data.load_into(&mut p)?;
    let model_text = a.model.as_deref().map(model_text).transpose()?;
    in_file(&a.ckpt, p.load_dnn_as(ck, model_text.as_deref()))?;
    let model = p.saved_dnn().map(|s| s.meta.model.name.clone()).unwrap_or_default();
    eprintln!(
        "calibrating {model} on {} batches of {} training images",
        a.calib_batches, a.batch
    );
    let c = pollster::block_on(async {
        p.calibrate(a.calib_batches, a.batch, |_| {}).await?;
        p.convert(method, a.timesteps, a.batch).await
    })?;
    pollster::block_on(p.snn_snapshot())?.ck.save_atomic(&a.out)?;
    if let Some(path) = &a.diagnostics {
        let report = serde_json::to_vec(&p.conversion_report(&c)?)
            .map_err(|e| ultraspike::Error::Config(format!("--diagnostics: {e}")))?;
        ultraspike::util::fs::write_atomic(path, &report)
            .map_err(|e| ultraspike::Error::Config(format!("--diagnostics {}: cannot write: {e}", path.display())))?;
        eprintln!("saved {}", path.display());
    }
    let ev = &c.evaluation;
    if a.json {
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "method": method, "timesteps": a.timesteps, "evaluation": ev, "layers": c.layers, "bias_corrections": c.bias_corrections, "checkpoint": a.out })
            )
        );
        return Ok(());
    }
    println!(
        "{method} at T={}: test accuracy {:.2}% on {} images; saved {}",
        a.timesteps,
        ev.accuracy * 100.0,
        ev.images,
        a.out.display()
    );
    println!(
        "{:<24} {:>7} {:>7} {:>6} {:>5} {:>7} {:>7} {:>9} {:>9} {:>8}",
        "layer", "mu", "V_th", "alpha", "beta", "K(mu)", "h(T,mu)", "DNN mean", "SNN mean", "activity"
    );
    for d in &c.layers {
        println!(
            "{:<24} {:>7.3} {:>7.3} {:>6.3} {:>5.2} {:>7.3} {:>7.3} {:>9.4} {:>9.4} {:>8.4}",
            d.name, d.mu, d.vth, d.alpha, d.beta, d.k_mu, d.h_t_mu, d.dnn_mean, d.snn_mean, d.activity
        );
    }
    for b in &c.bias_corrections {
        match &b.bias {
            Some(bias) => println!(
                "bias correction {:<18} {bias}: mean |gap| {:.4}, largest {:.4}",
                b.name, b.mean_abs_gap, b.max_abs_gap
            ),
            None => println!("bias correction {:<18} no bias in front: left as it is", b.name),
        }
    }
    if let Some(e) = &ev.energy {
        println!(
            "energy per image: DNN {:.1} nJ, SNN {:.1} nJ ({:.1}x less; {:.1}x with the first layer computed once)",
            e.dnn_pj / 1e3,
            e.snn_pj / 1e3,
            e.ratio,
            e.ratio_first_once
        );
    }
    Ok(())
}
