//! Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV;
//! Bailey, Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting",
//! J. Computational Finance 20(4), 2017).
//!
//! The T × N matrix of per-period returns (T days, N configurations) is cut into S contiguous
//! blocks of days (S even). For every one of the C(S, S/2) ways to pick S/2 blocks as the
//! training set J (the rest J̄ is the test set): the configuration n* with the best
//! training performance is found; ω̄ = rank of n*'s test performance among all N (1 = worst,
//! ties share their average rank) / (N + 1); λ = ln(ω̄ / (1 − ω̄)). PBO = share of the
//! combinations with λ ≤ 0 — the configuration chosen in sample ranks at or below the median
//! out of sample.
//!
//! Decisions (`docs/RESEARCH.md`): performance = per-period Sharpe (mean / std ddof 1; 0 when
//! the std is 0); blocks are as even as possible (the first T mod S blocks hold one day
//! more); a tie for best training performance goes to the lower configuration index.

use crate::error::ResearchError;
use crate::stats::{mean, std_ddof1};
use serde::Serialize;

/// The CSCV result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pbo {
    pub blocks: usize,
    pub combinations: usize,
    pub configurations: usize,
    /// Share of combinations with λ ≤ 0.
    pub pbo: f64,
    /// Median of λ.
    pub median_logit: f64,
}

/// Per-period Sharpe, 0 when undefined (constant returns).
pub fn sharpe_or_zero(x: &[f64]) -> f64 {
    let s = std_ddof1(x);
    if s.is_finite() && s > 0.0 {
        mean(x) / s
    } else {
        0.0
    }
}

/// PBO of `returns` (one series of T values per configuration) with `s` blocks, performance
/// measured by `perf`.
pub fn pbo(returns: &[Vec<f64>], s: usize, perf: fn(&[f64]) -> f64) -> Result<Pbo, ResearchError> {
    let n = returns.len();
    let t = returns.first().map_or(0, |r| r.len());
    if n < 2 {
        return Err(ResearchError::Folds(
            "PBO needs at least 2 configurations".into(),
        ));
    }
    if returns.iter().any(|r| r.len() != t) {
        return Err(ResearchError::Folds(
            "PBO: return series of different lengths".into(),
        ));
    }
    if s < 2 || s % 2 == 1 || s > t {
        return Err(ResearchError::Folds(format!(
            "PBO needs an even number of blocks between 2 and the number of days ({t}); got {s}"
        )));
    }
    // Block b covers rows bounds[b]..bounds[b+1].
    let mut bounds = vec![0usize];
    for b in 0..s {
        let len = t / s + usize::from(b < t % s);
        bounds.push(bounds[b] + len);
    }
    let mut logits = Vec::new();
    for combo in combinations(s, s / 2) {
        let mut in_train = vec![false; s];
        for &b in &combo {
            in_train[b] = true;
        }
        let pick = |train: bool, r: &[f64]| -> Vec<f64> {
            (0..s)
                .filter(|&b| in_train[b] == train)
                .flat_map(|b| r[bounds[b]..bounds[b + 1]].iter().copied())
                .collect()
        };
        let train: Vec<f64> = returns.iter().map(|r| perf(&pick(true, r))).collect();
        let test: Vec<f64> = returns.iter().map(|r| perf(&pick(false, r))).collect();
        let mut best = 0;
        for (i, &v) in train.iter().enumerate() {
            if v > train[best] {
                best = i;
            }
        }
        let x = test[best];
        let below = test.iter().filter(|&&v| v < x).count() as f64;
        let equal = test.iter().filter(|&&v| v == x).count() as f64;
        let rank = below + (equal + 1.0) / 2.0;
        let w = rank / (n as f64 + 1.0);
        logits.push((w / (1.0 - w)).ln());
    }
    let c = logits.len();
    let overfit = logits.iter().filter(|&&l| l <= 0.0).count();
    let mut sorted = logits.clone();
    sorted.sort_by(f64::total_cmp);
    let median_logit = if c % 2 == 1 {
        sorted[c / 2]
    } else {
        (sorted[c / 2 - 1] + sorted[c / 2]) / 2.0
    };
    Ok(Pbo {
        blocks: s,
        combinations: c,
        configurations: n,
        pbo: overfit as f64 / c as f64,
        median_logit,
    })
}

/// All k-subsets of 0..n in lexicographic order.
pub fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    if k > n {
        return out;
    }
    loop {
        out.push(cur.clone());
        let mut i = k;
        loop {
            if i == 0 {
                return out;
            }
            i -= 1;
            if cur[i] < n - k + i {
                break;
            }
            if i == 0 {
                return out;
            }
        }
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: &[f64]) -> f64 {
        mean(x)
    }

    #[test]
    fn combinations_count() {
        assert_eq!(combinations(4, 2).len(), 6);
        assert_eq!(combinations(8, 4).len(), 70);
        assert_eq!(combinations(16, 8).len(), 12870);
        assert_eq!(combinations(4, 2)[0], vec![0, 1]);
        assert_eq!(combinations(4, 2)[5], vec![2, 3]);
        assert_eq!(combinations(2, 1), vec![vec![0], vec![1]]);
    }

    /// Worked by hand, performance = mean, S = 2 (blocks days 0–1 and 2–3):
    /// A = [1,1,1,1], B = [2,2,0,0], C = [0,0,.5,.5], D = [0,0,0,0].
    /// Train block 0: means A 1, B 2, C 0, D 0 → n* = B; test block 1: A 1, B 0, C .5, D 0 →
    /// B ties D at the bottom: rank (1+2)/2 = 1.5, ω = 1.5/5 = .3, λ = ln(.3/.7) < 0 (overfit).
    /// Train block 1: A 1, B 0, C .5, D 0 → n* = A; test block 0: A 1, B 2, C 0, D 0 →
    /// A rank 3, ω = 3/5, λ = ln 1.5 > 0. PBO = 1/2; median λ = (ln(3/7) + ln 1.5)/2.
    #[test]
    fn golden_pbo_worked_by_hand() {
        let r = vec![
            vec![1.0, 1.0, 1.0, 1.0],
            vec![2.0, 2.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.5, 0.5],
            vec![0.0, 0.0, 0.0, 0.0],
        ];
        let p = pbo(&r, 2, m).unwrap();
        assert_eq!(p.combinations, 2);
        assert_eq!(p.pbo, 0.5);
        let expect = ((0.3f64 / 0.7).ln() + 1.5f64.ln()) / 2.0;
        assert!((p.median_logit - expect).abs() < 1e-15);
        // A configuration that is best everywhere: never overfit (λ = ln 4 each time).
        let mut r2 = r.clone();
        r2.push(vec![3.0; 4]);
        let p = pbo(&r2, 4, m).unwrap();
        assert_eq!((p.combinations, p.pbo), (6, 0.0));
        assert!((p.median_logit - (5.0f64 / 6.0 / (1.0 / 6.0)).ln()).abs() < 1e-12);
        // Anti-persistent configurations: the in-sample winner always loses.
        let r3 = vec![
            vec![4.0, 0.0, 0.0, 0.0],
            vec![0.0, 3.0, 0.0, 1.0],
            vec![1.0, 1.0, 1.0, 1.0],
        ];
        assert_eq!(pbo(&r3, 4, m).unwrap().pbo, 1.0);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let r = vec![vec![1.0; 4], vec![2.0; 4]];
        assert!(pbo(&r, 3, m).is_err());
        assert!(pbo(&r, 6, m).is_err());
        assert!(pbo(&r[..1], 2, m).is_err());
        assert!(pbo(&[vec![1.0; 4], vec![1.0; 3]], 2, m).is_err());
        assert_eq!(sharpe_or_zero(&[1.0, 1.0]), 0.0);
    }
}
