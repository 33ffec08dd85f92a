//! A long session keeps its GPU memory flat: 100 cycles of convert, evaluate, spike maps and
//! classify leave the engine's live buffers and bytes (`Gpu::live_buffers`) where the first
//! cycle left them, after every cycle.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use pollster::block_on;
use ultraspike::convert::ConversionMethod;
use ultraspike::gpu::LiveBuffers;
use ultraspike::pipeline::{ClassifyWith, Pipeline, SpikeInput};

/// One cycle of what a page visitor does again and again.
fn cycle(p: &mut Pipeline, pixels: &[u8]) {
    block_on(p.convert(ConversionMethod::AlphaBeta, 2, 20)).unwrap();
    block_on(p.evaluate_snn(None, 20)).unwrap();
    block_on(p.spike_maps(SpikeInput::Test(0), 0)).unwrap();
    block_on(p.spike_maps(SpikeInput::Pixels(pixels), 0)).unwrap();
    block_on(p.classify(pixels, ClassifyWith::Snn)).unwrap();
    block_on(p.classify(pixels, ClassifyWith::Dnn)).unwrap();
}

#[test]
fn a_hundred_cycles_keep_live_buffers_and_bytes_flat() {
    let mut p = common::converted_pipeline(40, 2);
    let image = p.test_image(1).unwrap();
    let pixels = image.pixels.clone();
    cycle(&mut p, &pixels);
    let first: LiveBuffers = p.gpu().live_buffers();
    assert!(
        first.buffers > 0 && first.bytes > 0,
        "the engine counts its buffers: {first:?}"
    );
    for i in 2..=100 {
        cycle(&mut p, &pixels);
        let now = p.gpu().live_buffers();
        assert_eq!(now, first, "live buffers after cycle {i} (after cycle 1: {first:?})");
    }
}

#[test]
fn dropping_a_tensor_gives_its_buffer_back_once() {
    let gpu = common::new_gpu();
    let before = gpu.live_buffers();
    let t = gpu.tensor("t", &[10, 10]).unwrap();
    let alias = t.view(&[100], "t.flat");
    let copy = t.clone();
    let during = gpu.live_buffers();
    assert_eq!(
        (during.buffers - before.buffers, during.bytes - before.bytes),
        (1, 400),
        "one buffer of 400 bytes, however many handles"
    );
    drop(t);
    drop(alias);
    assert_eq!(gpu.live_buffers().buffers, during.buffers, "a handle is still alive");
    drop(copy);
    assert_eq!(gpu.live_buffers(), before, "the last handle gave the buffer back");
}
