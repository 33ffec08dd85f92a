//! Reference of `spike_map_count`.

/// Non-zero values per position `i % hw`, counting in each `step` values only
/// the first `count_n` (the valid images of a partial batch).
pub fn spike_map_count(x: &[f32], hw: usize, step: usize, count_n: usize) -> Vec<u32> {
    let mut c = vec![0u32; hw];
    for (i, v) in x.iter().enumerate() {
        if *v != 0.0 && i % step < count_n {
            c[i % hw] += 1;
        }
    }
    c
}
