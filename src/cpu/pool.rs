//! Pooling references (NCHW, square window, no padding), same semantics as the
//! kernels: max pooling keeps the FIRST maximum in row-major window order and
//! records its flat index into x; backward passes scatter in row-major output order.

use crate::spec::PoolShape;

/// Flat index of x at window (plane, oh, ow) offset (kh, kw).
fn in_index(s: &PoolShape, plane: usize, oh: usize, ow: usize, kh: usize, kw: usize) -> usize {
    (plane * s.h + oh * s.stride + kh) * s.w + ow * s.stride + kw
}

/// Returns `(y, argmax)`.
pub fn maxpool2d_forward(s: &PoolShape, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (oh_n, ow_n) = (s.out_h(), s.out_w());
    let mut y = Vec::with_capacity(s.out_len());
    let mut arg = Vec::with_capacity(s.out_len());
    for plane in 0..s.n * s.c {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let mut best_i = in_index(s, plane, oh, ow, 0, 0);
                for kh in 0..s.k {
                    for kw in 0..s.k {
                        let i = in_index(s, plane, oh, ow, kh, kw);
                        if x[i] > x[best_i] {
                            best_i = i;
                        }
                    }
                }
                y.push(x[best_i]);
                arg.push(best_i as u32);
            }
        }
    }
    (y, arg)
}

/// `dx[argmax[j]] += dy[j]`, dx starting from zero.
pub fn maxpool2d_backward(s: &PoolShape, dy: &[f32], argmax: &[u32]) -> Vec<f32> {
    let mut dx = vec![0.0; s.in_len()];
    for (d, &a) in dy.iter().zip(argmax) {
        dx[a as usize] += d;
    }
    dx
}

pub fn avgpool2d_forward(s: &PoolShape, x: &[f32]) -> Vec<f32> {
    let area = (s.k * s.k) as f32;
    let mut y = Vec::with_capacity(s.out_len());
    for plane in 0..s.n * s.c {
        for oh in 0..s.out_h() {
            for ow in 0..s.out_w() {
                let mut acc = 0.0f32;
                for kh in 0..s.k {
                    for kw in 0..s.k {
                        acc += x[in_index(s, plane, oh, ow, kh, kw)];
                    }
                }
                y.push(acc / area);
            }
        }
    }
    y
}

/// Each input gets the sum of the dy of the windows covering it, over k*k.
pub fn avgpool2d_backward(s: &PoolShape, dy: &[f32]) -> Vec<f32> {
    let (oh_n, ow_n) = (s.out_h(), s.out_w());
    let mut dx = vec![0.0f32; s.in_len()];
    for plane in 0..s.n * s.c {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let d = dy[(plane * oh_n + oh) * ow_n + ow];
                for kh in 0..s.k {
                    for kw in 0..s.k {
                        dx[in_index(s, plane, oh, ow, kh, kw)] += d;
                    }
                }
            }
        }
    }
    let area = (s.k * s.k) as f32;
    dx.iter_mut().for_each(|v| *v /= area);
    dx
}
