//! ACBv6 without look-ahead (issue 17 item 3; `docs/RESEARCH.md` "The ACB w750 threshold").
//!
//! SPEC §3 defines the scale-3 threshold as the 60th percentile of the w750 of **all loaded
//! dates**, and a date's w750 as the median of its **first 10 rows**, applied from the date's
//! first bar. In a backtest both are look-ahead: the threshold uses dates after the one being
//! traded, and rows 0–9 use w750 values that are not known yet. The champion's backtest keeps
//! SPEC §3 (mode [`ThresholdMode::AllDates`], trade logs unchanged); the causal mode
//! [`ThresholdMode::Expanding`] is what the look-ahead check and the live system use:
//!
//! * at the start of date D the boost (scale 1, factors known at D 00:00, SPEC §8) applies
//!   and beta is 0 — D's w750 is unknown (SPEC §5 "beta from w750 if known, else 0");
//! * once the first `w750_first_rows` rows of D have been processed, w750(D) is their median
//!   and the threshold is the percentile over the w750 of the dates ≤ D known by then (an
//!   expanding window; at least `min_dates` of them, else beta stays 0); the new beta reaches
//!   the engine through `update_acb_boost` before the next row (pending-flag pattern, B §10.5).
//!
//! Sub-day updates (B §16.1, SPEC §8, research TODO-2): with `subday_funding`, every BTCUSDT
//! funding settlement during D replaces `funding_btc` for the bars from its stamp on (a bar
//! opened at T sees settlements stamped ≤ T + 999 ms, the same jitter rule as at 00:00) and the
//! recomputed boost goes through `update_acb_boost`, where B §7.3's sub-day exit may fire.

use dolphin_core::{ExternalFactors, UtcDate};
use dolphin_data::indicators::FUNDING_JITTER_MS;
use dolphin_engine::{AcbDay, AcbProvider, ObProvider};
use dolphin_risk::acb::{base_boost, dynamic_beta, factor_signals, w750_of_first_rows};
use dolphin_risk::{AcbConfig, percentile_linear};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the scale-3 threshold is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// SPEC §3: percentile over every loaded date (look-ahead; the champion's backtest).
    #[default]
    AllDates,
    /// Percentile over the dates known so far; beta known once the date's first rows are in.
    Expanding,
}

/// The scale-1 boost of a date's factors.
pub fn boost_of(f: Option<&ExternalFactors>, cfg: &AcbConfig) -> f64 {
    let signals = f.map(|f| factor_signals(f, cfg).total()).unwrap_or(0.0);
    base_boost(signals, cfg)
}

/// The expanding-window ACB's day-start verdict: the boost, beta 0 (w750 unknown yet).
pub struct DayStartAcb {
    pub factors: BTreeMap<UtcDate, ExternalFactors>,
    pub cfg: AcbConfig,
}

impl AcbProvider for DayStartAcb {
    fn day(&self, date: UtcDate, _ob: Option<&dyn ObProvider>) -> AcbDay {
        AcbDay {
            boost: boost_of(self.factors.get(&date), &self.cfg),
            beta: 0.0,
        }
    }
}

/// The state of the expanding threshold across a run: the w750 of the dates seen so far.
#[derive(Debug, Clone, Default)]
pub struct ExpandingW750 {
    known: Vec<f64>,
}

impl ExpandingW750 {
    /// Records date D's w750 from its first rows (call once `w750_first_rows` rows are in)
    /// and returns beta for the rest of D.
    pub fn beta_after_first_rows(
        &mut self,
        v750: &[f64],
        cfg: &AcbConfig,
        min_dates: usize,
    ) -> f64 {
        let w = w750_of_first_rows(v750, cfg.w750_first_rows);
        if let Some(w) = w {
            self.known.push(w);
        }
        let threshold = if self.known.len() >= min_dates.max(1) {
            percentile_linear(&self.known, cfg.w750_threshold_pct)
        } else {
            None
        };
        dynamic_beta(w, threshold, cfg)
    }

    /// Dates recorded so far.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether no date has been recorded.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// BTCUSDT funding settlements `(stamp ms, rate)`, ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settlements(pub Vec<(i64, f64)>);

impl Settlements {
    /// The newest settlement a bar opened at `ts_ms` can know (stamp ≤ ts + 999 ms), if it is
    /// at most 24 h old.
    pub fn at(&self, ts_ms: i64) -> Option<(i64, f64)> {
        let idx = self
            .0
            .partition_point(|&(t, _)| t <= ts_ms + FUNDING_JITTER_MS);
        let (t, r) = *self.0.get(idx.checked_sub(1)?)?;
        (ts_ms - t <= 86_400_000).then_some((t, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expanding_threshold_uses_only_dates_seen() {
        let cfg = AcbConfig::default();
        let mut e = ExpandingW750::default();
        // Date 1: w750 = 1.0 → threshold p60 of {1} = 1 → w ≥ thr → BETA_HIGH.
        assert_eq!(e.beta_after_first_rows(&[1.0; 10], &cfg, 1), 0.8);
        // Date 2: w = 0.5; threshold p60 of {1, 0.5} = 0.5 + 0.6·0.5 = 0.8 → 0.5 < 0.8 → LOW.
        assert_eq!(e.beta_after_first_rows(&[0.5; 10], &cfg, 1), 0.2);
        // Date 3: first 10 rows' median of [3,3,3,2,2,...]: values 3,3,3,2,2,2,2,2,2,2 → 2.
        let mut col = vec![3.0, 3.0, 3.0];
        col.extend([2.0; 7]);
        col.extend([100.0; 5]); // rows after the first 10 never count
        // threshold p60 of {1, 0.5, 2} sorted .5 1 2 → index 1.2 → 1 + .2·1 = 1.2 → 2 ≥ 1.2.
        assert_eq!(e.beta_after_first_rows(&col, &cfg, 1), 0.8);
        assert_eq!(e.len(), 3);
        // A date without a finite w750 gives beta 0 and does not enter the window.
        assert_eq!(e.beta_after_first_rows(&[f64::NAN; 10], &cfg, 1), 0.0);
        assert_eq!(e.len(), 3);
        // min_dates: with fewer known dates, beta stays 0.
        let mut e = ExpandingW750::default();
        assert_eq!(e.beta_after_first_rows(&[1.0; 10], &cfg, 2), 0.0);
        assert_eq!(e.beta_after_first_rows(&[2.0; 10], &cfg, 2), 0.8);
    }

    #[test]
    fn settlement_lookup_respects_jitter_and_age() {
        let s = Settlements(vec![(1_000, 0.1), (28_800_005, -0.2)]);
        assert_eq!(s.at(0), None); // 1000 > 0 + 999
        assert_eq!(s.at(1), Some((1_000, 0.1)));
        assert_eq!(s.at(28_800_000), Some((28_800_005, -0.2)));
        assert_eq!(s.at(28_799_000), Some((1_000, 0.1)));
        assert_eq!(s.at(28_800_005 + 86_400_001), None);
    }
}
