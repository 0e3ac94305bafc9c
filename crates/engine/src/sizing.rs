//! AlphaBetSizer (seeds B §6): signal strength, cubic-convex leverage, signal buckets and the
//! alpha layers (bucket boost, streak, trend) with their running statistics and `vd_trend`,
//! the effective fraction, and the leverage product and ACB leverage clamp (B §6.5, SPEC
//! D4/D12, §5 "Alpha layers").

use crate::signal::{at_or_beyond, strength};
use dolphin_core::Direction;
use std::collections::VecDeque;

/// Dynamic leverage `min + strength^convexity × (max − min)` (B §6.2).
#[inline]
pub fn dynamic_leverage(strength: f64, min_lev: f64, max_lev: f64, convexity: f64) -> f64 {
    let scaled = strength.powf(convexity);
    min_lev + scaled * (max_lev - min_lev)
}

/// Signal bucket (B §6.3): 0 extreme (beyond 1.5 × extreme), 1 strong (beyond extreme),
/// 2 moderate (beyond the midpoint of threshold and extreme), 3 weak. "Beyond" is ≤ for SHORT,
/// ≥ for LONG; bounds as written (−0.035 is bucket 2).
pub fn signal_bucket(vel_div: f64, threshold: f64, extreme: f64, direction: Direction) -> u8 {
    if at_or_beyond(vel_div, extreme * 1.5, direction) {
        0
    } else if at_or_beyond(vel_div, extreme, direction) {
        1
    } else if at_or_beyond(vel_div, (threshold + extreme) / 2.0, direction) {
        2
    } else {
        3
    }
}

/// Bucket boost from the bucket's win rate (B §6.4): > 0.60 → 1.3, > 0.55 → 1.1,
/// < 0.40 → 0.7, < 0.45 → 0.85, else 1.0. Only once the bucket has ≥ 5 closed trades.
pub fn bucket_boost(wins: u32, trades: u32) -> f64 {
    if trades < 5 {
        return 1.0;
    }
    let wr = f64::from(wins) / f64::from(trades);
    if wr > 0.60 {
        1.3
    } else if wr > 0.55 {
        1.1
    } else if wr < 0.40 {
        0.7
    } else if wr < 0.45 {
        0.85
    } else {
        1.0
    }
}

/// Streak multiplier from the losses (net ≤ 0) among the last `window` (champion 5) closed
/// trades (B §6.4): ≥ 4 → 0.5, ≥ 3 → 0.7, ≤ 1 → 1.1, else 1.0. Only once ≥ `window` trades
/// have closed.
pub fn streak_mult(recent_losses: u32, closed_trades: usize, window: usize) -> f64 {
    if closed_trades < window {
        return 1.0;
    }
    match recent_losses {
        l if l >= 4 => 0.5,
        3 => 0.7,
        l if l <= 1 => 1.1,
        _ => 1.0,
    }
}

/// `vd_trend = h[−1] − h[−window]` over the vel_div history including the current bar (B §6.4,
/// SPEC §5–§6; champion window 10); NaN with fewer than `window` values.
pub fn vd_trend(history: &VecDeque<f64>, window: usize) -> f64 {
    let n = history.len();
    if n >= window && window > 0 {
        history[n - 1] - history[n - window]
    } else {
        f64::NAN
    }
}

/// Trend multiplier from `vd_trend = h[−1] − h[−10]` (B §6.4): deepening instability (SHORT:
/// < −0.01) → 1.3, recovering (> 0.01) → 0.7; LONG mirrored. NaN → 1.0.
pub fn trend_mult(vd_trend: f64, direction: Direction) -> f64 {
    let t = match direction {
        Direction::Short => vd_trend,
        Direction::Long => -vd_trend,
    };
    if t < -0.01 {
        1.3
    } else if t > 0.01 {
        0.7
    } else {
        1.0
    }
}

/// The sizer's output for one signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeResult {
    pub strength: f64,
    pub leverage: f64,
    pub fraction: f64,
    pub bucket: u8,
    pub is_extreme: bool,
    pub bucket_boost: f64,
    pub streak_mult: f64,
    pub trend_mult: f64,
}

/// Inputs of the alpha layers at the time of a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaState {
    pub bucket_wins: [u32; 4],
    pub bucket_trades: [u32; 4],
    /// Losses among the last `streak_window` closed trades.
    pub recent_losses: u32,
    pub closed_trades: usize,
    /// The streak window (champion 5).
    pub streak_window: usize,
    pub vd_trend: f64,
}

/// The running statistics of the alpha layers (B §6.4, SPEC §6): wins and trades per signal
/// bucket (cumulative over the run; win = net > 0) and the loss flags (net ≤ 0) of the last
/// closed trades.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlphaStats {
    pub bucket_wins: [u32; 4],
    pub bucket_trades: [u32; 4],
    /// Loss flags of the last `streak_window` closed trades, oldest first.
    pub recent_losses: VecDeque<bool>,
}

impl AlphaStats {
    /// Records a closed trade of signal bucket `bucket` with net pnl `net`.
    pub fn record(&mut self, bucket: u8, net: f64, streak_window: usize) {
        let b = usize::from(bucket);
        self.bucket_trades[b] += 1;
        if net > 0.0 {
            self.bucket_wins[b] += 1;
        }
        self.recent_losses.push_back(net <= 0.0);
        if self.recent_losses.len() > streak_window {
            self.recent_losses.pop_front();
        }
    }

    /// The sizer's view after `closed_trades` trades, with the current `vd_trend`.
    pub fn state(&self, closed_trades: usize, streak_window: usize, vd_trend: f64) -> AlphaState {
        AlphaState {
            bucket_wins: self.bucket_wins,
            bucket_trades: self.bucket_trades,
            recent_losses: self.recent_losses.iter().filter(|&&l| l).count() as u32,
            closed_trades,
            streak_window,
            vd_trend,
        }
    }
}

/// Parameters of the sizer (a view of the engine config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizerParams {
    pub threshold: f64,
    pub extreme: f64,
    pub direction: Direction,
    pub min_leverage: f64,
    pub max_leverage: f64,
    pub convexity: f64,
    pub base_fraction: f64,
    pub use_dynamic_leverage: bool,
    pub use_alpha_layers: bool,
}

/// `compute_sizing_nb` + alpha layers (B §6.1–6.4).
pub fn calculate_size(vel_div: f64, p: &SizerParams, alpha: &AlphaState) -> SizeResult {
    let is_extreme = at_or_beyond(vel_div, p.extreme, p.direction);
    let s = if is_extreme {
        1.0
    } else {
        strength(vel_div, p.threshold, p.extreme)
    };
    let leverage = if p.use_dynamic_leverage {
        dynamic_leverage(s, p.min_leverage, p.max_leverage, p.convexity)
    } else {
        p.max_leverage
    };
    let bucket = signal_bucket(vel_div, p.threshold, p.extreme, p.direction);
    let (bb, sm, tm) = if p.use_alpha_layers {
        let b = bucket as usize;
        (
            bucket_boost(alpha.bucket_wins[b], alpha.bucket_trades[b]),
            streak_mult(
                alpha.recent_losses,
                alpha.closed_trades,
                alpha.streak_window,
            ),
            trend_mult(alpha.vd_trend, p.direction),
        )
    } else {
        (1.0, 1.0, 1.0)
    };
    let confidence = if is_extreme { 0.70 } else { 0.55 };
    let conf_mult = confidence / 0.95;
    let extreme_boost = if is_extreme { 2.0 } else { 1.0 };
    let base_frac = 0.02 + s * (p.base_fraction - 0.02);
    let fraction =
        (base_frac * conf_mult * extreme_boost * tm * bb * sm).clamp(0.02, p.base_fraction);
    SizeResult {
        strength: s,
        leverage,
        fraction,
        bucket,
        is_extreme,
        bucket_boost: bb,
        streak_mult: sm,
        trend_mult: tm,
    }
}

/// `regime_size_mult` (B §6.5, §10.4): `base_boost × (1 + beta × strength³) × mc_scale` when
/// beta > 0, else `base_boost × mc_scale`.
pub fn regime_size_mult(
    vel_div: f64,
    threshold: f64,
    extreme: f64,
    convexity: f64,
    base_boost: f64,
    beta: f64,
    mc_scale: f64,
) -> f64 {
    if beta > 0.0 {
        let strength_cubic = strength(vel_div, threshold, extreme).powf(convexity);
        base_boost * (1.0 + beta * strength_cubic) * mc_scale
    } else {
        base_boost * mc_scale
    }
}

/// The leverage ceiling (B §6.5 with SPEC D4/D12): `min(max_leverage × rsm × ob_mult,
/// abs_max_eff)`, and at most `stalker_cap` under STALKER.
pub fn leverage_ceiling(
    max_leverage: f64,
    regime_size_mult: f64,
    market_ob_mult: f64,
    abs_max_eff: f64,
    stalker_cap: Option<f64>,
) -> f64 {
    let c = (max_leverage * regime_size_mult * market_ob_mult).min(abs_max_eff);
    match stalker_cap {
        Some(cap) => c.min(cap),
        None => c,
    }
}

/// The leverage product (B §6.5, §13.3): the sizer's leverage × the DC leverage boost ×
/// `regime_size_mult` × the OB-3 market multiplier, multiplied in that order.
#[inline]
pub fn raw_leverage(size_leverage: f64, dc_mult: f64, regime_size_mult: f64, ob_mult: f64) -> f64 {
    size_leverage * dc_mult * regime_size_mult * ob_mult
}

/// `final_leverage = max(min_leverage, min(raw, ceiling))` (SPEC §6).
#[inline]
pub fn clamp_leverage(raw: f64, min_leverage: f64, ceiling: f64) -> f64 {
    min_leverage.max(raw.min(ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: f64 = -0.02;
    const E: f64 = -0.05;

    fn params() -> SizerParams {
        SizerParams {
            threshold: T,
            extreme: E,
            direction: Direction::Short,
            min_leverage: 0.5,
            max_leverage: 5.0,
            convexity: 3.0,
            base_fraction: 0.20,
            use_dynamic_leverage: true,
            use_alpha_layers: true,
        }
    }

    fn fresh() -> AlphaState {
        AlphaState {
            bucket_wins: [0; 4],
            bucket_trades: [0; 4],
            recent_losses: 0,
            closed_trades: 0,
            streak_window: 5,
            vd_trend: f64::NAN,
        }
    }

    #[test]
    fn leverage_golden() {
        assert_eq!(dynamic_leverage(0.0, 0.5, 5.0, 3.0), 0.5);
        assert_eq!(dynamic_leverage(1.0, 0.5, 5.0, 3.0), 5.0);
        // strength 0.5 → 0.125 × 4.5 = 0.5625 → 1.0625
        assert_eq!(dynamic_leverage(0.5, 0.5, 5.0, 3.0), 1.0625);
    }

    #[test]
    fn buckets_golden() {
        let b = |vd| signal_bucket(vd, T, E, Direction::Short);
        // extreme × 1.5 is −0.07500000000000001 in f64: −0.075 itself is "strong".
        assert_eq!(b(-0.0751), 0);
        assert_eq!(b(-0.075), 1);
        assert_eq!(b(-0.0749), 1);
        assert_eq!(b(-0.05), 1);
        assert_eq!(b(-0.0499), 2);
        assert_eq!(b(-0.035), 2);
        assert_eq!(b(-0.0349), 3);
        assert_eq!(b(-0.021), 3);
        let l = |vd| signal_bucket(vd, 0.01, 0.04, Direction::Long);
        assert_eq!(l(0.06), 0);
        assert_eq!(l(0.045), 1);
        assert_eq!(l(0.03), 2);
        assert_eq!(l(0.02), 3);
    }

    #[test]
    fn multipliers_golden() {
        assert_eq!(bucket_boost(4, 4), 1.0); // fewer than 5 trades
        assert_eq!(bucket_boost(4, 6), 1.3); // 0.667
        assert_eq!(bucket_boost(3, 5), 1.1); // 0.60 is not > 0.60, but > 0.55
        assert_eq!(bucket_boost(7, 12), 1.1); // 0.583
        assert_eq!(bucket_boost(1, 5), 0.7); // 0.20
        assert_eq!(bucket_boost(2, 5), 0.85); // 0.40
        assert_eq!(bucket_boost(9, 20), 1.0); // 0.45
        assert_eq!(streak_mult(5, 4, 5), 1.0);
        assert_eq!(streak_mult(4, 5, 5), 0.5);
        assert_eq!(streak_mult(3, 9, 5), 0.7);
        assert_eq!(streak_mult(2, 9, 5), 1.0);
        assert_eq!(streak_mult(1, 9, 5), 1.1);
        assert_eq!(streak_mult(0, 9, 5), 1.1);
        assert_eq!(trend_mult(-0.011, Direction::Short), 1.3);
        assert_eq!(trend_mult(-0.01, Direction::Short), 1.0);
        assert_eq!(trend_mult(0.011, Direction::Short), 0.7);
        assert_eq!(trend_mult(f64::NAN, Direction::Short), 1.0);
        assert_eq!(trend_mult(0.011, Direction::Long), 1.3);
    }

    #[test]
    fn fraction_golden() {
        // vd = −0.035: strength 0.5, not extreme → base 0.02 + 0.5×0.18 = 0.11;
        // × 0.55/0.95 = 0.0636842…
        let r = calculate_size(-0.035, &params(), &fresh());
        assert!((r.strength - 0.5).abs() < 1e-12);
        let expect = (0.02 + r.strength * (0.20 - 0.02)) * (0.55 / 0.95) * 1.0 * 1.0 * 1.0 * 1.0;
        assert_eq!(r.fraction, expect);
        assert!((r.fraction - 0.063_684_210_526_315_8).abs() < 1e-9);
        assert_eq!(r.bucket, 2);
        // Extreme: base 0.20 × 0.70/0.95 × 2 = 0.2947 → clamped to 0.20.
        let r = calculate_size(-0.06, &params(), &fresh());
        assert!(r.is_extreme);
        assert_eq!(r.fraction, 0.20);
        assert_eq!(r.leverage, 5.0);
        // Weak signal with a losing streak: 0.02 floor.
        let mut a = fresh();
        a.closed_trades = 10;
        a.recent_losses = 5;
        let r = calculate_size(-0.0201, &params(), &a);
        assert_eq!(r.fraction, 0.02);
        assert_eq!(r.streak_mult, 0.5);
    }

    #[test]
    fn regime_mult_and_clamp_golden() {
        // beta 0.8, strength 1 → boost × 1.8
        assert_eq!(regime_size_mult(-0.06, T, E, 3.0, 1.5, 0.8, 1.0), 1.5 * 1.8);
        assert_eq!(regime_size_mult(-0.06, T, E, 3.0, 1.5, 0.0, 0.5), 0.75);
        assert_eq!(leverage_ceiling(5.0, 1.5, 1.0, 6.0, None), 6.0);
        assert_eq!(leverage_ceiling(5.0, 1.0, 1.0, 6.0, Some(2.0)), 2.0);
        assert_eq!(leverage_ceiling(5.0, 0.5, 1.0, 6.0, None), 2.5);
        assert_eq!(clamp_leverage(7.0, 0.5, 6.0), 6.0);
        assert_eq!(clamp_leverage(0.1, 0.5, 6.0), 0.5);
        // a ceiling below the floor still gives the floor
        assert_eq!(clamp_leverage(3.0, 0.5, 0.25), 0.5);
    }

    proptest! {
        #[test]
        fn final_leverage_within_bounds(vd in -0.2f64..0.0, boost in 0.5f64..2.0, beta in 0.0f64..1.0,
                                         mc in prop::sample::select(vec![0.5, 1.0]), rm in 0.0f64..1.0,
                                         stalker in any::<bool>()) {
            let r = calculate_size(vd, &params(), &fresh());
            prop_assert!(r.fraction >= 0.02 && r.fraction <= 0.20);
            prop_assert!(r.leverage >= 0.5 && r.leverage <= 5.0);
            let rsm = regime_size_mult(vd, T, E, 3.0, boost, beta, mc);
            let abs_eff = (6.0f64 * rm).max(1.0);
            let ceil = leverage_ceiling(5.0, rsm, 1.0, abs_eff, stalker.then_some(2.0));
            let f = clamp_leverage(r.leverage * rsm, 0.5, ceil);
            prop_assert!(f >= 0.5);
            prop_assert!(f <= ceil.max(0.5));
            prop_assert!(f <= 6.0);
        }
    }

    #[test]
    fn vd_trend_and_alpha_stats_golden() {
        let h: VecDeque<f64> = (1..=12).map(|i| -0.001 * f64::from(i)).collect();
        // h[−1] − h[−10] = −0.012 − (−0.003)
        assert_eq!(vd_trend(&h, 10), -0.012 - -0.003);
        let short: VecDeque<f64> = h.iter().copied().take(9).collect();
        assert!(vd_trend(&short, 10).is_nan());
        let mut s = AlphaStats::default();
        for (bucket, net) in [(2, 1.0), (2, -1.0), (3, 0.0), (2, 2.0), (1, -0.5), (2, 3.0)] {
            s.record(bucket, net, 5);
        }
        assert_eq!(s.bucket_trades, [0, 1, 4, 1]);
        assert_eq!(s.bucket_wins, [0, 0, 3, 0]);
        // Last five: −1 (loss), 0 (loss: net ≤ 0), 2, −0.5 (loss), 3 → 3 losses.
        let a = s.state(6, 5, 0.0);
        assert_eq!((a.recent_losses, a.closed_trades), (3, 6));
        assert_eq!(streak_mult(a.recent_losses, a.closed_trades, 5), 0.7);
        assert_eq!(raw_leverage(2.0, 1.0, 1.5, 0.9), 2.0 * 1.0 * 1.5 * 0.9);
    }
}
