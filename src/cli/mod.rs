//! Subcommands of the `ultraspike` binary, one file each (`info.rs`, `train.rs`,
//! `eval.rs`, `convert.rs`, `sweep.rs`, `finetune.rs`, `export.rs`; `common.rs`
//! holds what they share, `snn_eval.rs` how `eval` prints an SNN).
//! To add one: a `mod` line, a `Command` variant holding its clap `Args`, and a
//! match arm in `run`. Every subcommand returns `ultraspike::Result<()>`; `main`
//! prints `error: <message>` and exits with 1, so nothing here panics.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ultraspike::gpu::GpuOptions;
use ultraspike::Error;

mod common;
mod convert;
mod eval;
mod export;
mod finetune;
mod info;
mod snn_eval;
mod sweep;
mod train;

#[derive(Parser)]
#[command(
    name = "ultraspike",
    version,
    about = "Convert DNNs into ultra-low-latency spiking networks on the GPU (WebGPU/wgpu)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the GPU adapter that ultraspike would use and the limits that size its work.
    Info(info::InfoArgs),
    /// Train a threshold-ReLU DNN (step 1 of the paper) and save a checkpoint per epoch.
    Train(train::TrainArgs),
    /// Evaluate a DNN or SNN checkpoint on the test set (SNN: spikes per layer and energy).
    Eval(eval::EvalArgs),
    /// Convert a DNN checkpoint into an SNN (Algorithm 1 or a baseline) and save it.
    Convert(convert::ConvertArgs),
    /// Accuracy of every conversion method at T = 1, 2, 3, 4, 5, 8, 16.
    Sweep(sweep::SweepArgs),
    /// Fine-tune an SNN with surrogate-gradient BPTT over T steps.
    Finetune(finetune::FinetuneArgs),
    /// Export an SNN checkpoint to another format (nir: the Neuromorphic Intermediate Representation).
    Export(export::ExportArgs),
}

/// Adapter choice shared by every subcommand that touches the GPU (`#[command(flatten)]`).
#[derive(Args, Clone, Debug)]
pub struct GpuArgs {
    /// Use the fallback (software) adapter, e.g. Mesa lavapipe; also on with ULTRASPIKE_FALLBACK=1.
    #[arg(long)]
    pub fallback: bool,
    /// Restrict the adapter search to one backend (default: all native backends).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl GpuArgs {
    pub fn options(&self) -> GpuOptions {
        let env_fallback = std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1");
        GpuOptions {
            force_fallback: self.fallback || env_fallback,
            backend: self.backend.map(|b| {
                match b {
                    Backend::Vulkan => "vulkan",
                    Backend::Metal => "metal",
                    Backend::Dx12 => "dx12",
                    Backend::Gl => "gl",
                }
                .to_string()
            }),
            low_power: false,
        }
    }
}

fn run(cli: Cli) -> ultraspike::Result<()> {
    match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Finetune(args) => finetune::run(&args),
        Command::Export(args) => export::run(&args),
    }
}

/// Parse, run, and map every failure to `error: ...` (and `hint: ...` where the error's kind has
/// one) with exit code 1
/// (clap's usage errors too, which it would otherwise exit with 2).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let failed = e.use_stderr();
            // --help/--version land here as well; printing can only fail on a closed pipe.
            let _ = e.print();
            return if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Cancelled) => {
            eprintln!("cancelled");
            ExitCode::from(common::INTERRUPTED as u8)
        }
        Err(e) => {
            eprintln!("error: {e}");
            if !e.hint().is_empty() {
                eprintln!("hint: {}", e.hint());
            }
            ExitCode::FAILURE
        }
    }
}
