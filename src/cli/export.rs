//! `ultraspike export`: an SNN checkpoint as a NIR file, or any checkpoint without its optimizer
//! state (the model alone, e.g. for the page's bundled models). No GPU needed.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ultraspike::checkpoint::Checkpoint;
use ultraspike::{Error, Result};

#[derive(Args)]
pub struct ExportArgs {
    /// The file format: nir (Neuromorphic Intermediate Representation, HDF5; SNN checkpoints),
    /// or weights (a DNN or SNN checkpoint without optimizer state, safetensors).
    #[arg(long, value_enum)]
    pub format: Format,
    /// The checkpoint (an SNN from `convert` or `finetune` for nir; any for weights).
    #[arg(long)]
    pub ckpt: PathBuf,
    /// Where to write the file (written atomically: a temp file, then a rename).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Nir,
    Weights,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.ckpt)?;
    let bytes = match args.format {
        Format::Nir => ultraspike::export::snn_to_nir(&ck),
        Format::Weights => ck.without_optimizer_state().to_bytes(),
    }
    .map_err(|e| in_ckpt(&args.ckpt, e))?;
    ultraspike::util::fs::write_atomic(&args.out, &bytes)
        .map_err(|e| Error::Config(format!("--out {}: cannot write: {e}", args.out.display())))?;
    println!("saved {}", args.out.display());
    Ok(())
}

/// Name the checkpoint in a refusal of its contents.
fn in_ckpt(path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
        Error::Checkpoint(m) => Error::Checkpoint(format!("{}: {m}", path.display())),
        other => other,
    }
}
