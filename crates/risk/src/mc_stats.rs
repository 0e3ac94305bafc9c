//! The MC-Forewarner's two numbers (SPEC §3 "MC-Forewarner"): catastrophic probability and
//! envelope score, over a (possibly kernel-weighted) sample of Monte-Carlo paths.
//!
//! * `catastrophic_probability` = weighted share of paths with `max_drawdown > dd_limit`.
//! * `envelope_score` = P25(final ROI) / std(final ROI), std with ddof 0 (numpy's default).
//!
//! With equal weights both reduce to the plain sample statistics; P25 is then numpy's
//! default linear percentile (docs/MC_FOREWARNER.md "Statistics").

use dolphin_engine::McReport;

/// |envelope_score| is capped here; a zero spread gives ±cap (or 0 when P25 is 0).
pub const ENVELOPE_SCORE_CAP: f64 = 1.0e6;

/// Weighted share of `max_dd` values strictly above `dd_limit` (SPEC §3). `None` when the
/// weights sum to zero or the slices are empty.
pub fn catastrophic_probability(max_dd: &[f64], weights: &[f64], dd_limit: f64) -> Option<f64> {
    assert_eq!(max_dd.len(), weights.len());
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let bad: f64 = max_dd
        .iter()
        .zip(weights)
        .filter(|(d, _)| **d > dd_limit)
        // A fold from +0.0: `Sum` for f64 starts at −0.0, which would print as "-0".
        .fold(0.0, |acc, (_, w)| acc + w);
    Some((bad / total).clamp(0.0, 1.0))
}

/// Weighted quantile `q` in [0, 1] (docs/MC_FOREWARNER.md "Statistics"): sort the values,
/// place value `i` at `p_i = (C_i − w_i/2 − w_0/2) / (W − w_0/2 − w_last/2)` where `C_i` is the
/// cumulative weight through `i` and `W` the total, and interpolate linearly in `p`. With
/// equal weights `p_i = i/(n−1)`: numpy's default linear percentile. Zero-weight values are
/// dropped. `None` when no value has weight.
pub fn weighted_quantile(values: &[f64], weights: &[f64], q: f64) -> Option<f64> {
    assert_eq!(values.len(), weights.len());
    let mut v: Vec<(f64, f64)> = values
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(x, w)| (*x, *w))
        .collect();
    if v.is_empty() {
        return None;
    }
    if v.len() == 1 {
        return Some(v[0].0);
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = v.len();
    let total: f64 = v.iter().map(|p| p.1).sum();
    let (w0, wl) = (v[0].1, v[n - 1].1);
    let denom = total - w0 / 2.0 - wl / 2.0;
    let mut cum = 0.0;
    let pos: Vec<f64> = v
        .iter()
        .map(|(_, w)| {
            cum += w;
            ((cum - w / 2.0 - w0 / 2.0) / denom).clamp(0.0, 1.0)
        })
        .collect();
    let q = q.clamp(0.0, 1.0);
    // The last i with pos[i] ≤ q, and its successor.
    let i = pos
        .partition_point(|&p| p <= q)
        .saturating_sub(1)
        .min(n - 2);
    let (p0, p1) = (pos[i], pos[i + 1]);
    let (a, b) = (v[i].0, v[i + 1].0);
    if p1 <= p0 {
        return Some(b);
    }
    let t = ((q - p0) / (p1 - p0)).clamp(0.0, 1.0);
    // numpy's _lerp branches, so equal weights give numpy's percentile to the last bit
    // whenever the position arithmetic is exact.
    Some(if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    })
}

/// Weighted mean and standard deviation with ddof 0: `sqrt(Σ w (x − μ)² / Σ w)`.
pub fn weighted_mean_std(values: &[f64], weights: &[f64]) -> Option<(f64, f64)> {
    assert_eq!(values.len(), weights.len());
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mean = values.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>() / total;
    let var = values
        .iter()
        .zip(weights)
        .map(|(x, w)| w * (x - mean) * (x - mean))
        .sum::<f64>()
        / total;
    Some((mean, var.max(0.0).sqrt()))
}

/// `envelope_score = P25(roi) / std(roi)` (SPEC §3), capped at ±[`ENVELOPE_SCORE_CAP`]; a
/// zero spread gives `sign(P25) × cap` (0 when P25 is 0). `None` without weight.
pub fn envelope_score(roi: &[f64], weights: &[f64]) -> Option<f64> {
    let p25 = weighted_quantile(roi, weights, 0.25)?;
    let (_, std) = weighted_mean_std(roi, weights)?;
    let score = if std > 0.0 {
        p25 / std
    } else if p25 == 0.0 {
        0.0
    } else {
        p25.signum() * ENVELOPE_SCORE_CAP
    };
    Some(score.clamp(-ENVELOPE_SCORE_CAP, ENVELOPE_SCORE_CAP))
}

/// Both numbers of SPEC §3 over weighted paths. `None` when no path has weight.
pub fn envelope_report(
    roi: &[f64],
    max_dd: &[f64],
    weights: &[f64],
    dd_limit: f64,
) -> Option<McReport> {
    Some(McReport {
        catastrophic_probability: catastrophic_probability(max_dd, weights, dd_limit)?,
        envelope_score: envelope_score(roi, weights)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percentile::percentile_linear;
    use proptest::prelude::*;

    #[test]
    fn hand_worked_small_table() {
        // ROI −0.2, −0.1, 0.0, 0.1, 0.3; DD 0.35, 0.31, 0.30, 0.1, 0.05.
        let roi = [0.1, -0.2, 0.3, 0.0, -0.1];
        let dd = [0.1, 0.35, 0.05, 0.30, 0.31];
        let w = [1.0; 5];
        // DD > 0.30: 0.35 and 0.31 (0.30 itself does not exceed) → 2/5.
        assert_eq!(catastrophic_probability(&dd, &w, 0.30), Some(0.4));
        // P25 at index 1 of the sorted ROI = −0.1; mean 0.02;
        // var = (0.0484 + 0.0144 + 0.0004 + 0.0064 + 0.0784)/5 = 0.0296.
        let s = envelope_score(&roi, &w).unwrap();
        assert!((s - (-0.1 / 0.0296f64.sqrt())).abs() < 1e-12, "{s}");
        assert!((s - -0.581_238_193_719_096_6).abs() < 1e-12);
    }

    #[test]
    fn hand_worked_weights() {
        // Weights 3 and 1: DD 0.4 with weight 1 → 0.25.
        assert_eq!(
            catastrophic_probability(&[0.1, 0.4], &[3.0, 1.0], 0.3),
            Some(0.25)
        );
        // Values 0, 1 with weights 1, 3: positions 0 and 1 → P25 = 0.25 by interpolation;
        // values 0, 1, 2 with weights 1, 2, 1: positions 0, 0.5, 1.
        assert_eq!(
            weighted_quantile(&[0.0, 1.0], &[1.0, 3.0], 0.25),
            Some(0.25)
        );
        assert_eq!(
            weighted_quantile(&[2.0, 0.0, 1.0], &[1.0, 1.0, 2.0], 0.25),
            Some(0.5)
        );
        // Weighted mean 0.75, var = (1·0.5625 + 3·0.0625)/4 = 0.1875.
        let (m, s) = weighted_mean_std(&[0.0, 1.0], &[1.0, 3.0]).unwrap();
        assert_eq!(m, 0.75);
        assert!((s - 0.1875f64.sqrt()).abs() < 1e-15);
        // A zero weight drops the value.
        assert_eq!(
            weighted_quantile(&[5.0, -9.0], &[1.0, 0.0], 0.25),
            Some(5.0)
        );
        assert_eq!(weighted_quantile(&[1.0], &[0.0], 0.5), None);
    }

    #[test]
    fn zero_spread() {
        let w = [1.0; 3];
        assert_eq!(envelope_score(&[0.0; 3], &w), Some(0.0));
        assert_eq!(envelope_score(&[-0.1; 3], &w), Some(-ENVELOPE_SCORE_CAP));
        assert_eq!(envelope_score(&[0.2; 3], &w), Some(ENVELOPE_SCORE_CAP));
        assert_eq!(envelope_report(&[], &[], &[], 0.3), None);
        // No catastrophe is +0, not −0.
        let p = catastrophic_probability(&[0.1, 0.2], &[1.0, 1.0], 0.3).unwrap();
        assert!(p == 0.0 && p.is_sign_positive());
    }

    proptest! {
        #[test]
        fn equal_weights_give_numpy_percentile(
            v in proptest::collection::vec(-1.0f64..1.0, 1..60), q in 0.0f64..=1.0,
        ) {
            let w = vec![2.5; v.len()];
            let got = weighted_quantile(&v, &w, q).unwrap();
            let want = percentile_linear(&v, q * 100.0).unwrap();
            prop_assert!((got - want).abs() < 1e-12, "{} vs {}", got, want);
        }

        #[test]
        fn probability_and_quantile_bounds(
            v in proptest::collection::vec((-1.0f64..1.0, 0.0f64..1.0, 0.0f64..3.0), 1..60),
            q in 0.0f64..=1.0,
        ) {
            let x: Vec<f64> = v.iter().map(|t| t.0).collect();
            let d: Vec<f64> = v.iter().map(|t| t.1).collect();
            let w: Vec<f64> = v.iter().map(|t| t.2).collect();
            if let Some(p) = catastrophic_probability(&d, &w, 0.3) {
                prop_assert!((0.0..=1.0).contains(&p));
            }
            if let Some(y) = weighted_quantile(&x, &w, q) {
                let lo = x.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(y >= lo && y <= hi);
            }
        }
    }
}
