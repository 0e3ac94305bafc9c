//! Impulse Response Profiling, IRP (seeds B §5, SPEC §5 "IRP"): rank assets by their last 50
//! prices in the regime direction and pick the best-scoring asset that passes every gate.

use dolphin_core::Direction;

/// The IRP metrics of one price segment in one direction (B §5.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IrpMetrics {
    /// Maximum favourable excursion: max of the cumulative directional differences.
    pub mfe: f64,
    /// Maximum adverse excursion: |min(min cumulative, 0)|.
    pub mae: f64,
    /// `mfe / (mae + 1e-6)`.
    pub efficiency: f64,
    /// Share of directional differences > 0.
    pub alignment: f64,
    /// Population variance of the directional differences.
    pub noise: f64,
    /// Smallest k ≥ 1 with cumulative[k−1] ≥ 0.1·mfe; 50 when mfe ≤ 0.
    pub latency: u32,
}

/// Asset Ranking Score (B §5.3): `0.5·ln(1+efficiency) + 0.35·alignment − 0.15·noise·1000`.
#[inline]
pub fn ars(m: &IrpMetrics) -> f64 {
    0.5 * m.efficiency.ln_1p() + 0.35 * m.alignment - 0.15 * m.noise * 1000.0
}

/// `compute_irp_nb` (B §5.2) on a price segment: differences `(p[i+1] − p[i]) × direction`
/// (raw price differences, SPEC §5), their cumulative sum and the metrics above.
pub fn compute_irp(segment: &[f64], direction: Direction) -> IrpMetrics {
    let n_ret = segment.len().saturating_sub(1);
    let d = direction.sign();
    let mut cum = 0.0;
    let mut max_cum = f64::NEG_INFINITY;
    let mut min_cum = f64::INFINITY;
    let mut positive = 0usize;
    let mut sum = 0.0;
    for w in segment.windows(2) {
        let r = (w[1] - w[0]) * d;
        cum += r;
        max_cum = max_cum.max(cum);
        min_cum = min_cum.min(cum);
        if r > 0.0 {
            positive += 1;
        }
        sum += r;
    }
    if n_ret == 0 {
        return IrpMetrics {
            mfe: 0.0,
            mae: 0.0,
            efficiency: 0.0,
            alignment: 0.0,
            noise: 0.0,
            latency: 50,
        };
    }
    let mean = sum / n_ret as f64;
    let mut ss = 0.0;
    for w in segment.windows(2) {
        let dev = (w[1] - w[0]) * d - mean;
        ss += dev * dev;
    }
    let noise = ss / n_ret as f64;
    let mfe = max_cum;
    let mae = min_cum.min(0.0).abs();
    let latency = latency(segment, d, mfe);
    IrpMetrics {
        mfe,
        mae,
        efficiency: mfe / (mae + 1e-6),
        alignment: positive as f64 / n_ret as f64,
        noise,
        latency,
    }
}

/// Smallest k ≥ 1 with cumulative[k−1] ≥ 0.1·mfe of the directional differences (sign `d`);
/// 50 when mfe ≤ 0 (SPEC §5).
fn latency(segment: &[f64], d: f64, mfe: f64) -> u32 {
    if mfe <= 0.0 {
        return 50;
    }
    let target = 0.1 * mfe;
    let mut c = 0.0;
    for (i, w) in segment.windows(2).enumerate() {
        c += (w[1] - w[0]) * d;
        if c >= target {
            return i as u32 + 1;
        }
    }
    50
}

/// One asset's ranking entry (`rank_assets_irp_nb`, B §5.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IrpRanking {
    /// Position of the asset among the candidates passed in.
    pub index: usize,
    /// ARS of the winning side.
    pub ars: f64,
    /// The side to trade: the regime direction when the direct side won (ties go to
    /// direct), the opposite side when the inverse side won.
    pub action: Direction,
    /// Metrics of the winning side.
    pub metrics: IrpMetrics,
}

/// Kernel filter gates of B §5.4 step 4.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IrpGates {
    pub max_noise: f64,
    pub max_latency: u32,
    pub min_alignment: f64,
}

/// Scores one segment both ways and returns the winning side, or `None` when the winning
/// side fails a kernel gate (noise > max, latency > max, alignment < min).
pub fn rank_segment(
    index: usize,
    segment: &[f64],
    direction: Direction,
    gates: &IrpGates,
) -> Option<IrpRanking> {
    let direct = compute_irp(segment, direction);
    let inverse = compute_irp(segment, direction.flip());
    let (ars_d, ars_i) = (ars(&direct), ars(&inverse));
    let (metrics, score, action) = if ars_i > ars_d {
        (inverse, ars_i, direction.flip())
    } else {
        (direct, ars_d, direction)
    };
    if metrics.noise > gates.max_noise
        || metrics.latency > gates.max_latency
        || metrics.alignment < gates.min_alignment
    {
        return None;
    }
    Some(IrpRanking {
        index,
        ars: score,
        action,
        metrics,
    })
}

/// The direct side's ranking when it can be traded, computed in one pass for both sides:
/// `Some` only when the direct side wins (ARS direct ≥ ARS inverse), passes the kernel gates
/// and has alignment ≥ `min_walk_alignment`. Bit-identical to [`rank_segment`] followed by the
/// walk's alignment and direction gates (an inverse winner is never traded), but skips work
/// for assets that cannot be selected.
pub fn rank_tradable(
    index: usize,
    segment: &[f64],
    direction: Direction,
    gates: &IrpGates,
    min_walk_alignment: f64,
) -> Option<IrpRanking> {
    let n_ret = segment.len().checked_sub(1).filter(|&n| n > 0)?;
    let d = direction.sign();
    let (mut cum, mut max_cum, mut min_cum) = (0.0, f64::NEG_INFINITY, f64::INFINITY);
    let (mut pos, mut neg, mut sum) = (0usize, 0usize, 0.0);
    for w in segment.windows(2) {
        let r = (w[1] - w[0]) * d;
        cum += r;
        max_cum = max_cum.max(cum);
        min_cum = min_cum.min(cum);
        pos += usize::from(r > 0.0);
        neg += usize::from(r < 0.0);
        sum += r;
    }
    let n = n_ret as f64;
    let alignment = pos as f64 / n;
    if alignment < gates.min_alignment
        || (min_walk_alignment > 0.0 && alignment < min_walk_alignment)
    {
        return None;
    }
    let mean = sum / n;
    let mut ss = 0.0;
    for w in segment.windows(2) {
        let dev = (w[1] - w[0]) * d - mean;
        ss += dev * dev;
    }
    let noise = ss / n;
    if noise > gates.max_noise {
        return None;
    }
    let (mfe, mae) = (max_cum, min_cum.min(0.0).abs());
    let direct = IrpMetrics {
        mfe,
        mae,
        efficiency: mfe / (mae + 1e-6),
        alignment,
        noise,
        latency: 0,
    };
    // The inverse side: cumulative sums negate exactly, so its extremes swap sign.
    let (mfe_i, mae_i) = (-min_cum, (-max_cum).min(0.0).abs());
    let inverse = IrpMetrics {
        mfe: mfe_i,
        mae: mae_i,
        efficiency: mfe_i / (mae_i + 1e-6),
        alignment: neg as f64 / n,
        noise,
        latency: 0,
    };
    let score = ars(&direct);
    if ars(&inverse) > score {
        return None;
    }
    let latency = latency(segment, d, mfe);
    if latency > gates.max_latency {
        return None;
    }
    Some(IrpRanking {
        index,
        ars: score,
        action: direction,
        metrics: IrpMetrics { latency, ..direct },
    })
}

/// Sorts rankings by ARS descending, stable on the candidates' order (SPEC §5).
pub fn sort_rankings(rankings: &mut [IrpRanking]) {
    rankings.sort_by(|a, b| b.ars.total_cmp(&a.ars));
}

/// OB-1 (B §5.5, §9.4 "ARS adjusted ±5 %/10 % by depth quality"): depth_quality > 1.5 → +10 %,
/// > 1.2 → +5 %, < 0.5 → −10 %, < 0.8 → −5 %, else 0.
pub fn ob_ars_adjustment(depth_quality: f64) -> f64 {
    if depth_quality > 1.5 {
        0.10
    } else if depth_quality > 1.2 {
        0.05
    } else if depth_quality < 0.5 {
        -0.10
    } else if depth_quality < 0.8 {
        -0.05
    } else {
        0.0
    }
}

/// The ARS after OB-1: `ars + |ars| × adjustment`, and whether an adjustment applied.
#[inline]
pub fn ob_adjusted_ars(ars: f64, depth_quality: f64) -> (f64, bool) {
    let adj = ob_ars_adjustment(depth_quality);
    if adj != 0.0 {
        (ars + ars.abs() * adj, true)
    } else {
        (ars, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irp_metrics_on_a_hand_made_series() {
        // Prices 10, 9, 9.5, 8, 8.5 → diffs −1, 0.5, −1.5, 0.5; SHORT flips them:
        // r = 1, −0.5, 1.5, −0.5; cum = 1, 0.5, 2, 1.5.
        let seg = [10.0, 9.0, 9.5, 8.0, 8.5];
        let m = compute_irp(&seg, Direction::Short);
        assert_eq!(m.mfe, 2.0);
        assert_eq!(m.mae, 0.0);
        assert_eq!(m.efficiency, 2.0 / 1e-6);
        assert_eq!(m.alignment, 0.5);
        // mean 0.375; deviations 0.625, −0.875, 1.125, −0.875 → var = 3.1875/4
        assert!((m.noise - 0.796875).abs() < 1e-15);
        // 0.1·mfe = 0.2: cum[0] = 1 ≥ 0.2 → latency 1
        assert_eq!(m.latency, 1);
        let a = 0.5 * (2.0f64 / 1e-6).ln_1p() + 0.35 * 0.5 - 0.15 * 0.796875 * 1000.0;
        assert_eq!(ars(&m), a);

        // LONG on the same series: r = −1, 0.5, −1.5, 0.5; cum = −1, −0.5, −2, −1.5.
        let l = compute_irp(&seg, Direction::Long);
        assert_eq!(l.mfe, -0.5);
        assert_eq!(l.mae, 2.0);
        assert!((l.efficiency - (-0.5 / (2.0 + 1e-6))).abs() < 1e-15);
        assert_eq!(l.alignment, 0.5);
        assert_eq!(l.latency, 50);
    }

    #[test]
    fn latency_counts_bars_to_ten_percent_of_mfe() {
        // SHORT r = −0.1, 0.05, 0.3, 0.9 → cum −0.1, −0.05, 0.25, 1.15; 0.1·mfe = 0.115 → k = 3
        let seg = [10.0, 10.1, 10.05, 9.75, 8.85];
        let m = compute_irp(&seg, Direction::Short);
        assert_eq!(m.latency, 3);
        assert!((m.mae - 0.1).abs() < 1e-12);
    }

    #[test]
    fn ranking_prefers_direct_on_ties_and_filters_winner() {
        let gates = IrpGates {
            max_noise: 500.0,
            max_latency: 20,
            min_alignment: 0.20,
        };
        // Flat prices: both sides identical → direct wins, but latency 50 fails the gate.
        assert_eq!(rank_segment(0, &[1.0; 50], Direction::Short, &gates), None);
        // Steadily falling prices: SHORT direct wins.
        let falling: Vec<f64> = (0..50).map(|i| 100.0 - 0.01 * i as f64).collect();
        let r = rank_segment(3, &falling, Direction::Short, &gates).unwrap();
        assert_eq!(r.action, Direction::Short);
        assert_eq!(r.index, 3);
        assert_eq!(r.metrics.alignment, 1.0);
        // Rising prices: the inverse side wins, action LONG.
        let rising: Vec<f64> = (0..50).map(|i| 100.0 + 0.01 * i as f64).collect();
        let r = rank_segment(0, &rising, Direction::Short, &gates).unwrap();
        assert_eq!(r.action, Direction::Long);
        // Very noisy (raw differences of 100): noise > 500 → filtered.
        let noisy: Vec<f64> = (0..50)
            .map(|i| 1000.0 + if i % 2 == 0 { 0.0 } else { 100.0 } - i as f64)
            .collect();
        assert_eq!(rank_segment(0, &noisy, Direction::Short, &gates), None);
    }

    proptest::proptest! {
        #[test]
        fn fast_path_equals_rank_then_walk(
            steps in proptest::collection::vec(-3i32..=3, 49),
            scale in proptest::sample::select(vec![0.001, 0.01, 1.0, 40.0]),
            short in proptest::bool::ANY,
            walk in proptest::sample::select(vec![0.0, 0.45]),
        ) {
            let dir = if short { Direction::Short } else { Direction::Long };
            let mut p = vec![100.0];
            for s in &steps {
                let last = *p.last().unwrap();
                p.push(last + f64::from(*s) * scale);
            }
            let gates = IrpGates { max_noise: 500.0, max_latency: 20, min_alignment: 0.20 };
            let slow = rank_segment(0, &p, dir, &gates)
                .filter(|r| !(walk > 0.0 && r.metrics.alignment < walk))
                .filter(|r| r.action == dir);
            let fast = rank_tradable(0, &p, dir, &gates, walk);
            proptest::prop_assert_eq!(slow, fast);
        }
    }

    #[test]
    fn sort_is_stable_descending() {
        let m = compute_irp(&[1.0, 0.9], Direction::Short);
        let mk = |index, ars| IrpRanking {
            index,
            ars,
            action: Direction::Short,
            metrics: m,
        };
        let mut v = vec![mk(0, 1.0), mk(1, 2.0), mk(2, 1.0), mk(3, 2.0)];
        sort_rankings(&mut v);
        let order: Vec<usize> = v.iter().map(|r| r.index).collect();
        assert_eq!(order, vec![1, 3, 0, 2]);
    }

    #[test]
    fn ob1_ars_adjustment_golden() {
        assert_eq!(ob_ars_adjustment(1.51), 0.10);
        assert_eq!(ob_ars_adjustment(1.5), 0.05);
        assert_eq!(ob_ars_adjustment(1.2), 0.0);
        assert_eq!(ob_ars_adjustment(0.8), 0.0);
        assert_eq!(ob_ars_adjustment(0.79), -0.05);
        assert_eq!(ob_ars_adjustment(0.49), -0.10);
        // A negative ARS moves by |ARS|: −0.2 at +10 % → −0.18; at −10 % → −0.22.
        assert_eq!(ob_adjusted_ars(-0.2, 2.0), (-0.2 + 0.2 * 0.10, true));
        assert_eq!(ob_adjusted_ars(0.4, 0.3), (0.4 - 0.4 * 0.10, true));
        assert_eq!(ob_adjusted_ars(0.4, 1.0), (0.4, false));
    }
}
