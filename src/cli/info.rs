//! `ultraspike info`: the adapter, backend, driver and the limits (buffer
//! sizes, workgroup sizes, subgroups) that decide how large a batch or model fits.

use clap::Args;
use ultraspike::gpu::Gpu;

use super::GpuArgs;

#[derive(Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(args: &InfoArgs) -> ultraspike::Result<()> {
    let gpu = Gpu::new_blocking(&args.gpu.options())?;
    let rows = gpu.describe();
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        println!("{key:<width$}  {value}");
    }
    Ok(())
}
