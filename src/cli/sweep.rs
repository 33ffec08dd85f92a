//! `ultraspike sweep`: accuracy (and spikes, energy ratio) of every conversion
//! method at T = 1, 2, 3, 4, 5, 8, 16 from one calibration.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::{ConversionMethod, Recipe};
use ultraspike::pipeline::check_timesteps;
use ultraspike::{Error, Result};

use super::common::{bar, in_file, log_progress, open, to_json, DataArgs};
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
    /// Comma-separated methods, each optionally with its initial membrane
    /// (`alpha-beta,alpha-beta+half,qcfs`; default: every method with its defaults).
    #[arg(long)]
    pub methods: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub calib_batches: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long)]
    pub json: bool,
}

fn parse_timesteps(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|v| {
            let t = v
                .trim()
                .parse()
                .map_err(|_| Error::Config(format!("bad time step `{v}` in --timesteps")))?;
            check_timesteps(t).map(|_| t)
        })
        .collect()
}

pub fn run(a: &SweepArgs) -> Result<()> {
    let ts = parse_timesteps(&a.timesteps)?;
    let methods: Vec<Recipe> = match &a.methods {
        Some(m) => m.split(',').map(|s| s.trim().parse()).collect::<Result<_>>()?,
        None => ConversionMethod::ALL.into_iter().map(Recipe::from).collect(),
    };
    let ck = Checkpoint::load(&a.ckpt)?;
    let mut p = open(&a.gpu)?;
    let data = a.data.load_into(&mut p)?;
    in_file(&a.ckpt, p.load_dnn(ck))?;
    let model = p.saved_dnn().map(|s| s.meta.model.name.clone()).unwrap_or_default();
    let pb = bar((methods.len() * ts.len()) as u64, "sweep".into());
    let (dnn_ev, rows) = pollster::block_on(async {
        let dnn_ev = p.evaluate_dnn(a.batch).await?;
        p.calibrate(a.calib_batches, a.batch, |_| {}).await?;
        let rows = p
            .sweep(&methods, &ts, a.batch, |r| {
                pb.set_message(format!("{} T={}: {:.2}%", r.method, r.t, r.accuracy * 100.0));
                pb.inc(1);
                log_progress(&pb);
            })
            .await?;
        Ok::<_, Error>((dnn_ev, rows))
    })?;
    pb.finish_and_clear();
    if a.json {
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "model": model, "dnn_accuracy": dnn_ev.accuracy, "images": data.test, "rows": rows })
            )
        );
        return Ok(());
    }
    println!(
        "DNN {model}: {:.2}% on {} test images",
        dnn_ev.accuracy * 100.0,
        data.test
    );
    let header: String = ts.iter().map(|t| format!("{t:>9}")).collect();
    println!("{:<18}{header}", "method \\ T");
    for (m, chunk) in methods.iter().zip(rows.chunks(ts.len())) {
        let cells: String = chunk.iter().map(|r| format!("{:>8.2}%", r.accuracy * 100.0)).collect();
        println!("{:<18}{cells}", m.to_string());
    }
    Ok(())
}
