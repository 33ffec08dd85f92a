//! Threshold-ReLU references: `y = clip(x, 0, mu)`.

pub fn threshold_relu_forward(x: &[f32], mu: f32) -> Vec<f32> {
    x.iter().map(|&v| v.max(0.0).min(mu)).collect()
}

/// `dx = dy` where `0 < x < mu`, else 0.
pub fn threshold_relu_backward(x: &[f32], mu: f32, dy: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(dy)
        .map(|(&v, &d)| if v > 0.0 && v < mu { d } else { 0.0 })
        .collect()
}

/// `dmu = sum dy where x >= mu`, accumulated in f64.
pub fn threshold_relu_backward_mu(x: &[f32], mu: f32, dy: &[f32]) -> f32 {
    x.iter()
        .zip(dy)
        .filter(|(&v, _)| v >= mu)
        .map(|(_, &d)| d as f64)
        .sum::<f64>() as f32
}
