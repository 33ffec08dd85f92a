//! Linear layer and bias-gradient references (PyTorch layout `w [out_f, in_f]`).

/// `y[n,o] = b[o] + sum_i x[n,i] w[o,i]`.
pub fn linear_forward(n: usize, in_f: usize, out_f: usize, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; n * out_f];
    for s in 0..n {
        for o in 0..out_f {
            let mut acc = 0.0f32;
            for i in 0..in_f {
                acc += x[s * in_f + i] * w[o * in_f + i];
            }
            y[s * out_f + o] = acc + b[o];
        }
    }
    y
}

/// `dx[n,i] = sum_o dy[n,o] w[o,i]`.
pub fn linear_backward_input(n: usize, in_f: usize, out_f: usize, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; n * in_f];
    for s in 0..n {
        for i in 0..in_f {
            let mut acc = 0.0f32;
            for o in 0..out_f {
                acc += dy[s * out_f + o] * w[o * in_f + i];
            }
            dx[s * in_f + i] = acc;
        }
    }
    dx
}

/// `dw[o,i] = sum_n dy[n,o] x[n,i]`.
pub fn linear_backward_weight(n: usize, in_f: usize, out_f: usize, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut dw = vec![0.0; out_f * in_f];
    for o in 0..out_f {
        for i in 0..in_f {
            let mut acc = 0.0f32;
            for s in 0..n {
                acc += dy[s * out_f + o] * x[s * in_f + i];
            }
            dw[o * in_f + i] = acc;
        }
    }
    dw
}

/// `db[c] = sum_{n,s} dy[n,c,s]` (dy `[n, c, spatial]`).
pub fn bias_backward(n: usize, c: usize, spatial: usize, dy: &[f32]) -> Vec<f32> {
    let mut db = vec![0.0; c];
    for b in 0..n {
        for (ch, d) in db.iter_mut().enumerate() {
            let row = &dy[(b * c + ch) * spatial..(b * c + ch + 1) * spatial];
            *d += row.iter().sum::<f32>();
        }
    }
    db
}
