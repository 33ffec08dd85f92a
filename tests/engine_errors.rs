//! Bad input to the engine gives clear errors, never a panic: buffers over the
//! device's limits, grids over the workgroup limit, mismatched shapes, and a
//! lost device.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

mod common;

use ultraspike::gpu::{Gpu, GpuOptions, Kernel};
use ultraspike::nn::residual::{residual_add, ResidualParams};
use ultraspike::Error;

#[test]
fn buffer_over_the_device_limit_is_refused_before_allocation() {
    let gpu = common::gpu();
    let too_many = (gpu.limits.max_storage_buffer_binding_size / 4 + 1) as usize;
    match gpu.tensor("huge", &[too_many]) {
        Err(Error::TooLarge { limit_name, .. }) => assert_eq!(limit_name, "max_storage_buffer_binding_size"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a buffer over the binding limit was allocated"),
    }
    let msg = gpu
        .tensor("huge", &[too_many])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("smaller batch"), "the message suggests a fix: {msg}");
}

#[test]
fn grid_over_the_workgroup_limit_is_refused() {
    let gpu = common::gpu();
    let a = gpu.tensor("a", &[4]).unwrap();
    let p = ResidualParams { n: 4, _pad: [0; 3] };
    let max = gpu.limits.max_compute_workgroups_per_dimension;
    let r = gpu.op(
        Kernel::ResidualAdd,
        "add",
        &[a.bind(), a.bind(), a.bind()],
        &p,
        [max + 1, 1, 1],
    );
    assert!(matches!(r, Err(Error::TooLarge { .. })));
}

#[test]
fn mismatched_shapes_are_refused() {
    let gpu = common::gpu();
    let a = gpu.tensor("a", &[4]).unwrap();
    let b = gpu.tensor("b", &[5]).unwrap();
    let e = residual_add(gpu, "add", &a, &b, &a).err().expect("shape error");
    assert!(matches!(e, Error::Shape(_)), "{e}");
    assert!(gpu.write(&a, &[0.0; 5]).is_err());
}

#[test]
fn a_lost_device_becomes_an_error() {
    // Its own device: destroying the shared one would break the other tests.
    let gpu = Gpu::new_blocking(&GpuOptions::default()).unwrap();
    let t = gpu.tensor_from("x", &[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    gpu.device.destroy();
    let _ = gpu.wait();
    let r = pollster::block_on(gpu.read(&t));
    assert!(
        matches!(r, Err(Error::DeviceLost(_))),
        "reading from a destroyed device gave {r:?}"
    );
    assert!(matches!(gpu.check(), Err(Error::DeviceLost(_))), "the loss is reported");
    // A new kernel's pipeline fails too, as a lost device (not as a broken shader).
    let y = gpu.tensor("y", &[4]);
    let op = y.and_then(|y| ultraspike::nn::residual::residual_add(&gpu, "add", &t, &t, &y));
    assert!(
        matches!(op, Err(Error::DeviceLost(_))),
        "building an op on a destroyed device gave {:?}",
        op.err()
    );
}

#[test]
fn unknown_backend_is_a_clear_error() {
    let r = Gpu::new_blocking(&GpuOptions {
        backend: Some("opengl-es-9".into()),
        ..Default::default()
    });
    assert!(matches!(r, Err(Error::NoAdapter(m)) if m.contains("unknown backend")));
}
