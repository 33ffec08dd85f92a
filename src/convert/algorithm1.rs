//! Algorithm 1 of Datta & Beerel (paper.md section 4): per layer, choose the
//! threshold V (a pre-activation percentile <= mu; alpha = V/mu is reported)
//! and the spike-height scale beta (0..2, step 0.01) that minimize the
//! estimated DNN-vs-SNN post-activation difference. Everything in f64, and the
//! candidate threshold is the percentile itself: rebuilding it as alpha*mu can
//! miss the percentile by an ulp and move a value on a segment border into the
//! neighbouring segment (issue 24).

/// Which error the search minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// The paper's: the signed sum, compared by absolute value.
    Signed,
    /// Our variant: the sum of squared per-percentile differences.
    Squared,
}

/// The candidate betas, k/100 for k = 0..=200: each formed directly, since
/// accumulated 0.01 steps drift off the grid.
fn betas() -> impl Iterator<Item = f64> {
    (0..=200).map(|k| k as f64 / 100.0)
}

/// The candidate thresholds: the percentiles with 0 < p <= mu, ascending.
fn threshold_candidates(percentiles: &[f64], mu: f64) -> Vec<f64> {
    let mut cands: Vec<f64> = percentiles.iter().copied().filter(|&p| p > 0.0 && p <= mu).collect();
    cands.sort_by(|a, b| a.total_cmp(b));
    cands
}

/// Whether `p` lies in step `j` of Seg-I for threshold `v` over `t` steps,
/// j*V/T <= p <= (j+1)*V/T, tested multiplied by T: for f32 values held in
/// f64 both sides are then exact, so a value on a step edge is never lost to
/// the rounding of a division. Bounds are inclusive as printed: a value on
/// the border of two steps counts in both.
fn in_step(p: f64, v: f64, j: usize, t: usize) -> bool {
    let (jf, tp) = (j as f64, t as f64 * p);
    jf * v <= tp && tp <= (jf + 1.0) * v
}

/// The DNN post-activation minus the SNN's mean output for one pre-activation
/// value `p` (the staircase with threshold `v` and height beta*v), one term
/// per segment it falls in, in the order Algorithm 1 lists them: the Seg-I
/// steps j = 0..T-1, then Seg-II (v < p <= mu) or Seg-III (p > mu).
fn per_value_terms(p: f64, mu: f64, v: f64, beta: f64, t: usize, mut f: impl FnMut(f64)) {
    let tf = t as f64;
    for j in 0..t {
        if in_step(p, v, j, t) {
            f(p - ((j as f64 * beta) * v) / tf);
        }
    }
    if v < p && p <= mu {
        f(p - beta * v);
    } else if p > mu {
        f(mu - beta * v);
    }
}

/// ComputeLoss at the threshold `v` itself: what the search and the grid use.
/// Terms are summed per percentile in the loop order (Seg-I over j, then
/// Seg-II or Seg-III), so the float sum is the literal one.
pub fn loss_at_threshold(percentiles: &[f64], mu: f64, v: f64, beta: f64, t: usize, kind: LossKind) -> f64 {
    let mut loss = 0.0;
    for &p in percentiles {
        per_value_terms(p, mu, v, beta, t, |d| {
            loss += match kind {
                LossKind::Signed => d,
                LossKind::Squared => d * d,
            }
        });
    }
    loss
}

/// ComputeLoss(P, mu, alpha, beta, T) for callers that hold only alpha: the
/// threshold is rebuilt as alpha*mu, which may sit an ulp off the percentile
/// alpha came from. The search does not go through alpha; where the
/// threshold is at hand, call [`loss_at_threshold`].
pub fn compute_loss(percentiles: &[f64], mu: f64, alpha: f64, beta: f64, t: usize, kind: LossKind) -> f64 {
    loss_at_threshold(percentiles, mu, alpha * mu, beta, t, kind)
}

/// Result of the search for one layer.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaling {
    /// V/mu for the chosen threshold V (reported; V itself comes from
    /// [`find_scaling_and_threshold`]).
    pub alpha: f64,
    pub beta: f64,
    /// The loss at (alpha, beta) and at the start point (1, 1).
    pub loss: f64,
    pub loss_unscaled: f64,
}

/// FindScalingFactors(P, mu, T), returning the chosen threshold V too (a
/// percentile, or mu at the start point). Candidates V = P[j] for
/// 0 < P[j] <= mu in ascending order, beta = k/100 for k = 0..=200, from
/// (V, beta) = (mu, 1); a candidate replaces the best only on a strictly
/// smaller |loss| (the first minimum wins).
pub fn find_scaling_and_threshold(percentiles: &[f64], mu: f64, t: usize, kind: LossKind) -> (Scaling, f64) {
    let start = loss_at_threshold(percentiles, mu, mu, 1.0, t, kind);
    let mut best = (
        Scaling {
            alpha: 1.0,
            beta: 1.0,
            loss: start,
            loss_unscaled: start,
        },
        mu,
    );
    for v in threshold_candidates(percentiles, mu) {
        for beta in betas() {
            let loss = loss_at_threshold(percentiles, mu, v, beta, t, kind);
            if loss.abs() < best.0.loss.abs() {
                let alpha = v / mu;
                best = (
                    Scaling {
                        alpha,
                        beta,
                        loss,
                        loss_unscaled: start,
                    },
                    v,
                );
            }
        }
    }
    best
}

/// FindScalingFactors(P, mu, T): see [`find_scaling_and_threshold`].
pub fn find_scaling_factors(percentiles: &[f64], mu: f64, t: usize, kind: LossKind) -> Scaling {
    find_scaling_and_threshold(percentiles, mu, t, kind).0
}

/// The loss over the whole (threshold, beta) grid, for the app's heatmap:
/// rows = the threshold candidates (ascending, duplicates once), reported as
/// alpha = V/mu but computed at V itself; columns = beta 0..2 step 0.01.
pub fn loss_grid(percentiles: &[f64], mu: f64, t: usize, kind: LossKind) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let mut thresholds = threshold_candidates(percentiles, mu);
    thresholds.dedup();
    let betas: Vec<f64> = betas().collect();
    let grid = thresholds
        .iter()
        .map(|&v| {
            betas
                .iter()
                .map(|&b| loss_at_threshold(percentiles, mu, v, b, t, kind))
                .collect()
        })
        .collect();
    let alphas = thresholds.iter().map(|&v| v / mu).collect();
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
