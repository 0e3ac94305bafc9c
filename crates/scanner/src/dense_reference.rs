//! The slow exact path of the scanner (SPEC §3 taken literally, per bar): for every bar and
//! window, gather the member assets' returns, build the correlation matrix by the two-pass
//! formula and take its largest eigenvalue with the dense solver. The test oracle for the
//! incremental path and the benchmark baseline.

use crate::config::ScannerConfig;
use crate::correlation::{instability, two_pass_correlation};
use crate::dense_eigen::{F64_BISECTION_STEPS, dense_lambda_max};
use crate::error::ScanError;
use crate::real::Real;
use crate::returns::log_return;
use crate::scan_row::ScanRow;
use crate::scanner::panel_rows;
use std::ops::Range;

/// Row-major log returns of a price panel (row 0 is all NaN), SPEC §6.
pub(crate) fn panel_returns(n: usize, closes: &[f64], rows: usize) -> Vec<f64> {
    let mut r = vec![f64::NAN; rows * n];
    for t in 1..rows {
        for i in 0..n {
            r[t * n + i] = log_return(closes[(t - 1) * n + i], closes[t * n + i]);
        }
    }
    r
}

/// Members of window `w` at row `t` (SPEC §6): the assets whose returns at rows t−w+1..t are
/// all finite and not all identical (identical ⇔ zero variance).
pub(crate) fn window_members(ret: &[f64], n: usize, t: usize, w: usize) -> Vec<usize> {
    if t + 1 < w {
        return Vec::new();
    }
    (0..n)
        .filter(|&i| {
            let first = ret[(t + 1 - w) * n + i];
            let mut all_equal = true;
            for a in t + 1 - w..=t {
                let v = ret[a * n + i];
                if !v.is_finite() {
                    return false;
                }
                all_equal &= v == first;
            }
            !all_equal
        })
        .collect()
}

/// `(lambda_hat, instability)` of window `w` at row `t` over `members`, in the arithmetic of
/// `T`; `ret_of(a, i)` gives the return of row `a`, asset `i` in `T`.
pub(crate) fn evaluate_window<T: Real>(
    members: &[usize],
    t: usize,
    w: usize,
    steps: usize,
    ret_of: impl Fn(usize, usize) -> T,
) -> (T, f64) {
    let nw = members.len();
    let mut cols = Vec::with_capacity(nw * w);
    for &i in members {
        for a in t + 1 - w..=t {
            cols.push(ret_of(a, i));
        }
    }
    let mut c = two_pass_correlation(&cols, nw, w);
    let instab = instability(&c, nw);
    let lmax = dense_lambda_max(&mut c, nw, steps);
    (lmax.div(&T::from_f64(nw as f64)), instab)
}

/// The dense per-bar scanner for the bars in `bars` (SPEC §3), for tests and as the benchmark
/// baseline. Each returned row is what [`crate::scan_batch`] must produce for that bar.
pub fn dense_reference(
    n_assets: usize,
    closes_row_major: &[f64],
    cfg: &ScannerConfig,
    bars: Range<usize>,
) -> Result<Vec<ScanRow>, ScanError> {
    cfg.validate()?;
    let n_bars = panel_rows(n_assets, closes_row_major)?;
    if bars.end > n_bars {
        return Err(ScanError::BarOutOfRange {
            bar: bars.end.saturating_sub(1),
            n_bars,
        });
    }
    let n = n_assets;
    // Only rows the largest window of the first bar (and its previous bar) can reach matter;
    // returns are computed on that sub-panel and row t maps to t − base.
    let base = bars.start.saturating_sub(cfg.windows[3] + 2);
    let ret = panel_returns(n, &closes_row_major[base * n..], bars.end - base);
    let slow = cfg.slow_index();
    let eval_bar = |t: usize| -> [(Vec<usize>, f64, f64); 4] {
        let t = t - base;
        std::array::from_fn(|k| {
            let w = cfg.windows[k];
            let members = window_members(&ret, n, t, w);
            if members.len() < 2 {
                (members, f64::NAN, f64::NAN)
            } else {
                let (l, ins) =
                    evaluate_window::<f64>(&members, t, w, F64_BISECTION_STEPS, |a, i| {
                        ret[a * n + i]
                    });
                (members, l, ins)
            }
        })
    };
    let mut out = Vec::with_capacity(bars.len());
    let mut prev = if bars.start > 0 && !bars.is_empty() {
        Some(eval_bar(bars.start - 1))
    } else {
        None
    };
    for t in bars {
        let cur = eval_bar(t);
        let mut row = ScanRow::NAN;
        let mut vel = [f64::NAN; 4];
        for k in 0..4 {
            row.lambda_hat[k] = cur[k].1;
            row.n_assets[k] = cur[k].0.len();
            if let Some(p) = &prev
                && p[k].0 == cur[k].0
            {
                vel[k] = cur[k].1 - p[k].1;
            }
        }
        row.instability_50 = cur[0].2;
        row.instability_150 = cur[1].2;
        row.v50 = vel[0];
        row.v150 = vel[1];
        row.v300 = vel[2];
        row.v750 = vel[3];
        row.vel_div = vel[0] - vel[slow];
        out.push(row);
        prev = Some(cur);
    }
    Ok(out)
}
