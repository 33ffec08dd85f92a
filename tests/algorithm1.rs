//! Algorithm 1 (paper.md section 4) and the paper's K(mu), h(T, mu) on
//! distributions whose answers are computed by hand.
#![cfg(not(target_arch = "wasm32"))] // native (lavapipe or a GPU); the browser runs tests/browser.rs

use ultraspike::convert::algorithm1::{
    compute_loss, find_scaling_factors, h_of_t_mu, k_of_mu, loss_at_threshold, loss_grid, LossKind,
};
use ultraspike::convert::stats::percentile_from_hist;

/// A fine uniform grid on [0, mu] as (value, weight) pairs.
fn uniform(mu: f64, n: usize) -> Vec<(f64, f64)> {
    (0..n).map(|i| ((i as f64 + 0.5) * mu / n as f64, 1.0)).collect()
}

#[test]
fn uniform_distribution_gives_k_and_h_of_one_half() {
    for mu in [1.0, 4.0] {
        let v = uniform(mu, 100_000);
        assert!((k_of_mu(&v, mu) - 0.5).abs() < 1e-4, "K = {}", k_of_mu(&v, mu));
        for t in [1, 2, 3, 5, 8] {
            let h = h_of_t_mu(&v, t, mu);
            assert!((h - 0.5).abs() < 1e-3, "T={t}: h = {h}");
        }
    }
}

#[test]
fn skewed_distribution_has_h_falling_below_k_at_small_t() {
    // Exponential-like mass near 0 (the paper's observation): h(T) shrinks as T drops.
    let mu = 4.0;
    let v: Vec<(f64, f64)> = (0..4000)
        .map(|i| {
            let d = (i as f64 + 0.5) * mu / 4000.0;
            (d, (-3.0 * d).exp())
        })
        .collect();
    let k = k_of_mu(&v, mu);
    let (h2, h8) = (h_of_t_mu(&v, 2, mu), h_of_t_mu(&v, 8, mu));
    assert!(h2 < h8 && h2 < k, "K {k}, h(2) {h2}, h(8) {h8}");
}

#[test]
fn compute_loss_by_hand() {
    // P = [0.25, 0.75], mu = 1, T = 2, (alpha, beta) = (1, 1):
    // 0.25 lies in step 0 -> +0.25; 0.75 in step 1 -> 0.75 - 1/2 = 0.25; total 0.5.
    let p = [0.25, 0.75];
    assert_eq!(compute_loss(&p, 1.0, 1.0, 1.0, 2, LossKind::Signed), 0.5);
    // alpha = 0.25 (steps at 0.125, 0.25): 0.25 sits on step 1's right edge -> 0.25 - 0.125 beta;
    // 0.75 is in Seg-II -> 0.75 - 0.25 beta. At beta 2: 0 + 0.25.
    assert_eq!(compute_loss(&p, 1.0, 0.25, 2.0, 2, LossKind::Signed), 0.25);
    // Seg-III: p > mu contributes mu (1 - alpha beta).
    assert_eq!(compute_loss(&[2.0], 1.0, 0.5, 1.0, 2, LossKind::Signed), 0.5);
    // Squared variant squares each term.
    assert_eq!(compute_loss(&p, 1.0, 1.0, 1.0, 2, LossKind::Squared), 0.125);
}

#[test]
fn find_scaling_factors_by_hand() {
    // From the loss above: (1,1) gives 0.5; alpha = 0.25 gives 1 - 0.375 beta, best at beta = 2 (0.25);
    // alpha = 0.75 gives the same 1 - 0.375 beta, not strictly smaller, so the first minimum stays.
    let s = find_scaling_factors(&[0.25, 0.75], 1.0, 2, LossKind::Signed);
    assert_eq!((s.alpha, s.beta, s.loss, s.loss_unscaled), (0.25, 2.0, 0.25, 0.5));
    // A single value: candidate alpha = p/mu; the loss of p in step 0 is p for every beta, so (1, 1) stays.
    let s = find_scaling_factors(&[0.5], 1.0, 1, LossKind::Signed);
    assert_eq!((s.alpha, s.beta), (1.0, 1.0));
    // Values above mu only: no alpha candidate; beta stays 1.
    let s = find_scaling_factors(&[2.0, 3.0], 1.0, 2, LossKind::Signed);
    assert_eq!((s.alpha, s.beta, s.loss), (1.0, 1.0, 0.0));
}

#[test]
fn signed_loss_can_reach_zero_where_the_squared_one_cannot() {
    // Uniform percentiles 0.01..0.99 of [0, 1]: the signed error cancels to ~0 at some
    // (alpha, beta); the squared error stays positive. Both pick an alpha <= 1.
    let p: Vec<f64> = (1..=99).map(|q| q as f64 / 100.0).collect();
    let s = find_scaling_factors(&p, 1.0, 2, LossKind::Signed);
    let m = find_scaling_factors(&p, 1.0, 2, LossKind::Squared);
    assert!(s.loss.abs() <= s.loss_unscaled.abs() && s.loss.abs() < 0.05, "{s:?}");
    assert!(m.loss > 0.0 && m.loss <= m.loss_unscaled, "{m:?}");
    assert!(s.alpha <= 1.0 && m.alpha <= 1.0);
}

#[test]
fn percentile_follows_the_k_th_smallest_convention() {
    // 100 values, one per bin of [0, 100): the q-th percentile is the k-th smallest with
    // k = 1 + round_half_even(q/100 * 99), interpolated to its bin centre.
    let hist = vec![1u32; 100];
    let p50 = percentile_from_hist(&hist, 0.0, 100.0, 100, 50.0);
    // k = 1 + round(49.5) = 1 + 50 (half to even) = 51 -> bin 50, centre 50.5.
    assert!((p50 - 50.5).abs() < 1e-9, "{p50}");
    let p1 = percentile_from_hist(&hist, 0.0, 100.0, 100, 1.0);
    assert!((p1 - 1.5).abs() < 1e-9, "{p1}");
}

/// The search as it was before issue 24: the threshold formed as alpha*mu with
/// alpha = p/mu, segments tested on values divided by T (signed loss only). Kept
/// here as the reference the literal reading must differ from.
fn old_find_scaling_factors(percentiles: &[f64], mu: f64, t: usize) -> (f64, f64) {
    let loss = |alpha: f64, beta: f64| {
        let tf = t as f64;
        let mut sum = 0.0;
        for &p in percentiles {
            for j in 0..t {
                let jf = j as f64;
                if jf * alpha * mu / tf <= p && p <= (jf + 1.0) * alpha * mu / tf {
                    sum += p - jf * alpha * beta * mu / tf;
                }
            }
            if alpha * mu < p && p <= mu {
                sum += p - alpha * beta * mu;
            } else if p > mu {
                sum += mu * (1.0 - alpha * beta);
            }
        }
        sum
    };
    let mut best = (1.0, 1.0, loss(1.0, 1.0));
    for &p in percentiles.iter().filter(|&&p| p > 0.0 && p <= mu) {
        for k in 0..=200 {
            let (alpha, beta) = (p / mu, k as f64 / 100.0);
            let l = loss(alpha, beta);
            if l.abs() < best.2.abs() {
                best = (alpha, beta, l);
            }
        }
    }
    (best.0, best.1)
}

/// The first f32 value p in (mu/2, mu) (mu an f32 too) whose threshold rebuilt
/// as (p/mu)*mu lands one f64 ulp below p, i.e. on the Seg-II side of p.
fn percentile_missed_by_alpha_times_mu(mu: f32) -> f64 {
    let mut p = 0.6 * mu;
    for _ in 0..10_000 {
        let (pf, muf) = (p as f64, mu as f64);
        if (pf / muf) * muf < pf {
            return pf;
        }
        p = f32::from_bits(p.to_bits() + 1);
    }
    panic!("no f32 p near 0.6 * {mu} with (p/mu)*mu < p");
}

#[test]
fn threshold_is_the_percentile_itself_not_alpha_times_mu() {
    let mu32 = 0.7f32;
    let mu = mu32 as f64;
    let p = percentile_missed_by_alpha_times_mu(mu32);
    assert!(p > mu / 2.0 && p < mu);
    assert!((p / mu) * mu != p, "the constructed case must have alpha*mu != p");

    // P = [p], T = 1. Literally, V = p puts p in Seg-I (0 <= 1*p <= V), whose term is p for
    // every beta: never strictly below the start's p, so (1, 1) stays. The old alpha*mu fell
    // an ulp below p, sent p to Seg-II (p - beta*alpha*mu) and found ~0 at beta = 1.
    let new = find_scaling_factors(&[p], mu, 1, LossKind::Signed);
    let old = old_find_scaling_factors(&[p], mu, 1);
    assert_eq!((new.alpha, new.beta, new.loss), (1.0, 1.0, p));
    assert_eq!(old, (p / mu, 1.0));

    // P = [p, 2 mu], T = 1. Literally, at V = p: Seg-I gives p, Seg-III gives mu - beta*p, so
    // the loss p + mu - beta*p falls with beta down to mu - p at beta = 2 (< p, the start).
    // The old arithmetic counted p in Seg-II instead: p + mu - 2 beta p, zero near
    // beta = (p + mu) / (2p), about 1.33.
    let percentiles = [p, 2.0 * mu];
    let new = find_scaling_factors(&percentiles, mu, 1, LossKind::Signed);
    let old = old_find_scaling_factors(&percentiles, mu, 1);
    assert_eq!((new.alpha, new.beta, new.loss), (p / mu, 2.0, p + (mu - 2.0 * p)));
    assert_ne!((new.alpha, new.beta), old, "the ulp must change the choice");
    assert!(old.1 > 1.0 && old.1 < 2.0, "old choice {old:?}");

    // The squared variant reads the segments the same way: p's Seg-I term is p at every beta,
    // so [p] alone keeps (1, 1) there too.
    let sq = find_scaling_factors(&[p], mu, 1, LossKind::Squared);
    assert_eq!((sq.alpha, sq.beta, sq.loss), (1.0, 1.0, p * p));

    // The heatmap's row for p is computed at V = p, not at alpha*mu rebuilt from its label.
    let (alphas, betas, grid) = loss_grid(&percentiles, mu, 1, LossKind::Signed);
    assert_eq!(alphas, vec![p / mu]);
    assert_eq!(
        grid[0][200],
        loss_at_threshold(&percentiles, mu, p, betas[200], 1, LossKind::Signed)
    );
    assert_ne!(
        grid[0][200],
        compute_loss(&percentiles, mu, p / mu, 2.0, 1, LossKind::Signed)
    );
}
