//! Walk-forward splits by date (issue 17 item 2).
//!
//! The days of the data are cut into K + 1 contiguous blocks as evenly as possible (the first
//! `days mod (K+1)` blocks hold one day more). Fold k (1..=K) tests on block k; it trains on
//! blocks 0..k (anchored: the training window grows) or on block k−1 alone (rolling). Each
//! configuration is replayed once over all days and its daily returns are sliced by fold
//! (`docs/RESEARCH.md`: the engine state entering a test block is what trading the earlier
//! days produced — causal — and one replay serves every fold and the CSCV matrix).

use crate::error::ResearchError;
use crate::stats::{annualise, compound, sharpe};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Anchored or rolling training windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldMode {
    #[default]
    Anchored,
    Rolling,
}

impl std::str::FromStr for FoldMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "anchored" => Ok(Self::Anchored),
            "rolling" => Ok(Self::Rolling),
            _ => Err(format!("fold mode `{s}`: expected anchored or rolling")),
        }
    }
}

/// One walk-forward fold: day-index ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fold {
    pub k: usize,
    pub train: Range<usize>,
    pub test: Range<usize>,
}

/// The K folds over `days` days. Every block needs at least 2 days (a Sharpe needs 2).
pub fn make_folds(days: usize, k: usize, mode: FoldMode) -> Result<Vec<Fold>, ResearchError> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let blocks = k + 1;
    if days < 2 * blocks {
        return Err(ResearchError::Folds(format!(
            "{k} folds need at least {} days (2 per block, {blocks} blocks); the data has {days}",
            2 * blocks
        )));
    }
    let mut bounds = vec![0usize];
    for b in 0..blocks {
        bounds.push(bounds[b] + days / blocks + usize::from(b < days % blocks));
    }
    Ok((1..=k)
        .map(|i| Fold {
            k: i,
            train: match mode {
                FoldMode::Anchored => 0..bounds[i],
                FoldMode::Rolling => bounds[i - 1]..bounds[i],
            },
            test: bounds[i]..bounds[i + 1],
        })
        .collect())
}

/// Metrics of a slice of daily returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SliceMetrics {
    /// Annualised Sharpe (SPEC §5); NaN when undefined.
    pub sharpe: f64,
    /// Compounded return.
    pub roi: f64,
    pub trades: u64,
}

/// Metrics of days `r` of a trial.
pub fn slice_metrics(day_returns: &[f64], day_trades: &[u32], r: Range<usize>) -> SliceMetrics {
    let x = &day_returns[r.clone()];
    SliceMetrics {
        sharpe: sharpe(x).map_or(f64::NAN, annualise),
        roi: compound(x),
        trades: day_trades[r].iter().map(|&t| u64::from(t)).sum(),
    }
}

/// Which number ranks configurations inside a fold: the sweep's metric when it can be
/// computed from daily returns (roi, sharpe), else Sharpe.
pub fn fold_score(m: &SliceMetrics, metric: &str) -> f64 {
    let v = match metric {
        "roi" => m.roi,
        _ => m.sharpe,
    };
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_and_rolling_splits() {
        // 43 days, K = 4 → 5 blocks of 9, 9, 9, 8, 8 days.
        let f = make_folds(43, 4, FoldMode::Anchored).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!((f[0].train.clone(), f[0].test.clone()), (0..9, 9..18));
        assert_eq!((f[1].train.clone(), f[1].test.clone()), (0..18, 18..27));
        assert_eq!((f[3].train.clone(), f[3].test.clone()), (0..35, 35..43));
        let r = make_folds(43, 4, FoldMode::Rolling).unwrap();
        assert_eq!((r[2].train.clone(), r[2].test.clone()), (18..27, 27..35));
        assert!(make_folds(9, 4, FoldMode::Anchored).is_err());
        assert!(make_folds(10, 4, FoldMode::Anchored).is_ok());
        assert!(make_folds(10, 0, FoldMode::Anchored).unwrap().is_empty());
        assert_eq!("rolling".parse::<FoldMode>().unwrap(), FoldMode::Rolling);
        assert!("weekly".parse::<FoldMode>().is_err());
    }

    #[test]
    fn slice_metrics_by_hand() {
        let r = [0.01, 0.02, -0.01, 0.0];
        let t = [1, 2, 3, 4];
        let m = slice_metrics(&r, &t, 1..3);
        assert_eq!(m.trades, 5);
        assert!((m.roi - (1.02 * 0.99 - 1.0)).abs() < 1e-16);
        // mean .005, std ddof1 = sqrt((.015² + .015²)/1) = .0212132…
        let expect = 0.005 / (2.0f64 * 0.015 * 0.015).sqrt() * 365f64.sqrt();
        assert!((m.sharpe - expect).abs() < 1e-12);
        assert_eq!(fold_score(&m, "roi"), m.roi);
        assert_eq!(fold_score(&m, "profit_factor"), m.sharpe);
    }
}
