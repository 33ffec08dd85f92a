//! Linear, bias-gradient, pooling, threshold-ReLU and dropout kernels against
//! their CPU references, natively (lavapipe on CI).

mod checks;
mod common;

check!(linear, checks::linear::linear);
check!(bias_backward, checks::linear::bias_backward);
check!(linear_shape_errors, checks::linear::linear_shape_errors);
check!(maxpool2d, checks::pool::maxpool2d);
check!(maxpool2d_ties, checks::pool::maxpool2d_ties);
check!(avgpool2d, checks::pool::avgpool2d);
check!(pool_shape_errors, checks::pool::pool_shape_errors);
check!(threshold_relu, checks::activation::threshold_relu);
check!(
    threshold_relu_big_grid,
    checks::activation::threshold_relu_big_grid
);
check!(
    threshold_relu_shape_errors,
    checks::activation::threshold_relu_shape_errors
);
check!(dropout, checks::dropout::dropout);
check!(dropout_statistics, checks::dropout::dropout_statistics);
check!(dropout_shape_errors, checks::dropout::dropout_shape_errors);
