//! Naive conv2d references (NCHW activations, OIHW weights), f64 accumulators.
//! Shapes are taken on trust: callers (tests) pass slices of the right length.

use crate::spec::Conv2dShape;

/// Input coordinate of output row/col `o` at tap `k`, if inside the image.
fn src(o: usize, k: usize, s: &Conv2dShape, size: usize) -> Option<usize> {
    let i = (o * s.stride + k) as isize - s.pad as isize;
    (i >= 0 && (i as usize) < size).then_some(i as usize)
}

/// Calls `f(x_index, w_index, y_index)` for every multiply-accumulate of the conv.
fn for_each_mac(s: &Conv2dShape, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (s.out_h(), s.out_w());
    for n in 0..s.n {
        for co in 0..s.c_out {
            for y in 0..oh {
                for x in 0..ow {
                    let yi = ((n * s.c_out + co) * oh + y) * ow + x;
                    for ci in 0..s.c_in {
                        for kh in 0..s.k {
                            let Some(ih) = src(y, kh, s, s.h) else {
                                continue;
                            };
                            for kw in 0..s.k {
                                let Some(iw) = src(x, kw, s, s.w) else {
                                    continue;
                                };
                                let xi = ((n * s.c_in + ci) * s.h + ih) * s.w + iw;
                                let wi = ((co * s.c_in + ci) * s.k + kh) * s.k + kw;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y[n,co,oh,ow] = b[co] + sum_{ci,kh,kw} x[n,ci,oh*s-p+kh,ow*s-p+kw] * w[co,ci,kh,kw]`.
pub fn conv2d_forward(s: &Conv2dShape, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let plane = s.out_h() * s.out_w();
    let mut acc: Vec<f64> = (0..s.n * s.c_out * plane)
        .map(|i| b[(i / plane) % s.c_out] as f64)
        .collect();
    for_each_mac(s, |xi, wi, yi| acc[yi] += x[xi] as f64 * w[wi] as f64);
    acc.into_iter().map(|v| v as f32).collect()
}

/// `dx = conv_transpose(dy, w)`: each MAC `y += x * w` sends `dy * w` back to `x`.
pub fn conv2d_backward_input(s: &Conv2dShape, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let mut acc = vec![0f64; s.n * s.c_in * s.h * s.w];
    for_each_mac(s, |xi, wi, yi| acc[xi] += dy[yi] as f64 * w[wi] as f64);
    acc.into_iter().map(|v| v as f32).collect()
}

/// `dw[co,ci,kh,kw] = sum_{n,oh,ow} dy[n,co,oh,ow] * x[n,ci,oh*s-p+kh,ow*s-p+kw]`.
pub fn conv2d_backward_weight(s: &Conv2dShape, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut acc = vec![0f64; s.c_out * s.c_in * s.k * s.k];
    for_each_mac(s, |xi, wi, yi| acc[wi] += dy[yi] as f64 * x[xi] as f64);
    acc.into_iter().map(|v| v as f32).collect()
}
