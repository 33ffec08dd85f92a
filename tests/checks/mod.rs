//! Kernel checks shared by the native tests (lavapipe or a real GPU) and the
//! browser tests (headless Chromium WebGPU): each compares a GPU kernel with
//! its CPU reference and returns a message on mismatch.
#![allow(dead_code)]

pub mod activation;
pub mod conv;
pub mod dropout;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod residual;
pub mod spikes;
pub mod spiking;

use ultraspike::util::rng::Rng;

pub type CheckResult = Result<(), String>;

/// Compare element-wise with |got - want| <= atol + rtol * |want|; report the
/// first mismatches and the largest error.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> CheckResult {
    if got.len() != want.len() {
        return Err(format!("{what}: length {} != {}", got.len(), want.len()));
    }
    let mut bad = Vec::new();
    let mut max_err = 0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        if err.is_nan() || err > atol + rtol * w.abs() {
            if bad.len() < 5 {
                bad.push(format!("[{i}] got {g} want {w}"));
            }
            max_err = if err.is_nan() {
                f32::NAN
            } else {
                max_err.max(err)
            };
        } else {
            max_err = max_err.max(err);
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {} mismatches (max err {max_err}), first: {}",
            bad.len(),
            bad.join(", ")
        ))
    }
}

pub fn assert_eq_u32(what: &str, got: &[u32], want: &[u32]) -> CheckResult {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        return Err(format!(
            "{what}: differ (len {} vs {}), first at {first:?}",
            got.len(),
            want.len()
        ));
    }
    Ok(())
}

pub fn rng(seed: u64) -> Rng {
    Rng::new(seed)
}

/// Map a GPU-side error into a check failure.
pub fn gpu_err(e: ultraspike::Error) -> String {
    e.to_string()
}
