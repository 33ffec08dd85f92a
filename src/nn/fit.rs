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
    let f32_bytes = |what: &str, elems: Option<usize>| -> Result<u64> {
        elems
            .and_then(|n| n.checked_mul(4))
            .map(|b| b as u64)
            .ok_or_else(|| Error::Config(format!("{}: `{what}` overflows a size computation", cfg.name)))
    };
    for spec in param_specs(cfg)? {
        let n = spec.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        gpu.check_buffer_size(&spec.name, f32_bytes(&spec.name, n)?)?;
    }
    for (i, shape) in cfg.shapes()?.iter().enumerate() {
        let what = format!("layer {i} output for {rows} inputs");
        let n = shape.iter().try_fold(rows, |a, &d| a.checked_mul(d));
        gpu.check_buffer_size(&what, f32_bytes(&what, n)?)?;
    }
    Ok(())
}
