//! `ultraspike sweep`: accuracy (and spikes, energy ratio) of every conversion
//! method at T = 1, 2, 3, 4, 5, 8, 16 from one calibration.

use std::path::PathBuf;

use clap::Args;
use ultraspike::checkpoint::Checkpoint;
use ultraspike::convert::{ConversionMethod, Recipe};
use ultraspike::pipeline::{check_timesteps, SweepPoint};
use ultraspike::{Error, Result};

use super::common::{bar, in_file, log_progress, open, stop_on_ctrl_c, to_json, DataArgs};
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
                .map_err(|_| Error::InvalidOption(format!("bad time step `{v}` in --timesteps")))?;
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
    stop_on_ctrl_c(&p, "after the current sweep point");
    let dnn_ev = pollster::block_on(p.evaluate_dnn(a.batch))?;
    pollster::block_on(p.calibrate(a.calib_batches, a.batch, |_| {}))?;
    let pb = bar((methods.len() * ts.len()) as u64, "sweep".into());
    let mut rows = Vec::with_capacity(methods.len() * ts.len());
    let run = pollster::block_on(p.sweep(&methods, &ts, a.batch, |r| {
        pb.set_message(format!("{} T={}: {:.2}%", r.method, r.t, r.accuracy * 100.0));
        pb.inc(1);
        log_progress(&pb);
        rows.push(r.clone());
    }));
    pb.finish_and_clear();
    // A cancelled sweep still reports the points it finished (marked as cut short).
    let cancelled = matches!(run, Err(Error::Cancelled));
    if !cancelled {
        run?;
    }
    if a.json {
        println!(
            "{}",
            to_json(
                &serde_json::json!({ "model": model, "dnn_accuracy": dnn_ev.accuracy, "images": data.test, "rows": rows, "complete": !cancelled })
            )
        );
    } else {
        print_table(&model, dnn_ev.accuracy, data.test, &methods, &ts, &rows);
    }
    if cancelled {
        eprintln!("{} of {} points done", rows.len(), methods.len() * ts.len());
        return Err(Error::Cancelled);
    }
    Ok(())
}

fn print_table(model: &str, dnn_accuracy: f32, images: usize, methods: &[Recipe], ts: &[usize], rows: &[SweepPoint]) {
    println!("DNN {model}: {:.2}% on {images} test images", dnn_accuracy * 100.0);
    let header: String = ts.iter().map(|t| format!("{t:>9}")).collect();
    println!("{:<18}{header}", "method \\ T");
    for (m, chunk) in methods.iter().zip(rows.chunks(ts.len())) {
        let cells: String = chunk.iter().map(|r| format!("{:>8.2}%", r.accuracy * 100.0)).collect();
        println!("{:<18}{cells}", m.to_string());
    }
}
