//! Mean softmax cross-entropy reference (f64 inside, as a reference should be).

/// `dlogits` [n, classes] = (softmax - onehot) / n_valid on rows < n_valid, 0 beyond;
/// `loss_sum` = sum of per-row losses over the valid rows; `correct` = rows whose
/// first maximal logit is the label.
#[derive(Clone, Debug, PartialEq)]
pub struct Xent {
    pub dlogits: Vec<f32>,
    pub loss_sum: f64,
    pub correct: u32,
}

pub fn softmax_xent(n: usize, classes: usize, n_valid: usize, logits: &[f32], labels: &[u32]) -> Xent {
    let mut dlogits = vec![0.0f32; n * classes];
    let (mut loss_sum, mut correct) = (0f64, 0u32);
    for r in 0..n.min(n_valid) {
        let row = &logits[r * classes..(r + 1) * classes];
        let label = (labels[r] as usize).min(classes - 1);
        let mut arg = 0;
        for (c, &v) in row.iter().enumerate() {
            if v > row[arg] {
                arg = c;
            }
        }
        let mx = row[arg] as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - mx).exp()).sum();
        loss_sum += sum.ln() - (row[label] as f64 - mx);
        correct += (arg == label) as u32;
        for (c, &v) in row.iter().enumerate() {
            let p = (v as f64 - mx).exp() / sum;
            let y = if c == label { 1.0 } else { 0.0 };
            dlogits[r * classes + c] = ((p - y) / n_valid as f64) as f32;
        }
    }
    Xent {
        dlogits,
        loss_sum,
        correct,
    }
}
