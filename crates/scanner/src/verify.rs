//! High-precision check of one bar (SPEC §3: "a high-precision mode checks the f64 results on
//! demand"; issue 3 part 3 `--verify N`). Recomputes every window's `lambda_hat` with
//! [`HP_BITS`]-bit binary floats: log returns, two-pass correlation, Householder reduction and
//! Sturm bisection all in big-float arithmetic, and reports how far the f64 row is from it.

use crate::config::ScannerConfig;
use crate::dense_reference::{evaluate_window, panel_returns, window_members};
use crate::error::ScanError;
use crate::real::{HP_BITS, Hp, Real};
use crate::scan_row::ScanRow;
use crate::scanner::panel_rows;
use std::collections::HashMap;

/// Outcome of [`verify_bar`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyReport {
    /// The bar checked.
    pub bar: usize,
    /// High-precision `lambda_hat` per window, rounded to f64 (NaN where undefined).
    pub lambda_hat_hp: [f64; 4],
    /// `|lambda_hat_f64 − lambda_hat_hp|` per window (0 when both are NaN, +∞ when only one is).
    pub deviation: [f64; 4],
    /// The largest of `deviation`.
    pub max_deviation: f64,
}

/// Recomputes `lambda_hat` of every window at `bar` of the row-major panel in [`HP_BITS`]-bit
/// arithmetic (SPEC §3 verify mode) and compares `row`, the f64 scanner's output for that bar.
/// The window membership is taken from the f64 data (SPEC §6 rules), and must match `row`.
pub fn verify_bar(
    n_assets: usize,
    closes_row_major: &[f64],
    bar: usize,
    cfg: &ScannerConfig,
    row: &ScanRow,
) -> Result<VerifyReport, ScanError> {
    cfg.validate()?;
    let n_bars = panel_rows(n_assets, closes_row_major)?;
    if bar >= n_bars {
        return Err(ScanError::BarOutOfRange { bar, n_bars });
    }
    let n = n_assets;
    // Only the rows the largest window can reach are needed.
    let first = bar.saturating_sub(cfg.windows[3] + 1);
    let sub = &closes_row_major[first * n..(bar + 1) * n];
    let t = bar - first;
    let ret = panel_returns(n, sub, t + 1);
    let mut hp_ret: HashMap<(usize, usize), Hp> = HashMap::new();
    let mut report = VerifyReport {
        bar,
        lambda_hat_hp: [f64::NAN; 4],
        deviation: [0.0; 4],
        max_deviation: 0.0,
    };
    for k in 0..4 {
        let w = cfg.windows[k];
        let members = window_members(&ret, n, t, w);
        if members.len() != row.n_assets[k] {
            return Err(ScanError::RowMismatch {
                bar,
                window_index: k,
                window: w,
                got: row.n_assets[k],
                expected: members.len(),
            });
        }
        if members.len() < 2 {
            report.deviation[k] = if row.lambda_hat[k].is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
            continue;
        }
        for &i in &members {
            for a in t + 1 - w..=t {
                hp_ret.entry((a, i)).or_insert_with(|| {
                    let (p0, p1) = (
                        Hp::from_f64(sub[(a - 1) * n + i]),
                        Hp::from_f64(sub[a * n + i]),
                    );
                    p1.div(&p0).ln()
                });
            }
        }
        let (lhat, _) =
            evaluate_window::<Hp>(&members, t, w, HP_BITS + 64, |a, i| hp_ret[&(a, i)].clone());
        report.lambda_hat_hp[k] = lhat.to_f64();
        report.deviation[k] = if row.lambda_hat[k].is_finite() {
            Hp::from_f64(row.lambda_hat[k]).sub(&lhat).abs().to_f64()
        } else {
            f64::INFINITY
        };
    }
    report.max_deviation = report.deviation.iter().copied().fold(0.0, f64::max);
    Ok(report)
}
