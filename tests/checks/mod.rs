//! Kernel checks shared by the native tests (lavapipe or a real GPU) and the
//! browser tests (headless Chromium WebGPU): each compares a GPU kernel with
//! its CPU reference and returns a message on mismatch.
#![allow(dead_code)]

pub mod activation;
pub mod activation_fused;
pub mod conv;
pub mod dropout;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod residual;
pub mod select;
pub mod spikes;
pub mod spiking;

use ultraspike::util::rng::Rng;

/// The one list of shared checks, each as `module::function` under tests/checks.
/// `for_each_check!(callback)` expands to `callback! { activation::threshold_relu, ... }`:
/// tests/kernels.rs makes a native #[test] of each and tests/browser.rs a
/// headless-Chromium test, so a check added here runs in both places.
/// tests/kernels.rs fails when a `pub async fn` under tests/checks is not listed.
#[macro_export]
macro_rules! for_each_check {
    ($callback:ident) => {
        $callback! {
            activation::threshold_relu,
            activation::threshold_relu_big_grid,
            activation::threshold_relu_shape_errors,
            activation::qcfs,
            activation_fused::activation_backward_fused,
            conv::conv2d_forward,
            conv::conv2d_backward_input,
            conv::conv2d_backward_weight,
            conv::conv2d_backward_large_grid,
            conv::conv2d_large_grid,
            conv::conv2d_vec4_large_grid,
            conv::conv2d_shape_errors,
            dropout::dropout,
            dropout::dropout_statistics,
            dropout::dropout_shape_errors,
            linear::linear,
            linear::linear_variant_errors,
            linear::bias_backward,
            linear::linear_shape_errors,
            loss::softmax_xent_vs_cpu,
            loss::softmax_xent_errors,
            optim::sgd_steps,
            optim::adam_steps,
            pool::maxpool2d,
            pool::maxpool2d_ties,
            pool::avgpool2d,
            pool::pool_shape_errors,
            reduce::reductions,
            reduce::time_axis,
            reduce::histograms,
            residual::residual_add,
            select::radix_select,
            spikes::spike_map_count_vs_cpu,
            spikes::if_forward_count_limit,
            spiking::if_forward_exact,
            spiking::if_forward_big_grid,
            spiking::if_backward_vs_cpu,
            spiking::if_backward_big_grid,
        }
    };
}

pub type CheckResult = Result<(), String>;

// Loaded here and by tests/common (tests/kernels.rs has both; tests/browser.rs only this one).
#[allow(clippy::duplicate_mod)]
#[path = "../common/close.rs"]
mod close;
/// |got - want| <= atol + rtol * |want| element-wise (tests/common/close.rs, which the
/// native tests assert through `common::assert_close`).
pub use close::check_close as assert_close;

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

/// Ok when `op` runs `want`: the op builder picked the variant the shape calls for.
pub fn expect_kernel(op: &ultraspike::gpu::Op, want: ultraspike::gpu::Kernel) -> CheckResult {
    if op.kernel != want {
        return Err(format!("{}: runs {:?}, expected {want:?}", op.label, op.kernel));
    }
    Ok(())
}

/// `vec4` for an element count that is a multiple of 4, else `scalar` (`gpu::elementwise`).
pub fn variant(n: usize, scalar: ultraspike::gpu::Kernel, vec4: ultraspike::gpu::Kernel) -> ultraspike::gpu::Kernel {
    if n.is_multiple_of(4) {
        vec4
    } else {
        scalar
    }
}

/// Map a GPU-side error into a check failure.
pub fn gpu_err(e: ultraspike::Error) -> String {
    e.to_string()
}
