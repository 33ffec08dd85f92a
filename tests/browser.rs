//! The shared kernel checks (tests/checks) in headless Chromium's WebGPU:
//! `bash scripts/test.sh` runs them with
//! `cargo test --target wasm32-unknown-unknown --test browser`
//! (runner and browser flags: .cargo/config.toml, webdriver.json).
#![cfg(target_arch = "wasm32")]

mod checks;

use ultraspike::gpu::{Gpu, GpuOptions};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `browser_check!(name, path::to::async_check)`: one browser test per shared
/// check, each on its own device (nothing is shared between wasm tests).
macro_rules! browser_check {
    ($name:ident, $f:path) => {
        #[wasm_bindgen_test]
        async fn $name() {
            let gpu = match Gpu::new(&GpuOptions::default()).await {
                Ok(g) => g,
                Err(e) => {
                    panic!("browser tests need WebGPU (Chromium --enable-unsafe-webgpu): {e}")
                }
            };
            if let Err(e) = $f(&gpu).await {
                panic!("{e}");
            }
        }
    };
}

// Grouped by area, in the order of tests/checks/mod.rs.
browser_check!(threshold_relu, checks::activation::threshold_relu);
browser_check!(
    threshold_relu_big_grid,
    checks::activation::threshold_relu_big_grid
);
browser_check!(
    threshold_relu_shape_errors,
    checks::activation::threshold_relu_shape_errors
);
browser_check!(conv2d_forward, checks::conv::conv2d_forward);
browser_check!(conv2d_backward_input, checks::conv::conv2d_backward_input);
browser_check!(conv2d_backward_weight, checks::conv::conv2d_backward_weight);
browser_check!(conv2d_large_grid, checks::conv::conv2d_large_grid);
browser_check!(conv2d_shape_errors, checks::conv::conv2d_shape_errors);
browser_check!(dropout, checks::dropout::dropout);
browser_check!(dropout_statistics, checks::dropout::dropout_statistics);
browser_check!(dropout_shape_errors, checks::dropout::dropout_shape_errors);
browser_check!(linear, checks::linear::linear);
browser_check!(bias_backward, checks::linear::bias_backward);
browser_check!(linear_shape_errors, checks::linear::linear_shape_errors);
browser_check!(softmax_xent_vs_cpu, checks::loss::softmax_xent_vs_cpu);
browser_check!(softmax_xent_errors, checks::loss::softmax_xent_errors);
browser_check!(sgd_steps, checks::optim::sgd_steps);
browser_check!(adam_steps, checks::optim::adam_steps);
browser_check!(maxpool2d, checks::pool::maxpool2d);
browser_check!(maxpool2d_ties, checks::pool::maxpool2d_ties);
browser_check!(avgpool2d, checks::pool::avgpool2d);
browser_check!(pool_shape_errors, checks::pool::pool_shape_errors);
browser_check!(reductions, checks::reduce::reductions);
browser_check!(time_axis, checks::reduce::time_axis);
browser_check!(histograms, checks::reduce::histograms);
browser_check!(residual_add, checks::residual::residual_add);
browser_check!(if_forward_exact, checks::spiking::if_forward_exact);
browser_check!(if_forward_big_grid, checks::spiking::if_forward_big_grid);
browser_check!(if_backward_vs_cpu, checks::spiking::if_backward_vs_cpu);
browser_check!(if_backward_big_grid, checks::spiking::if_backward_big_grid);
browser_check!(if_forward_count_limit, checks::spikes::if_forward_count_limit);
browser_check!(spike_map_count_vs_cpu, checks::spikes::spike_map_count_vs_cpu);
