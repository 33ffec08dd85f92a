//! Central finite differences of the CPU backward references (no GPU): each
//! backward, fed a random upstream gradient g, must match d(sum g*y)/d(param).
//! Losses are accumulated in f64; the differentiated functions are linear or
//! piecewise linear, so with inputs away from kinks and ties FD is near exact.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use ultraspike::cpu;
use ultraspike::nn::pool::PoolShape;
use ultraspike::util::rng::Rng;

fn dot(a: &[f32], g: &[f32]) -> f64 {
    a.iter().zip(g).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// d/dp[j] of `loss(p)` by central differences, for every j.
fn numeric_grad(p: &[f32], eps: f32, loss: impl Fn(&[f32]) -> f64) -> Vec<f32> {
    let mut q = p.to_vec();
    (0..p.len())
        .map(|j| {
            q[j] = p[j] + eps;
            let up = loss(&q);
            q[j] = p[j] - eps;
            let down = loss(&q);
            q[j] = p[j];
            ((up - down) / (2.0 * eps as f64)) as f32
        })
        .collect()
}

fn assert_grad(what: &str, analytic: &[f32], numeric: &[f32], tol: f32) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    for (j, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= tol * (1.0 + a.abs()),
            "{what}[{j}]: analytic {a} vs numeric {n}"
        );
    }
}

#[test]
fn linear_gradients() {
    let (n, in_f, out_f) = (3, 5, 4);
    let mut r = Rng::new(1);
    let x = r.vec_uniform(n * in_f, -1.0, 1.0);
    let w = r.vec_uniform(out_f * in_f, -1.0, 1.0);
    let b = r.vec_uniform(out_f, -1.0, 1.0);
    let g = r.vec_uniform(n * out_f, -1.0, 1.0);
    let fwd = |x: &[f32], w: &[f32], b: &[f32]| dot(&cpu::linear::linear_forward(n, in_f, out_f, x, w, b), &g);
    let eps = 1e-2;
    let dx = cpu::linear::linear_backward_input(n, in_f, out_f, &g, &w);
    assert_grad("linear dx", &dx, &numeric_grad(&x, eps, |x| fwd(x, &w, &b)), 1e-3);
    let dw = cpu::linear::linear_backward_weight(n, in_f, out_f, &x, &g);
    assert_grad("linear dw", &dw, &numeric_grad(&w, eps, |w| fwd(&x, w, &b)), 1e-3);
    let db = cpu::linear::bias_backward(n, out_f, 1, &g);
    assert_grad("linear db", &db, &numeric_grad(&b, eps, |b| fwd(&x, &w, b)), 1e-3);
}

/// Conv-style bias: y[n,c,s] = z[n,c,s] + b[c].
#[test]
fn bias_gradient_with_spatial() {
    let (n, c, s) = (2, 3, 5);
    let mut r = Rng::new(2);
    let z = r.vec_uniform(n * c * s, -1.0, 1.0);
    let b = r.vec_uniform(c, -1.0, 1.0);
    let g = r.vec_uniform(n * c * s, -1.0, 1.0);
    let loss = |b: &[f32]| {
        let y: Vec<f32> = z.iter().enumerate().map(|(i, v)| v + b[(i / s) % c]).collect();
        dot(&y, &g)
    };
    assert_grad(
        "bias db",
        &cpu::linear::bias_backward(n, c, s, &g),
        &numeric_grad(&b, 1e-2, loss),
        1e-3,
    );
}

fn pool_shapes() -> [PoolShape; 3] {
    [
        PoolShape {
            n: 1,
            c: 2,
            h: 5,
            w: 5,
            k: 3,
            stride: 2,
        },
        PoolShape {
            n: 2,
            c: 1,
            h: 4,
            w: 5,
            k: 2,
            stride: 2,
        },
        PoolShape::global(1, 2, 3, 3),
    ]
}

#[test]
fn avgpool_gradients() {
    for s in pool_shapes() {
        let mut r = Rng::new(3);
        let x = r.vec_uniform(s.in_len(), -1.0, 1.0);
        let g = r.vec_uniform(s.out_len(), -1.0, 1.0);
        let loss = |x: &[f32]| dot(&cpu::pool::avgpool2d_forward(&s, x), &g);
        let dx = cpu::pool::avgpool2d_backward(&s, &g);
        assert_grad(&format!("avgpool dx {s:?}"), &dx, &numeric_grad(&x, 1e-2, loss), 1e-3);
    }
}

/// Distinct values 0.05 apart (a shuffled ramp), so eps = 1e-3 never flips a max.
#[test]
fn maxpool_gradients_away_from_ties() {
    for s in pool_shapes() {
        let mut r = Rng::new(4);
        let mut x: Vec<f32> = (0..s.in_len()).map(|i| i as f32 * 0.05 - 1.0).collect();
        r.shuffle(&mut x);
        let g = r.vec_uniform(s.out_len(), -1.0, 1.0);
        let loss = |x: &[f32]| dot(&cpu::pool::maxpool2d_forward(&s, x).0, &g);
        let (_, arg) = cpu::pool::maxpool2d_forward(&s, &x);
        let dx = cpu::pool::maxpool2d_backward(&s, &g, &arg);
        assert_grad(&format!("maxpool dx {s:?}"), &dx, &numeric_grad(&x, 1e-3, loss), 1e-3);
    }
}

/// x at least 0.05 from 0 and mu; eps = 1e-3 keeps every element on its side.
#[test]
fn threshold_relu_gradients_away_from_kinks() {
    let mu = 0.6f32;
    let mut r = Rng::new(5);
    let x: Vec<f32> = (0..40)
        .map(|_| loop {
            let v = r.range(-0.5, 1.2);
            if v.abs() > 0.05 && (v - mu).abs() > 0.05 {
                break v;
            }
        })
        .collect();
    let g = r.vec_uniform(x.len(), -1.0, 1.0);
    let loss = |x: &[f32], mu: f32| dot(&cpu::activation::threshold_relu_forward(x, mu), &g);
    let dx = cpu::activation::threshold_relu_backward(&x, mu, &g);
    assert_grad("threshold_relu dx", &dx, &numeric_grad(&x, 1e-3, |x| loss(x, mu)), 1e-3);
    let dmu = cpu::activation::threshold_relu_backward_mu(&x, mu, &g);
    let num = numeric_grad(&[mu], 1e-3, |m| loss(&x, m[0]));
    assert_grad("threshold_relu dmu", &[dmu], &num, 1e-3);
    assert!(dmu.abs() > 0.0 && dx.contains(&0.0), "both masks exercised");
}

/// QCFS with its straight-through floor: the floor's value is frozen at the base point
/// (level k0 of x0) while its slope is 1, so the relaxed forward is
/// `mu * (k0/L - x0/mu0) + x` inside (0, mu), `mu` above and 0 below: equal to the real
/// forward at the base point, and its derivatives are what the backward claims (dx = 1
/// inside, dmu = the level minus x/mu inside, 1 above). Several L, x away from 0 and mu.
#[test]
fn qcfs_straight_through_gradients() {
    let mu = 0.6f32;
    let mut r = Rng::new(7);
    for levels in [1u32, 2, 4, 16] {
        let x: Vec<f32> = (0..60)
            .map(|_| loop {
                let v = r.range(-0.5, 1.2);
                if v.abs() > 0.05 && (v - mu).abs() > 0.05 {
                    break v;
                }
            })
            .collect();
        let g = r.vec_uniform(x.len(), -1.0, 1.0);
        let level: Vec<f64> = x
            .iter()
            .map(|&v| cpu::activation::qcfs_level(v, mu, levels) as f64)
            .collect();
        let (x0, mu0) = (x.clone(), mu as f64);
        let relaxed = |x: &[f32], m: f64| -> f64 {
            x.iter()
                .zip(&x0)
                .zip(&level)
                .zip(&g)
                .map(|(((&v, &v0), &k), &gi)| {
                    let y = if v0 as f64 >= mu0 {
                        m
                    } else if v0 <= 0.0 {
                        0.0
                    } else {
                        m * (k - v0 as f64 / mu0) + v as f64
                    };
                    y * gi as f64
                })
                .sum()
        };
        let y = cpu::activation::qcfs_forward(&x, mu, levels);
        let real = dot(&y, &g);
        assert!(
            (relaxed(&x, mu0) - real).abs() < 1e-5,
            "L={levels}: the relaxation equals the forward"
        );
        let dx = cpu::activation::threshold_relu_backward(&x, mu, &g);
        assert_grad(
            &format!("qcfs dx L={levels}"),
            &dx,
            &numeric_grad(&x, 1e-3, |x| relaxed(x, mu0)),
            1e-3,
        );
        let dmu = cpu::activation::qcfs_backward_mu(&x, mu, levels, &g);
        let num = numeric_grad(&[mu], 1e-3, |m| relaxed(&x, m[0] as f64));
        assert_grad(&format!("qcfs dmu L={levels}"), &[dmu], &num, 1e-3);
        // Every output is a level k * mu / L.
        for &v in &y {
            let k = v * levels as f32 / mu;
            assert!(
                (k - k.round()).abs() < 1e-4 && (0.0..=levels as f32).contains(&k.round()),
                "{v}"
            );
        }
    }
}

/// dropout is linear in x with the mask as its derivative.
#[test]
fn dropout_gradient() {
    let (rows, per_row) = (4, 9);
    let mut r = Rng::new(6);
    let x = r.vec_uniform(rows * per_row, -1.0, 1.0);
    let g = r.vec_uniform(rows * per_row, -1.0, 1.0);
    let loss = |x: &[f32]| dot(&cpu::dropout::dropout_forward(rows, per_row, 2, 0.4, 11, x).0, &g);
    let (_, mask) = cpu::dropout::dropout_forward(rows, per_row, 2, 0.4, 11, &x);
    let dx = cpu::dropout::dropout_backward(&g, &mask);
    assert_grad("dropout dx", &dx, &numeric_grad(&x, 1e-2, loss), 1e-3);
}
