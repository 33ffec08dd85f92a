//! Reference of `spike_map_count`.

pub fn spike_map_count(x: &[f32], hw: usize) -> Vec<u32> {
    let mut c = vec![0u32; hw];
    for (i, v) in x.iter().enumerate() {
        if *v != 0.0 {
            c[i % hw] += 1;
        }
    }
    c
}
