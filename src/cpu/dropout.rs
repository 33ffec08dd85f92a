//! Dropout reference with the kernel's counter-based hash, so masks match bit
//! for bit (see the header of shaders/dropout_forward.wgsl).

use crate::spec::optim::keep_threshold;

/// PCG-RXS-M-XS output hash of one u32 (wrapping arithmetic, as in WGSL).
pub fn pcg(v: u32) -> u32 {
    let s = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let w = ((s >> ((s >> 28) + 4)) ^ s).wrapping_mul(277_803_737);
    (w >> 22) ^ w
}

/// The 32-bit hash of element `e` of mask row `r` under `seed`.
pub fn hash(seed: u32, r: u32, e: u32) -> u32 {
    pcg(e.wrapping_add(pcg(r.wrapping_add(pcg(seed)))))
}

/// Mask `[rows, per_row]`: `1/(1-p)` where kept, else 0.
pub fn dropout_mask(rows: usize, per_row: usize, rows_per_mask: usize, p: f32, seed: u32) -> Vec<f32> {
    let thr = keep_threshold(p);
    let scale = 1.0 / (1.0 - p);
    let mut mask = Vec::with_capacity(rows * per_row);
    for row in 0..rows {
        let r = (row % rows_per_mask) as u32;
        for e in 0..per_row {
            mask.push(if hash(seed, r, e as u32) >= thr { scale } else { 0.0 });
        }
    }
    mask
}

/// `(y, mask)` with `y = x * mask`.
pub fn dropout_forward(
    rows: usize,
    per_row: usize,
    rows_per_mask: usize,
    p: f32,
    seed: u32,
    x: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let mask = dropout_mask(rows, per_row, rows_per_mask, p, seed);
    let y = x.iter().zip(&mask).map(|(a, m)| a * m).collect();
    (y, mask)
}

pub fn dropout_backward(dy: &[f32], mask: &[f32]) -> Vec<f32> {
    dy.iter().zip(mask).map(|(d, m)| d * m).collect()
}
