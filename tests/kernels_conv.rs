//! conv2d kernels against their CPU references, natively (lavapipe on CI).

mod checks;
mod common;

check!(conv2d_forward, checks::conv::conv2d_forward);
check!(conv2d_backward_input, checks::conv::conv2d_backward_input);
check!(conv2d_backward_weight, checks::conv::conv2d_backward_weight);
check!(conv2d_large_grid, checks::conv::conv2d_large_grid);
check!(conv2d_shape_errors, checks::conv::conv2d_shape_errors);
check!(
    conv2d_backward_large_grid,
    checks::conv::conv2d_backward_large_grid
);
