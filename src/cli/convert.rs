//! `ultraspike convert`: calibrate a DNN checkpoint, convert it with one
//! method at T steps, evaluate the SNN and save it as an SNN checkpoint.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::pipeline::{build_converted_fitting, calibrate_checkpoint, diagnostics, snn_meta};
use ultraspike::convert::{convert, ConversionMethod};
use ultraspike::gpu::Gpu;
use ultraspike::meta::DnnMeta;
use ultraspike::snn::energy::CMOS_45NM;
use ultraspike::snn::eval::evaluate_snn;
use ultraspike::Result;

use super::common::{to_json, DataArgs};
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
    /// alpha-beta (the paper's Algorithm 1), alpha-beta-mse, max-norm, percentile or deng.
    #[arg(long, default_value = "alpha-beta")]
    pub method: String,
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
}

pub fn run(a: &ConvertArgs) -> Result<()> {
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let ck = Checkpoint::load(&a.ckpt)?;
    let meta = DnnMeta::from_checkpoint(&ck)?;
    let method: ConversionMethod = a.method.parse()?;
    let split = a.data.load()?;
    eprintln!("calibrating {} on {} batches of {} training images", meta.model.name, a.calib_batches, a.batch);
    let stats = pollster::block_on(calibrate_checkpoint(&gpu, &meta.model, &ck, &split.train, a.calib_batches, a.batch))?;
    let neurons = convert(method, &stats, a.timesteps)?;
    let snn = build_converted_fitting(&gpu, &meta.model, &ck, &neurons, a.timesteps, split.test.n, a.batch)?;
    let ev = pollster::block_on(evaluate_snn(&gpu, &snn, &split.test, Some(CMOS_45NM)))?;
    let diag = diagnostics(&stats, &neurons, &ev, a.timesteps);
    let smeta = snn_meta(&meta.model, method, a.timesteps, neurons, Some(&meta));
    pollster::block_on(snn.to_checkpoint(&gpu, &smeta))?.save_atomic(&a.out)?;
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "method": method, "timesteps": a.timesteps, "evaluation": ev, "layers": diag, "checkpoint": a.out })));
        return Ok(());
    }
    println!("{method} at T={}: test accuracy {:.2}% on {} images; saved {}", a.timesteps, ev.accuracy * 100.0, ev.images, a.out.display());
    println!("{:<24} {:>7} {:>7} {:>6} {:>5} {:>7} {:>7} {:>9} {:>9} {:>8}", "layer", "mu", "V_th", "alpha", "beta", "K(mu)", "h(T,mu)", "DNN mean", "SNN mean", "activity");
    for d in &diag {
        println!(
            "{:<24} {:>7.3} {:>7.3} {:>6.3} {:>5.2} {:>7.3} {:>7.3} {:>9.4} {:>9.4} {:>8.4}",
            d.name, d.mu, d.vth, d.alpha, d.beta, d.k_mu, d.h_t_mu, d.dnn_mean, d.snn_mean, d.activity
        );
    }
    if let Some(e) = &ev.energy {
        println!("energy per image: DNN {:.1} nJ, SNN {:.1} nJ ({:.1}x less; {:.1}x with the first layer computed once)", e.dnn_pj / 1e3, e.snn_pj / 1e3, e.ratio, e.ratio_first_once);
    }
    Ok(())
}
