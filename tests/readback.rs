//! Batched readback: `read_many` returns every tensor exactly, with one map
//! (one GPU sync, one yield to the page in the browser) however many tensors
//! it reads; over a size cap it splits into chunks, and a lost device is still
//! reported as lost.

mod common;

use ultraspike::gpu::context::plan_chunks;
use ultraspike::gpu::{Gpu, GpuOptions, ReadRange, Tensor};
use ultraspike::Error;

/// A device of its own, so that map counts are not shared with other tests.
fn own_gpu() -> Gpu {
    let opts = GpuOptions {
        force_fallback: std::env::var("ULTRASPIKE_FALLBACK").is_ok_and(|v| v == "1"),
        ..Default::default()
    };
    Gpu::new_blocking(&opts).unwrap()
}

/// Lengths 1, odd, a multiple of 4, empty, and large; values tell tensors apart.
fn sample(gpu: &Gpu) -> (Vec<Tensor>, Vec<Vec<f32>>) {
    let lens = [1usize, 7, 256, 1, 0, 1023, 3, 40_001];
    let mut tensors = Vec::new();
    let mut values = Vec::new();
    for (i, &n) in lens.iter().enumerate() {
        let v: Vec<f32> = (0..n)
            .map(|j| i as f32 * 1000.0 + j as f32 * 0.5 - 3.0)
            .collect();
        tensors.push(gpu.tensor_from(&format!("t{i}"), &[n], &v).unwrap());
        values.push(v);
    }
    (tensors, values)
}

#[test]
fn read_many_returns_every_tensor_exactly_with_one_map() {
    let gpu = own_gpu();
    let (tensors, want) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    let before = gpu.maps();
    let got = pollster::block_on(gpu.read_many(&refs)).unwrap();
    assert_eq!(gpu.maps() - before, 1, "one map for {} tensors", refs.len());
    assert_eq!(got, want);
    // The same as reading them one by one.
    for (t, w) in tensors.iter().zip(&want) {
        assert_eq!(&pollster::block_on(gpu.read(t)).unwrap(), w, "{}", t.label);
    }
}

#[test]
fn read_many_u32_returns_the_bits() {
    let gpu = common::gpu();
    let a = gpu.tensor_from_u32("a", &[1], &[u32::MAX]).unwrap();
    let b = gpu
        .tensor_from_u32("b", &[5], &[0, 1, 2, 3, 0x8000_0001])
        .unwrap();
    let got = pollster::block_on(gpu.read_many_u32(&[&a, &b])).unwrap();
    assert_eq!(got, vec![vec![u32::MAX], vec![0, 1, 2, 3, 0x8000_0001]]);
}

#[test]
fn an_empty_list_reads_nothing() {
    let gpu = own_gpu();
    let before = gpu.maps();
    assert!(pollster::block_on(gpu.read_many(&[])).unwrap().is_empty());
    assert!(pollster::block_on(gpu.read_many_u32(&[]))
        .unwrap()
        .is_empty());
    // Only empty tensors: nothing to copy, nothing to map.
    let e = gpu.tensor("e", &[0]).unwrap();
    assert_eq!(
        pollster::block_on(gpu.read_many(&[&e, &e])).unwrap(),
        vec![Vec::<f32>::new(); 2]
    );
    assert_eq!(gpu.maps(), before, "no map without bytes to read");
}

#[test]
fn chunks_stay_under_the_cap_in_order() {
    assert!(plan_chunks([], 8).is_empty());
    assert_eq!(
        plan_chunks([4, 4, 8, 100, 0, 4], 8),
        vec![0..2, 2..3, 3..4, 4..6]
    );
    assert_eq!(plan_chunks([4, 4, 4], 1 << 20), vec![0..3]);
    assert_eq!(plan_chunks([0, 0], 0), vec![0..2]);
}

#[test]
fn a_capped_read_splits_into_chunks_and_gives_the_same_values() {
    let gpu = own_gpu();
    let (tensors, want) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    for cap in [4u64, 64, 4096, 1 << 20] {
        let chunks = plan_chunks(refs.iter().map(|t| t.bytes()), cap).len() as u64;
        let before = gpu.maps();
        let got = pollster::block_on(gpu.read_many_chunked(&refs, cap)).unwrap();
        assert_eq!(got, want, "cap {cap}");
        assert_eq!(gpu.maps() - before, chunks, "cap {cap}: one map per chunk");
    }
}

#[test]
fn unaligned_ranges_are_refused() {
    let gpu = common::gpu();
    let t = gpu.tensor("t", &[4]).unwrap();
    for (offset, bytes) in [(2, 4), (0, 6)] {
        let r = ReadRange {
            buffer: &t.buffer,
            offset,
            bytes,
        };
        let e = pollster::block_on(gpu.read_bytes_many(&[r])).unwrap_err();
        assert!(
            matches!(e, Error::Readback(ref m) if m.contains("multiple of 4")),
            "{e}"
        );
    }
}

#[test]
fn a_lost_device_fails_a_batched_read_as_lost() {
    let gpu = own_gpu();
    let (tensors, _) = sample(&gpu);
    let refs: Vec<&Tensor> = tensors.iter().collect();
    gpu.device.destroy();
    let _ = gpu.wait();
    let r = pollster::block_on(gpu.read_many(&refs));
    assert!(
        matches!(r, Err(Error::DeviceLost(_))),
        "read_many on a destroyed device gave {r:?}"
    );
    let r = pollster::block_on(gpu.read_many(&[]));
    assert!(
        matches!(r, Err(Error::DeviceLost(_))),
        "even an empty read reports the loss: {r:?}"
    );
}
