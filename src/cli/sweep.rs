//! `ultraspike sweep`: accuracy (and spikes, energy ratio) of every conversion
//! method at T = 1, 2, 3, 4, 5, 8, 16 from one calibration.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::pipeline::{build_converted_fitting, calibrate_checkpoint};
use ultraspike::convert::{convert, ConversionMethod};
use ultraspike::gpu::Gpu;
use ultraspike::dnn::{DnnNet, SgdConfig};
use ultraspike::meta::DnnMeta;
use ultraspike::snn::energy::CMOS_45NM;
use ultraspike::snn::eval::evaluate_snn;
use ultraspike::dnn::evaluate;
use ultraspike::Result;

use super::common::{bar, to_json, DataArgs};
use super::GpuArgs;

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Comma-separated time steps.
    #[arg(long, default_value = "1,2,3,4,5,8,16")]
    pub timesteps: String,
    /// Comma-separated methods (default: all).
    #[arg(long)]
    pub methods: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub calib_batches: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &SweepArgs) -> Result<()> {
    let gpu = Gpu::new_blocking(&a.gpu.options())?;
    let ck = Checkpoint::load(&a.ckpt)?;
    let meta = DnnMeta::from_checkpoint(&ck)?;
    let split = a.data.load()?;
    let ts: Vec<usize> = a.timesteps.split(',').map(|s| s.trim().parse().map_err(|_| ultraspike::Error::Config(format!("bad time step `{s}`")))).collect::<Result<_>>()?;
    let methods: Vec<ConversionMethod> = match &a.methods {
        Some(m) => m.split(',').map(|s| s.trim().parse()).collect::<Result<_>>()?,
        None => ConversionMethod::ALL.to_vec(),
    };
    let dnn = DnnNet::new(&gpu, &meta.model, a.batch, 0, SgdConfig::default())?;
    dnn.load_checkpoint(&gpu, &ck, false)?;
    let img = dnn.image_len();
    let (mut x, mut y) = (vec![0.0; a.batch * img], vec![0; a.batch]);
    let dnn_ev = pollster::block_on(evaluate(&gpu, &dnn, &split.test, &mut x, &mut y))?;
    drop(dnn);
    let stats = pollster::block_on(calibrate_checkpoint(&gpu, &meta.model, &ck, &split.train, a.calib_batches, a.batch))?;
    let pb = bar((methods.len() * ts.len()) as u64, "sweep".into());
    let mut rows = Vec::new();
    for &m in &methods {
        for &t in &ts {
            let neurons = convert(m, &stats, t)?;
            let snn = build_converted_fitting(&gpu, &meta.model, &ck, &neurons, t, split.test.n, a.batch)?;
            let ev = pollster::block_on(evaluate_snn(&gpu, &snn, &split.test, Some(CMOS_45NM)))?;
            let ratio = ev.energy.as_ref().map(|e| e.ratio).unwrap_or(0.0);
            rows.push(serde_json::json!({ "method": m, "t": t, "accuracy": ev.accuracy, "spikes_per_image": ev.total_spikes_per_image, "energy_ratio": ratio,
                "energy_ratio_first_once": ev.energy.as_ref().map(|e| e.ratio_first_once) }));
            pb.set_message(format!("{m} T={t}: {:.2}%", ev.accuracy * 100.0));
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    if a.json {
        println!("{}", to_json(&serde_json::json!({ "model": meta.model.name, "dnn_accuracy": dnn_ev.accuracy, "images": split.test.n, "rows": rows })));
        return Ok(());
    }
    println!("DNN {}: {:.2}% on {} test images", meta.model.name, dnn_ev.accuracy * 100.0, split.test.n);
    print!("{:<16}", "method \\ T");
    for t in &ts {
        print!("{t:>9}");
    }
    println!();
    for (mi, m) in methods.iter().enumerate() {
        print!("{:<16}", m.name());
        for ti in 0..ts.len() {
            let acc = rows[mi * ts.len() + ti]["accuracy"].as_f64().unwrap_or(0.0);
            print!("{:>8.2}%", acc * 100.0);
        }
        println!();
    }
    Ok(())
}
