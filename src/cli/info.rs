//! `ultraspike info`: the adapter, backend, driver and the limits (buffer
//! sizes, workgroup sizes, subgroups) that decide how large a batch or model fits.
//! `--tune` lists the tuner's choices for this adapter; with `--model` it first times the
//! model's layer shapes that have no choice yet.

use clap::Args;
use ultraspike::gpu::tune::TuneEntry;
use ultraspike::gpu::Gpu;
use ultraspike::models::builtin;
use ultraspike::nn::tune::TuneOptions;
use ultraspike::pipeline::tune_model;

use super::GpuArgs;

#[derive(Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    /// List the tuned kernel variant of each (pass, layer shape) on this adapter.
    #[arg(long)]
    pub tune: bool,
    /// With --tune: first time this built-in model's layer shapes (those not tuned yet).
    #[arg(long, requires = "tune")]
    pub model: Option<String>,
    /// Input of --model as CxHxW.
    #[arg(long, default_value = "3x32x32", requires = "model")]
    pub input: String,
    /// Classes of --model.
    #[arg(long, default_value_t = 10, requires = "model")]
    pub classes: usize,
    /// Batch size of --model.
    #[arg(long, default_value_t = 32, requires = "model")]
    pub batch: usize,
}

pub fn run(args: &InfoArgs) -> ultraspike::Result<()> {
    let gpu = Gpu::new_blocking(&args.gpu.options())?;
    let rows = gpu.describe();
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        println!("{key:<width$}  {value}");
    }
    if args.tune {
        tune(args, &gpu)?;
    }
    Ok(())
}

fn tune(args: &InfoArgs, gpu: &Gpu) -> ultraspike::Result<()> {
    if let Some(name) = &args.model {
        let model = builtin(name, parse_input(&args.input)?, args.classes)?;
        let opts = TuneOptions {
            budget: std::time::Duration::from_secs(120),
            ..TuneOptions::default()
        };
        let report = pollster::block_on(tune_model(gpu, &model, args.batch, &opts))?;
        println!(
            "\ntuned {} shapes of {name} at batch {} ({} differ from the default, {} left)",
            report.tuned, args.batch, report.changed, report.left
        );
        if let Some(w) = report.warning {
            eprintln!("warning: {w}");
        }
    }
    let (adapter, entries) = gpu.with_tune(|t| (t.adapter.to_string(), t.entries()));
    println!("\ntuning for {adapter}");
    match gpu.tune_cache_path() {
        Some(p) => println!("cache {}", p.display()),
        None => println!("cache none (ULTRASPIKE_TUNE_CACHE is empty or off)"),
    }
    if entries.is_empty() {
        println!("no tuned choices yet: Auto uses its fixed rules");
    }
    for e in &entries {
        println!("{}", entry_line(e));
    }
    Ok(())
}

/// `conv-forward  n32 3x32x32 -> 64 k3 s1 p1  Subgroup  (Direct 1.20 ms, Subgroup 0.40 ms)`.
fn entry_line(e: &TuneEntry) -> String {
    let times: Vec<String> = e.timings.iter().map(|(n, ms)| format!("{n} {ms:.3} ms")).collect();
    let pass = serde_json::to_value(e.pass)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{:?}", e.pass));
    format!(
        "{pass:<22}  {:<32}  {:<9} ({})",
        e.shape.to_string(),
        e.choice,
        times.join(", ")
    )
}

fn parse_input(s: &str) -> ultraspike::Result<[usize; 3]> {
    let dims: Vec<usize> = s.split('x').filter_map(|d| d.trim().parse().ok()).collect();
    match dims[..] {
        [c, h, w] => Ok([c, h, w]),
        _ => Err(ultraspike::Error::InvalidOption(format!(
            "--input `{s}`: expected CxHxW, e.g. 3x32x32"
        ))),
    }
}
