//! Central finite differences of the conv2d CPU references (no GPU): with the loss
//! L = sum(y * g), dL/dx must equal conv2d_backward_input(g, w) and dL/dw must equal
//! conv2d_backward_weight(x, g), at every element, for several shapes.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use ultraspike::cpu::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
use ultraspike::nn::conv::Conv2dShape;
use ultraspike::util::rng::Rng;

fn loss(s: &Conv2dShape, x: &[f32], w: &[f32], b: &[f32], g: &[f32]) -> f64 {
    conv2d_forward(s, x, w, b)
        .iter()
        .zip(g)
        .map(|(y, g)| *y as f64 * *g as f64)
        .sum()
}

/// d loss / d v[i] by central differences (the loss is linear in v, so only rounding remains).
fn numeric(v: &[f32], i: usize, f: impl Fn(&[f32]) -> f64) -> f64 {
    const EPS: f32 = 0.05;
    let mut p = v.to_vec();
    p[i] = v[i] + EPS;
    let up = f(&p);
    p[i] = v[i] - EPS;
    (up - f(&p)) / (2.0 * EPS as f64)
}

fn check(what: &str, analytic: &[f32], numeric: &[f64]) {
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let err = (*a as f64 - n).abs();
        assert!(err <= 2e-3 + 2e-3 * n.abs(), "{what}[{i}]: analytic {a} vs numeric {n}");
    }
}

fn gradcheck(s: Conv2dShape, seed: u64) {
    s.validate().unwrap();
    let mut r = Rng::new(seed);
    let x = r.vec_uniform(s.x_shape().iter().product(), -1.0, 1.0);
    let w = r.vec_uniform(s.w_shape().iter().product(), -1.0, 1.0);
    let b = r.vec_uniform(s.c_out, -1.0, 1.0);
    let g = r.vec_uniform(s.y_shape().iter().product(), -1.0, 1.0);

    let dx = conv2d_backward_input(&s, &g, &w);
    let num_dx: Vec<f64> = (0..x.len())
        .map(|i| numeric(&x, i, |x| loss(&s, x, &w, &b, &g)))
        .collect();
    check(&format!("dx {s:?}"), &dx, &num_dx);

    let dw = conv2d_backward_weight(&s, &x, &g);
    let num_dw: Vec<f64> = (0..w.len())
        .map(|i| numeric(&w, i, |w| loss(&s, &x, w, &b, &g)))
        .collect();
    check(&format!("dw {s:?}"), &dw, &num_dw);
}

/// `[n, c_in, h, w, c_out, k, stride, pad]`.
fn shape(v: [usize; 8]) -> Conv2dShape {
    let [n, c_in, h, w, c_out, k, stride, pad] = v;
    Conv2dShape {
        n,
        c_in,
        h,
        w,
        c_out,
        k,
        stride,
        pad,
    }
}

#[test]
fn conv2d_3x3_s1_p1() {
    gradcheck(shape([2, 3, 5, 4, 2, 3, 1, 1]), 1);
}

#[test]
fn conv2d_3x3_s2_p1() {
    gradcheck(shape([1, 2, 7, 6, 3, 3, 2, 1]), 2);
}

#[test]
fn conv2d_1x1_s2_p0() {
    gradcheck(shape([2, 3, 5, 5, 2, 1, 2, 0]), 3);
}

#[test]
fn conv2d_5x5_s1_p2() {
    gradcheck(shape([1, 2, 6, 5, 2, 5, 1, 2]), 4);
}

/// The forward reference itself on a hand-computed case: a 2x2 all-ones kernel sums windows.
#[test]
fn conv2d_forward_by_hand() {
    let s = shape([1, 1, 3, 3, 1, 2, 1, 0]);
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let y = conv2d_forward(&s, &x, &[1.0; 4], &[0.5]);
    assert_eq!(y, vec![12.5, 16.5, 24.5, 28.5]);
}
