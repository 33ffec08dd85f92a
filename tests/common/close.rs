//! The tests' one element-wise comparison of f32 results: the kernel checks
//! (tests/checks, native and in the browser) return it as a `Result`, the
//! native tests assert it (`common::assert_close`).

/// Compare element-wise with |got - want| <= atol + rtol * |want| (a NaN never
/// passes); on mismatch, the first mismatches and the largest error.
pub fn check_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> Result<(), String> {
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
            max_err = if err.is_nan() { f32::NAN } else { max_err.max(err) };
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
