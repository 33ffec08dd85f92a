//! Algorithm 1 of Datta & Beerel (paper.md section 4): per layer, choose the
//! threshold scale alpha (from the pre-activation percentiles <= mu) and the
//! spike-height scale beta (0..2, step 0.01) that minimize the estimated
//! DNN-vs-SNN post-activation difference. Everything in f64: each alpha
//! candidate sits exactly on a segment edge.

/// Which error the search minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// The paper's: the signed sum, compared by absolute value.
    Signed,
    /// Our variant: the sum of squared per-percentile differences.
    Squared,
}

/// The DNN post-activation minus the SNN's mean output for one pre-activation
/// value `p` (the staircase with threshold alpha*mu and height alpha*beta*mu).
/// Segments as printed in Algorithm 1, bounds inclusive; a value on the
/// border of two steps counts in both, exactly as the loop is written.
fn per_value_terms(p: f64, mu: f64, alpha: f64, beta: f64, t: usize, mut f: impl FnMut(f64)) {
    let tf = t as f64;
    for j in 0..t {
        let jf = j as f64;
        if jf * alpha * mu / tf <= p && p <= (jf + 1.0) * alpha * mu / tf {
            f(p - jf * alpha * beta * mu / tf);
        }
    }
    if alpha * mu < p && p <= mu {
        f(p - alpha * beta * mu);
    } else if p > mu {
        f(mu * (1.0 - alpha * beta));
    }
}

/// ComputeLoss(P, mu, alpha, beta, T).
pub fn compute_loss(percentiles: &[f64], mu: f64, alpha: f64, beta: f64, t: usize, kind: LossKind) -> f64 {
    let mut loss = 0.0;
    for &p in percentiles {
        per_value_terms(p, mu, alpha, beta, t, |d| {
            loss += match kind {
                LossKind::Signed => d,
                LossKind::Squared => d * d,
            }
        });
    }
    loss
}

/// Result of the search for one layer.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaling {
    pub alpha: f64,
    pub beta: f64,
    /// The loss at (alpha, beta) and at the start point (1, 1).
    pub loss: f64,
    pub loss_unscaled: f64,
}

/// FindScalingFactors(P, mu, T): candidates alpha = P[j]/mu for 0 < P[j] <= mu in
/// ascending order, beta = k/100 for k = 0..=200, from (1, 1); a candidate
/// replaces the best only on a strictly smaller |loss| (the first minimum wins).
pub fn find_scaling_factors(percentiles: &[f64], mu: f64, t: usize, kind: LossKind) -> Scaling {
    let start = compute_loss(percentiles, mu, 1.0, 1.0, t, kind);
    let mut best = Scaling {
        alpha: 1.0,
        beta: 1.0,
        loss: start,
        loss_unscaled: start,
    };
    let mut cands: Vec<f64> = percentiles.iter().copied().filter(|&p| p > 0.0 && p <= mu).collect();
    cands.sort_by(|a, b| a.total_cmp(b));
    for p in cands {
        let alpha = p / mu;
        for k in 0..=200 {
            let beta = k as f64 / 100.0;
            let loss = compute_loss(percentiles, mu, alpha, beta, t, kind);
            if loss.abs() < best.loss.abs() {
                best = Scaling {
                    alpha,
                    beta,
                    loss,
                    loss_unscaled: start,
                };
            }
        }
    }
    best
}

/// The loss over the whole (alpha, beta) grid, for the app's heatmap:
/// rows = alpha candidates (ascending), columns = beta 0..2 step 0.01.
pub fn loss_grid(percentiles: &[f64], mu: f64, t: usize, kind: LossKind) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let mut alphas: Vec<f64> = percentiles
        .iter()
        .copied()
        .filter(|&p| p > 0.0 && p <= mu)
        .map(|p| p / mu)
        .collect();
    alphas.sort_by(|a, b| a.total_cmp(b));
    alphas.dedup();
    let betas: Vec<f64> = (0..=200).map(|k| k as f64 / 100.0).collect();
    let grid = alphas
        .iter()
        .map(|&a| {
            betas
                .iter()
                .map(|&b| compute_loss(percentiles, mu, a, b, t, kind))
                .collect()
        })
        .collect();
    (alphas, betas, grid)
}

/// The paper's K(mu) = (1/mu) * integral_0^mu d f(d) dd, estimated from samples
/// (values of the pre-activation distribution, e.g. histogram bin centres
/// with weights).
pub fn k_of_mu(values: &[(f64, f64)], mu: f64) -> f64 {
    let total: f64 = values.iter().map(|v| v.1).sum();
    if total <= 0.0 || mu <= 0.0 {
        return 0.0;
    }
    values
        .iter()
        .filter(|(d, _)| *d >= 0.0 && *d <= mu)
        .map(|(d, w)| d * w)
        .sum::<f64>()
        / (total * mu)
}

/// The paper's h(T, mu) = sum_{i=1}^{T-1} (i/T) g_i + integral_{T'}^{mu} f, with
/// g_i the mass in [(i-1/2)mu/T, (i+1/2)mu/T] and T' = (T-1/2)mu/T (eq. 7; the
/// Deng et al. shifted staircase).
pub fn h_of_t_mu(values: &[(f64, f64)], t: usize, mu: f64) -> f64 {
    let total: f64 = values.iter().map(|v| v.1).sum();
    if total <= 0.0 || t == 0 || mu <= 0.0 {
        return 0.0;
    }
    let tf = t as f64;
    let mass = |lo: f64, hi: f64| {
        values
            .iter()
            .filter(|(d, _)| *d >= lo && *d < hi)
            .map(|v| v.1)
            .sum::<f64>()
            / total
    };
    let mut h = 0.0;
    for i in 1..t {
        let fi = i as f64;
        h += fi / tf * mass((fi - 0.5) * mu / tf, (fi + 0.5) * mu / tf);
    }
    h + mass((tf - 0.5) * mu / tf, mu + f64::EPSILON * mu)
}
