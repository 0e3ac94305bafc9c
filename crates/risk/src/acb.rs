//! ACBv6, the adaptive circuit breaker (seeds B §10; SPEC D7, §3, §5): once per date it turns
//! external macro factors into a base boost (scale 1) and the w750 eigenvalue velocity into a
//! dynamic beta (scale 3). Scale 2 (`regime_size_mult`, per bar) lives in the engine.
//!
//! * Scale 1 (B §10.2): each factor adds a signal weight — funding < −0.0001 → 1.0, else
//!   < 0 → 0.5; DVOL > 80 → 1.0, else > 55 → 0.5; taker < 0.80 → 1.0, else < 0.90 → 0.5;
//!   Fear & Greed < 25 → 1.0, else < 40 → 0.5, counted only when at least one other factor
//!   fired (its confirmation). `base_boost = 1 + 0.5·ln(1 + signals)` when signals ≥ 1, else 1.
//!   A missing factor is absent (never fires); a date without factors has boost 1 (SPEC §5).
//! * Scale 3 (B §10.3, SPEC §3): `w750` of a date is the median of the first 10 finite
//!   `v750_lambda_max_velocity` values of its day file; the threshold is numpy's 60th
//!   percentile of all loaded dates' w750; beta = 0.8 at or above it, 0.2 below, 0 unknown.
//! * OB-4 (B §9.4): with an OB provider whose macro state at the date's 00:00 UTC says
//!   `regime_signal == 1` (withdrawal stress), beta × 1.25 ("+25 % max").

use crate::acb_config::{AcbConfig, AcbConfigError};
use crate::percentile::percentile_linear;
use dolphin_core::{DayFrame, ExternalFactors, UtcDate};
use dolphin_core::{NanRule, median};
use dolphin_engine::{AcbDay, AcbProvider, ObProvider};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The position cuts S §6.3 allows for `apply_cut_to_position_size`.
pub const ALLOWED_CUTS: [f64; 6] = [0.0, 0.15, 0.45, 0.55, 0.75, 0.80];

/// B §7.3: a sub-day ACB update force-exits when the boost was at least this …
pub const SUBDAY_EXIT_OLD_BOOST: f64 = 1.25;
/// … and the new boost is below this (B §7.3, research TODO-2: "ARBITRARY").
pub const SUBDAY_EXIT_NEW_BOOST: f64 = 1.10;

/// Errors of the adaptive circuit breaker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AcbError {
    #[error(transparent)]
    Config(#[from] AcbConfigError),
    /// The factor map's key and the `date` field of its value disagree.
    #[error("external factors stored under {key} carry date {inner}")]
    FactorDateMismatch { key: UtcDate, inner: UtcDate },
    /// S §6.3: the cut is not one of [`ALLOWED_CUTS`].
    #[error("cut_pct {cut_pct} is not one of 0.0, 0.15, 0.45, 0.55, 0.75, 0.80 (S §6.3)")]
    CutNotAllowed { cut_pct: f64 },
    /// The position size to cut is NaN or infinite.
    #[error("position_size {value} is not finite")]
    PositionSizeNotFinite { value: f64 },
}

/// The signal weight each factor contributed on one date (B §10.2 table). `fng` is the weight
/// after the confirmation rule; `fng_unconfirmed` the weight its threshold alone gave.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct FactorSignals {
    pub funding: f64,
    pub dvol: f64,
    pub fng: f64,
    pub fng_unconfirmed: f64,
    pub taker: f64,
}

impl FactorSignals {
    /// B §10.2: `signals = sum(individual_signal_weights)` (fng after confirmation).
    pub fn total(&self) -> f64 {
        self.funding + self.dvol + self.fng + self.taker
    }
}

/// How one date's ACB verdict was derived (B §10.2–10.3, §9.4), for reports and docs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AcbExplain {
    pub date: UtcDate,
    /// The factors found for the date; `None` when the date has no factor data (SPEC §5).
    pub factors: Option<ExternalFactors>,
    /// Per-factor signal weights.
    pub signal: FactorSignals,
    /// Sum of the weights.
    pub signals: f64,
    /// Scale 1: `1 + 0.5·ln(1 + signals)` if signals ≥ 1, else 1.0.
    pub boost: f64,
    /// Scale 3 input: the date's w750 velocity, `None` when unknown.
    pub w750: Option<f64>,
    /// The p60 threshold over all loaded dates, `None` when no date has a w750.
    pub threshold: Option<f64>,
    /// Beta before OB-4: 0.8 / 0.2, or 0 when w750 or the threshold is unknown.
    pub beta_base: f64,
    /// OB-4: whether the OB macro state at the date's start said withdrawal stress.
    pub ob_stress: bool,
    /// Final beta (`beta_base × 1.25` under OB stress).
    pub beta: f64,
}

impl AcbExplain {
    /// The verdict the engine consumes.
    pub fn day(&self) -> AcbDay {
        AcbDay {
            boost: self.boost,
            beta: self.beta,
        }
    }
}

/// Scale 1 signal weights of one date's factors (B §10.2). A `None` or NaN factor never
/// fires; Fear & Greed counts only when funding, DVOL or taker fired.
pub fn factor_signals(f: &ExternalFactors, cfg: &AcbConfig) -> FactorSignals {
    let two_level = |value: Option<f64>,
                     strong: &dyn Fn(f64) -> bool,
                     mild: &dyn Fn(f64) -> bool| {
        match value {
            Some(v) if strong(v) => cfg.strong_weight,
            Some(v) if mild(v) => cfg.mild_weight,
            _ => 0.0,
        }
    };
    let funding = two_level(f.funding_btc, &|v| v < cfg.funding_very_bearish, &|v| {
        v < cfg.funding_bearish
    });
    let dvol = two_level(f.dvol_btc, &|v| v > cfg.dvol_extreme, &|v| {
        v > cfg.dvol_elevated
    });
    let taker = two_level(f.taker, &|v| v < cfg.taker_selling, &|v| {
        v < cfg.taker_mild_selling
    });
    let fng_unconfirmed = two_level(f.fng, &|v| v < cfg.fng_extreme_fear, &|v| v < cfg.fng_fear);
    let confirmed = funding + dvol + taker > 0.0;
    FactorSignals {
        funding,
        dvol,
        fng: if confirmed { fng_unconfirmed } else { 0.0 },
        fng_unconfirmed,
        taker,
    }
}

/// B §10.2 base boost: `1 + c·ln(1 + signals)` (c = 0.5) when signals ≥ 1, else 1.0.
pub fn base_boost(signals: f64, cfg: &AcbConfig) -> f64 {
    if signals >= cfg.min_signals_for_boost {
        1.0 + cfg.boost_log_coeff * signals.ln_1p()
    } else {
        1.0
    }
}

/// SPEC §3 scale 3: median of the finite values among the first `rows` entries of a
/// `v750_lambda_max_velocity` column; `None` when none is finite.
pub fn w750_of_first_rows(v750: &[f64], rows: usize) -> Option<f64> {
    median(&v750[..rows.min(v750.len())], NanRule::SkipNonFinite)
}

/// SPEC §3 scale 3: a date's w750 velocity — the median of the first 10 rows' finite
/// `v750_lambda_max_velocity` values of its day file; `None` if none is finite.
pub fn w750_of_day(frame: &DayFrame) -> Option<f64> {
    w750_of_first_rows(&frame.v750_vel, AcbConfig::default().w750_first_rows)
}

/// B §10.3: beta = BETA_HIGH if `w750 ≥ threshold` else BETA_LOW; 0 when either is unknown
/// (SPEC §5).
pub fn dynamic_beta(w750: Option<f64>, threshold: Option<f64>, cfg: &AcbConfig) -> f64 {
    match (w750, threshold) {
        (Some(w), Some(t)) if w >= t => cfg.beta_high,
        (Some(_), Some(_)) => cfg.beta_low,
        _ => 0.0,
    }
}

/// B §7.3: a sub-day ACB update forces an exit (`SUBDAY_ACB_NORMALIZATION`) when the boost
/// falls from ≥ 1.25 to < 1.10.
pub fn should_force_exit(old_boost: f64, new_boost: f64) -> bool {
    old_boost >= SUBDAY_EXIT_OLD_BOOST && new_boost < SUBDAY_EXIT_NEW_BOOST
}

/// S §6.3 `apply_cut_to_position_size`: `position_size × (1 − cut_pct)`, where `cut_pct` must
/// be one of [`ALLOWED_CUTS`] (compared within 1e-12, so that computed values such as
/// `1.0 − 0.85` are accepted).
pub fn apply_cut_to_position_size(position_size: f64, cut_pct: f64) -> Result<f64, AcbError> {
    if !position_size.is_finite() {
        return Err(AcbError::PositionSizeNotFinite {
            value: position_size,
        });
    }
    let cut = ALLOWED_CUTS
        .iter()
        .copied()
        .find(|c| (c - cut_pct).abs() <= 1e-12)
        .ok_or(AcbError::CutNotAllowed { cut_pct })?;
    Ok(position_size * (1.0 - cut))
}

/// `AdaptiveCircuitBreaker` (B §10, S §6): per-date factors and w750 values, loaded once, and
/// the p60 threshold over all loaded w750 values.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveCircuitBreaker {
    config: AcbConfig,
    factors: BTreeMap<UtcDate, ExternalFactors>,
    w750: BTreeMap<UtcDate, f64>,
    threshold: Option<f64>,
}

impl AdaptiveCircuitBreaker {
    /// Builds the ACB from per-date factors (scale 1) and per-date w750 velocities (scale 3,
    /// the NG3 `scan_global` path). Non-finite w750 values count as unknown and are dropped.
    /// The threshold is the `w750_threshold_pct` percentile (B §10.3) of the remaining values.
    pub fn new(
        config: AcbConfig,
        factors: BTreeMap<UtcDate, ExternalFactors>,
        w750: BTreeMap<UtcDate, f64>,
    ) -> Result<Self, AcbError> {
        config.validate()?;
        for (key, f) in &factors {
            if *key != f.date {
                return Err(AcbError::FactorDateMismatch {
                    key: *key,
                    inner: f.date,
                });
            }
        }
        let w750: BTreeMap<UtcDate, f64> =
            w750.into_iter().filter(|(_, v)| v.is_finite()).collect();
        let values: Vec<f64> = w750.values().copied().collect();
        let threshold = percentile_linear(&values, config.w750_threshold_pct);
        Ok(Self {
            config,
            factors,
            w750,
            threshold,
        })
    }

    /// Builds the ACB with w750 taken from day files ([`w750_of_first_rows`] with the config's
    /// row count); a day whose first rows hold no finite value has unknown w750.
    pub fn from_day_frames<'a>(
        config: AcbConfig,
        factors: BTreeMap<UtcDate, ExternalFactors>,
        frames: impl IntoIterator<Item = &'a DayFrame>,
    ) -> Result<Self, AcbError> {
        let rows = config.w750_first_rows;
        let w750 = frames
            .into_iter()
            .filter_map(|f| w750_of_first_rows(&f.v750_vel, rows).map(|w| (f.date, w)))
            .collect();
        Self::new(config, factors, w750)
    }

    /// The parameters in use.
    pub fn config(&self) -> &AcbConfig {
        &self.config
    }

    /// B §10.3: the p60 threshold of all loaded w750 values (`None` if there are none).
    pub fn w750_threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// The w750 velocity loaded for a date.
    pub fn w750(&self, date: UtcDate) -> Option<f64> {
        self.w750.get(&date).copied()
    }

    /// The external factors loaded for a date.
    pub fn factors(&self, date: UtcDate) -> Option<&ExternalFactors> {
        self.factors.get(&date)
    }

    /// Dates that have factors or a w750 value, ascending.
    pub fn dates(&self) -> Vec<UtcDate> {
        let mut d: Vec<UtcDate> = self
            .factors
            .keys()
            .chain(self.w750.keys())
            .copied()
            .collect();
        d.sort();
        d.dedup();
        d
    }

    /// `get_dynamic_boost_for_date` with its derivation (B §10.2, §10.3, §9.4 OB-4).
    pub fn explain(&self, date: UtcDate, ob: Option<&dyn ObProvider>) -> AcbExplain {
        let factors = self.factors.get(&date).copied();
        let signal = factors
            .map(|f| factor_signals(&f, &self.config))
            .unwrap_or_default();
        let signals = signal.total();
        let boost = base_boost(signals, &self.config);
        let w750 = self.w750(date);
        let beta_base = dynamic_beta(w750, self.threshold, &self.config);
        let ob_stress = ob
            .and_then(|p| p.macro_state(date.start_ms()))
            .is_some_and(|m| m.regime_signal == 1);
        let beta = if ob_stress {
            beta_base * self.config.ob4_stress_beta_mult
        } else {
            beta_base
        };
        AcbExplain {
            date,
            factors,
            signal,
            signals,
            boost,
            w750,
            threshold: self.threshold,
            beta_base,
            ob_stress,
            beta,
        }
    }

    /// S §6.3, as a method of the ACB like the seeds call it: see
    /// [`apply_cut_to_position_size`].
    pub fn apply_cut_to_position_size(
        &self,
        position_size: f64,
        cut_pct: f64,
    ) -> Result<f64, AcbError> {
        apply_cut_to_position_size(position_size, cut_pct)
    }
}

impl AcbProvider for AdaptiveCircuitBreaker {
    /// B §13.1: the day's `{boost, beta}`.
    fn day(&self, date: UtcDate, ob: Option<&dyn ObProvider>) -> AcbDay {
        self.explain(date, ob).day()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_core::Direction;
    use dolphin_engine::{ObMacro, ObPlacement, ObSignal};
    use proptest::prelude::*;

    fn d(s: &str) -> UtcDate {
        s.parse().unwrap()
    }

    fn factors(
        funding: Option<f64>,
        dvol: Option<f64>,
        fng: Option<f64>,
        taker: Option<f64>,
    ) -> ExternalFactors {
        ExternalFactors {
            date: d("2025-05-02"),
            funding_btc: funding,
            dvol_btc: dvol,
            fng,
            taker,
        }
    }

    fn sig(f: ExternalFactors) -> FactorSignals {
        factor_signals(&f, &AcbConfig::default())
    }

    #[test]
    fn boost_golden_values_of_b_10_2() {
        let c = AcbConfig::default();
        let b1 = base_boost(1.0, &c);
        let b2 = base_boost(2.0, &c);
        let b3 = base_boost(3.0, &c);
        // numpy/Python `1.0 + 0.5 * log1p(s)`, printed with repr():
        assert_eq!(b1, 1.3465735902799727);
        assert_eq!(b2, 1.5493061443340548);
        assert_eq!(b3, 1.6931471805599454);
        // The same as 1 + ½·ln(1 + s) up to the last bit (log1p(2) and ln(3) differ by 1 ulp).
        for (b, n) in [(b1, 2f64), (b2, 3.0), (b3, 4.0)] {
            assert!((b - (1.0 + 0.5 * n.ln())).abs() <= 2.0 * f64::EPSILON);
        }
        assert_eq!(format!("{b1:.3} {b2:.3} {b3:.3}"), "1.347 1.549 1.693");
        assert_eq!(base_boost(2.5, &c), 1.0 + 0.5 * 2.5f64.ln_1p());
        assert_eq!(base_boost(1.5, &c), 1.4581453659370776);
        assert_eq!(base_boost(4.0, &c), 1.8047189562170503);
        assert_eq!(base_boost(0.5, &c), 1.0);
        assert_eq!(base_boost(0.999_999, &c), 1.0);
        assert_eq!(base_boost(0.0, &c), 1.0);
    }

    #[test]
    fn funding_thresholds() {
        let f = |v| sig(factors(Some(v), None, None, None)).funding;
        assert_eq!(f(-0.00012232), 1.0);
        assert_eq!(f(-0.0001), 0.5); // not strictly below −0.0001
        assert_eq!(f(-0.00000001), 0.5);
        assert_eq!(f(0.0), 0.0);
        assert_eq!(f(0.0001), 0.0);
    }

    #[test]
    fn dvol_thresholds() {
        let f = |v| sig(factors(None, Some(v), None, None)).dvol;
        assert_eq!(f(80.01), 1.0);
        assert_eq!(f(80.0), 0.5);
        assert_eq!(f(55.01), 0.5);
        assert_eq!(f(55.0), 0.0);
        assert_eq!(f(46.11), 0.0);
    }

    #[test]
    fn taker_thresholds() {
        let f = |v| sig(factors(None, None, None, Some(v))).taker;
        assert_eq!(f(0.79), 1.0);
        assert_eq!(f(0.80), 0.5);
        assert_eq!(f(0.89), 0.5);
        assert_eq!(f(0.90), 0.0);
        assert_eq!(f(1.2), 0.0);
    }

    #[test]
    fn fng_needs_confirmation() {
        // Alone, even extreme fear counts nothing.
        let s = sig(factors(None, None, Some(10.0), None));
        assert_eq!((s.fng_unconfirmed, s.fng, s.total()), (1.0, 0.0, 0.0));
        // Confirmed by a mild funding signal: 0.5 + 1.0 = 1.5.
        let s = sig(factors(Some(-0.00005), None, Some(10.0), None));
        assert_eq!((s.fng, s.total()), (1.0, 1.5));
        // Fear (not extreme) confirmed by DVOL: 1.0 + 0.5.
        let s = sig(factors(None, Some(90.0), Some(30.0), None));
        assert_eq!((s.fng, s.total()), (0.5, 1.5));
        // Boundaries: 25 is "fear", 40 is neutral.
        let s = sig(factors(None, None, Some(25.0), Some(0.5)));
        assert_eq!(s.fng, 0.5);
        let s = sig(factors(None, None, Some(40.0), Some(0.5)));
        assert_eq!(s.fng, 0.0);
        // All four at full strength: 4 signals.
        let s = sig(factors(Some(-0.001), Some(100.0), Some(5.0), Some(0.5)));
        assert_eq!(s.total(), 4.0);
    }

    #[test]
    fn nan_factor_never_fires() {
        let s = sig(factors(
            Some(f64::NAN),
            Some(f64::NAN),
            Some(f64::NAN),
            Some(f64::NAN),
        ));
        assert_eq!(s.total(), 0.0);
    }

    #[test]
    fn percentile_beta_switch_on_a_hand_made_list() {
        // Five dates, w750 = 1..5 → p60 = 3.4 (numpy: index 2.4 → 3 + 0.4·1).
        let mut w = BTreeMap::new();
        for (i, v) in [3.0, 1.0, 5.0, 2.0, 4.0].into_iter().enumerate() {
            w.insert(d("2025-05-01").succ_n(i), v);
        }
        // An unknown date (NaN) is dropped and does not move the threshold.
        w.insert(d("2025-05-20"), f64::NAN);
        let acb = AdaptiveCircuitBreaker::new(AcbConfig::default(), BTreeMap::new(), w).unwrap();
        assert_eq!(acb.w750_threshold(), Some(3.4));
        let beta = |s| acb.day(d(s), None).beta;
        assert_eq!(beta("2025-05-01"), 0.2); // 3.0 < 3.4
        assert_eq!(beta("2025-05-03"), 0.8); // 5.0
        assert_eq!(beta("2025-05-05"), 0.8); // 4.0
        assert_eq!(beta("2025-05-04"), 0.2); // 2.0
        assert_eq!(beta("2025-05-20"), 0.0); // unknown
        assert_eq!(beta("2025-06-01"), 0.0); // not loaded
        // A value exactly at the threshold is "high" (≥).
        assert_eq!(dynamic_beta(Some(3.4), Some(3.4), acb.config()), 0.8);
        // No factor data: boost 1.0 (SPEC §5).
        assert_eq!(acb.day(d("2025-05-01"), None).boost, 1.0);
    }

    #[test]
    fn factor_date_mismatch_is_an_error() {
        let mut f = BTreeMap::new();
        f.insert(d("2025-05-03"), factors(None, None, None, None));
        let e = AdaptiveCircuitBreaker::new(AcbConfig::default(), f, BTreeMap::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "external factors stored under 2025-05-03 carry date 2025-05-02"
        );
    }

    #[test]
    fn w750_from_first_ten_finite_rows() {
        let mut col = vec![f64::NAN, 0.3, 0.1, f64::INFINITY, 0.2];
        col.extend([9.0; 10]);
        // First 10 rows: NaN, .3, .1, inf, .2, 9, 9, 9, 9, 9 → finite: .3 .1 .2 9 9 9 9 9 → median 9.
        assert_eq!(w750_of_first_rows(&col, 10), Some(9.0));
        // First 5 rows: .3 .1 .2 → 0.2.
        assert_eq!(w750_of_first_rows(&col, 5), Some(0.2));
        assert_eq!(w750_of_first_rows(&[f64::NAN; 12], 10), None);
        assert_eq!(w750_of_first_rows(&[], 10), None);
        let mut frame = DayFrame::empty(d("2025-05-02"), vec![]);
        frame.v750_vel = vec![0.4, 0.1, 0.3, 0.2];
        assert_eq!(w750_of_day(&frame), Some(0.25));
        let acb = AdaptiveCircuitBreaker::from_day_frames(
            AcbConfig::default(),
            BTreeMap::new(),
            [&frame],
        )
        .unwrap();
        assert_eq!(acb.w750(d("2025-05-02")), Some(0.25));
        assert_eq!(acb.w750_threshold(), Some(0.25));
        assert_eq!(acb.day(d("2025-05-02"), None).beta, 0.8);
    }

    #[test]
    fn cut_to_position_size() {
        assert_eq!(apply_cut_to_position_size(1000.0, 0.0).unwrap(), 1000.0);
        assert_eq!(apply_cut_to_position_size(1000.0, 0.15).unwrap(), 850.0);
        assert_eq!(apply_cut_to_position_size(1000.0, 0.45).unwrap(), 550.0);
        // As in Python: 1000 * (1 - 0.55) == 449.99999999999994.
        assert_eq!(
            apply_cut_to_position_size(1000.0, 0.55).unwrap(),
            449.99999999999994
        );
        assert_eq!(apply_cut_to_position_size(1000.0, 0.75).unwrap(), 250.0);
        assert_eq!(
            apply_cut_to_position_size(1000.0, 0.80).unwrap(),
            1000.0 * (1.0 - 0.8)
        );
        assert_eq!(
            apply_cut_to_position_size(1000.0, 0.5).unwrap_err(),
            AcbError::CutNotAllowed { cut_pct: 0.5 }
        );
        assert!(apply_cut_to_position_size(f64::NAN, 0.15).is_err());
    }

    #[test]
    fn subday_force_exit_rule() {
        assert!(should_force_exit(1.25, 1.0999));
        assert!(should_force_exit(1.693, 1.0));
        assert!(!should_force_exit(1.2499, 1.0));
        assert!(!should_force_exit(1.5, 1.10));
        assert!(!should_force_exit(1.0, 1.5));
    }

    struct Stress(i8);
    impl ObProvider for Stress {
        fn signal(&self, _: &str, _: i64) -> Option<ObSignal> {
            None
        }
        fn placement(&self, _: &str, _: i64) -> Option<ObPlacement> {
            None
        }
        fn macro_state(&self, ts_ms: i64) -> Option<ObMacro> {
            assert_eq!(ts_ms, d("2025-05-03").start_ms());
            Some(ObMacro {
                cascade_count: 0,
                regime_signal: self.0,
                agreement_pct: 0.5,
                macro_imbalance: 0.0,
            })
        }
        fn market_multiplier(&self, _: Direction, _: i64) -> f64 {
            1.0
        }
    }

    #[test]
    fn ob4_raises_beta_under_withdrawal_stress() {
        let w: BTreeMap<_, _> = [(d("2025-05-02"), 1.0), (d("2025-05-03"), 2.0)].into();
        let acb = AdaptiveCircuitBreaker::new(AcbConfig::default(), BTreeMap::new(), w).unwrap();
        let date = d("2025-05-03");
        assert_eq!(acb.day(date, None).beta, 0.8);
        let e = acb.explain(date, Some(&Stress(1)));
        assert!(e.ob_stress);
        assert_eq!(e.beta_base, 0.8);
        assert_eq!(e.beta, 0.8 * 1.25);
        assert_eq!(acb.day(date, Some(&Stress(0))).beta, 0.8);
        assert_eq!(acb.day(date, Some(&Stress(-1))).beta, 0.8);
    }

    #[test]
    fn explain_serialises() {
        let f: BTreeMap<_, _> = [(
            d("2025-05-02"),
            factors(Some(-0.00012232), Some(46.11), Some(67.0), None),
        )]
        .into();
        let acb = AdaptiveCircuitBreaker::new(AcbConfig::default(), f, BTreeMap::new()).unwrap();
        let e = acb.explain(d("2025-05-02"), None);
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["date"], "2025-05-02");
        assert_eq!(json["signals"], 1.0);
        assert_eq!(json["signal"]["funding"], 1.0);
        assert_eq!(json["w750"], serde_json::Value::Null);
        assert_eq!(json["beta"], 0.0);
        let back: AcbExplain = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        assert_eq!(acb.dates(), vec![d("2025-05-02")]);
    }

    trait SuccN {
        fn succ_n(self, n: usize) -> Self;
    }
    impl SuccN for UtcDate {
        fn succ_n(self, n: usize) -> Self {
            (0..n).fold(self, |x, _| x.succ())
        }
    }

    fn opt(r: std::ops::Range<f64>) -> impl Strategy<Value = Option<f64>> {
        proptest::option::of(r)
    }

    proptest! {
        #[test]
        fn boost_is_monotone_and_bounded(
            a in opt(-0.001..0.001), b in opt(20.0..120.0), c in opt(0.0..100.0), t in opt(0.5..1.5),
        ) {
            let cfg = AcbConfig::default();
            let s = factor_signals(&factors(a, b, c, t), &cfg);
            let total = s.total();
            prop_assert!((0.0..=4.0).contains(&total));
            let boost = base_boost(total, &cfg);
            prop_assert!((1.0..=1.0 + 0.5 * 5f64.ln()).contains(&boost));
            // fng never counts alone.
            prop_assert!(s.fng == 0.0 || s.funding + s.dvol + s.taker > 0.0);
        }

        #[test]
        fn beta_is_monotone_in_w750(values in proptest::collection::vec(-1e-2f64..1e-2, 1..60)) {
            let start = d("2024-01-01");
            let w: BTreeMap<_, _> = values.iter().enumerate().map(|(i, v)| (start.succ_n(i), *v)).collect();
            let acb = AdaptiveCircuitBreaker::new(AcbConfig::default(), BTreeMap::new(), w.clone()).unwrap();
            let mut pairs: Vec<(f64, f64)> = w.keys().map(|k| (acb.w750(*k).unwrap(), acb.day(*k, None).beta)).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            for p in pairs.windows(2) {
                prop_assert!(p[0].1 <= p[1].1);
            }
            prop_assert_eq!(pairs.last().unwrap().1, 0.8);
            prop_assert!(pairs.iter().all(|p| p.1 == 0.8 || p.1 == 0.2));
        }
    }
}
