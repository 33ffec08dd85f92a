//! Threshold-ReLU references: `y = clip(x, 0, mu)`, and QCFS, its quantized form.

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

/// QCFS's level of `x` as a fraction of mu: `clamp(floor(x * L / mu + 1/2) / L, 0, 1)`,
/// in the shader's f32 order.
pub fn qcfs_level(x: f32, mu: f32, levels: u32) -> f32 {
    let l = levels as f32;
    (((x * l) / mu + 0.5).floor() / l).clamp(0.0, 1.0)
}

/// QCFS `y = mu * clamp(floor(x * L / mu + 1/2) / L, 0, 1)` (dx: `threshold_relu_backward`).
pub fn qcfs_forward(x: &[f32], mu: f32, levels: u32) -> Vec<f32> {
    x.iter().map(|&v| qcfs_level(v, mu, levels) * mu).collect()
}

/// QCFS's straight-through mu gradient, accumulated in f64: `sum dy * (1 where x >= mu,
/// level - x/mu where 0 < x < mu, 0 where x <= 0)`.
pub fn qcfs_backward_mu(x: &[f32], mu: f32, levels: u32, dy: &[f32]) -> f32 {
    x.iter()
        .zip(dy)
        .map(|(&v, &d)| {
            let g = if v >= mu {
                1.0
            } else if v <= 0.0 {
                0.0
            } else {
                qcfs_level(v, mu, levels) - v / mu
            };
            (d * g) as f64
        })
        .sum::<f64>() as f32
}

/// The fused activation backward's twin: `(dx, dmu)` of threshold ReLU (`levels` None) or QCFS,
/// i.e. `threshold_relu_backward` with the matching mu gradient (dx is the same for both: QCFS's
/// floor is straight-through).
pub fn activation_backward(x: &[f32], mu: f32, levels: Option<u32>, dy: &[f32]) -> (Vec<f32>, f32) {
    let dmu = match levels {
        None => threshold_relu_backward_mu(x, mu, dy),
        Some(l) => qcfs_backward_mu(x, mu, l, dy),
    };
    (threshold_relu_backward(x, mu, dy), dmu)
}
