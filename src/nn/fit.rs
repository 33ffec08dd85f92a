//! The size check before a network allocates anything: every parameter and
//! every layer's activations for `rows` inputs (a batch, or T x batch for an
//! SNN) must fit the device's buffer limits. Without it a model too large for
//! the device would first initialise its parameters on the CPU (gigabytes, for
//! a config asking for millions of channels) and only then fail.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::models::params::param_specs;
use crate::models::ModelConfig;

/// Fail with `Error::TooLarge` (naming the tensor) before anything is allocated.
pub fn check_model_fits(gpu: &Gpu, cfg: &ModelConfig, rows: usize) -> Result<()> {
    // Sizes are counted in u64: on wasm32 `usize` is 32 bits, and a batch of
    // 200k images overflows it long before it exceeds the device's limits.
    let f32_bytes = |what: &str, dims: &[usize], first: u64| -> Result<u64> {
        dims.iter()
            .try_fold(first, |a, &d| a.checked_mul(d as u64))
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| Error::Config(format!("{}: `{what}` overflows a size computation", cfg.name)))
    };
    for spec in param_specs(cfg)? {
        gpu.check_buffer_size(&spec.name, f32_bytes(&spec.name, &spec.shape, 1)?)?;
    }
    for (i, shape) in cfg.shapes()?.iter().enumerate() {
        let what = format!("layer {i} output for {rows} inputs");
        gpu.check_buffer_size(&what, f32_bytes(&what, shape, rows as u64)?)?;
    }
    Ok(())
}
