//! The input rule for day files (issue 14 item 1; SPEC §3, §6, D10; docs/INPUTS.md): what a
//! command accepts from a day file beyond what [`read_day_file`] already enforces (schema,
//! types, nulls in `timestamp`/`scan_number`, strictly increasing timestamps on the file's
//! date).
//!
//! [`read_day_file`] reads every file it can represent, so that whatever is written can be read
//! back. Before a command uses day files it runs them through [`check_day_files`], which adds:
//! - rejected: a file without rows (a day file holds at least one bar); a `±inf` in a signal
//!   column (the scanner writes NaN for "no value", never an infinity: an infinite velocity is
//!   a corrupt file, and `vel_div = −inf` would read as the strongest possible signal);
//! - accepted and warned: a price that is `±inf` or `≤ 0` — a missing price (SPEC D10: only
//!   prices > 0 and finite enter a history), one warning per cell;
//! - accepted and counted, not warned: NaN prices (the day file's encoding of "no candle",
//!   written by the scanner wherever a symbol has none) and NaN signals (SPEC §6: the scanner's
//!   warm-up and window changes; no signal on that bar). Their counts are shown with the run.

use crate::day_file::read_day_file;
use crate::error::DataError;
use dolphin_core::{DayFrame, InputWarning, InputWarnings, RowUnit, SIGNAL_COLUMNS, UtcDate};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Counts of the values a run takes as "missing" (accepted on purpose, module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MissingValues {
    /// Rows read.
    pub rows: u64,
    /// Rows whose `vel_div` is NaN (no signal on those bars, SPEC §6).
    pub nan_vel_div: u64,
    /// NaN values in the other six signal columns.
    pub nan_other_signals: u64,
    /// Price cells that are NaN (no candle).
    pub nan_prices: u64,
    /// Price cells that are ±inf or ≤ 0 (each also a warning).
    pub bad_prices: u64,
}

impl MissingValues {
    /// Adds the counts of `o`.
    pub fn add(&mut self, o: &MissingValues) {
        self.rows += o.rows;
        self.nan_vel_div += o.nan_vel_div;
        self.nan_other_signals += o.nan_other_signals;
        self.nan_prices += o.nan_prices;
        self.bad_prices += o.bad_prices;
    }
}

/// What checking a set of day files found (they passed, else it is an error).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFilesCheck {
    pub warnings: InputWarnings,
    pub missing: MissingValues,
}

/// Applies the day-file rule (module doc) to a frame read from `path`.
pub fn check_day_frame(path: &Path, frame: &DayFrame) -> Result<DayFilesCheck, DataError> {
    if frame.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
            what: "the day file has a schema but no rows (a day file holds at least one bar)",
        });
    }
    let mut out = DayFilesCheck::default();
    let m = &mut out.missing;
    m.rows = frame.len() as u64;
    let signals: [&[f64]; 7] = [
        &frame.vel_div,
        &frame.v50_vel,
        &frame.v150_vel,
        &frame.v300_vel,
        &frame.v750_vel,
        &frame.instability_50,
        &frame.instability_150,
    ];
    for (k, (name, col)) in SIGNAL_COLUMNS.iter().zip(signals).enumerate() {
        for (row, &v) in col.iter().enumerate() {
            if v.is_nan() {
                if k == 0 {
                    m.nan_vel_div += 1;
                } else {
                    m.nan_other_signals += 1;
                }
            } else if v.is_infinite() {
                return Err(DataError::NonFiniteSignal {
                    path: path.to_path_buf(),
                    row,
                    column: (*name).to_string(),
                    value: v,
                });
            }
        }
    }
    let n = frame.n_assets();
    for (i, &p) in frame.prices.iter().enumerate() {
        if p.is_nan() {
            m.nan_prices += 1;
        } else if !(p.is_finite() && p > 0.0) {
            m.bad_prices += 1;
            out.warnings.push(InputWarning::new(
                path.display(),
                RowUnit::Row,
                Some((i / n) as u64),
                frame.assets[i % n].clone(),
                format!("price {p} is not > 0 and finite: read as a missing price (SPEC D10)"),
            ));
        }
    }
    Ok(out)
}

/// Reads and checks one day file.
pub fn check_day_file(path: &Path) -> Result<DayFilesCheck, DataError> {
    let frame = read_day_file(path)?;
    check_day_frame(path, &frame)
}

/// Reads and checks every day file of a run (in parallel) before anything runs, so that a bad
/// file stops the command before it writes anything. The first failing file in date order is
/// the error; warnings come in date order.
pub fn check_day_files(files: &[(UtcDate, PathBuf)]) -> Result<DayFilesCheck, DataError> {
    let checked: Vec<Result<DayFilesCheck, DataError>> =
        files.par_iter().map(|(_, p)| check_day_file(p)).collect();
    let mut out = DayFilesCheck::default();
    for c in checked {
        let c = c?;
        out.missing.add(&c.missing);
        out.warnings.append(c.warnings);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(prices: Vec<f64>, vel_div: Vec<f64>) -> DayFrame {
        let date: UtcDate = "2025-05-05".parse().unwrap();
        let mut f = DayFrame::empty(date, vec!["AUSDT".into(), "BUSDT".into()]);
        for (r, v) in vel_div.into_iter().enumerate() {
            f.timestamp.push(date.start_ms() + r as i64 * 60_000);
            f.scan_number.push(r as i64);
            f.vel_div.push(v);
            for c in [
                &mut f.v50_vel,
                &mut f.v150_vel,
                &mut f.v300_vel,
                &mut f.v750_vel,
                &mut f.instability_50,
                &mut f.instability_150,
            ] {
                c.push(0.1);
            }
        }
        f.prices = prices;
        f
    }

    #[test]
    fn bad_prices_warn_nan_prices_count() {
        let f = frame(
            vec![1.0, f64::NAN, 0.0, 2.0, -3.0, f64::INFINITY],
            vec![f64::NAN, -0.03, 0.0],
        );
        let c = check_day_frame(Path::new("d.parquet"), &f).unwrap();
        assert_eq!(c.missing.rows, 3);
        assert_eq!(c.missing.nan_vel_div, 1);
        assert_eq!(c.missing.nan_prices, 1);
        assert_eq!(c.missing.bad_prices, 3);
        let shown: Vec<String> = c.warnings.kept().iter().map(|w| w.to_string()).collect();
        assert_eq!(
            shown,
            [
                "d.parquet: row 1: AUSDT: price 0 is not > 0 and finite: read as a missing price (SPEC D10)",
                "d.parquet: row 2: AUSDT: price -3 is not > 0 and finite: read as a missing price (SPEC D10)",
                "d.parquet: row 2: BUSDT: price inf is not > 0 and finite: read as a missing price (SPEC D10)",
            ]
        );
    }

    #[test]
    fn infinite_signal_and_no_rows_are_rejected() {
        let f = frame(vec![1.0, 1.0, 1.0, 1.0], vec![-0.01, f64::NEG_INFINITY]);
        let e = check_day_frame(Path::new("d.parquet"), &f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.parquet: row 1 (0-based): column `vel_div` holds -inf; signals must be finite or NaN (no value)"
        );
        let e = check_day_frame(Path::new("d.parquet"), &frame(vec![], vec![])).unwrap_err();
        assert!(matches!(e, DataError::NoRows { .. }), "{e}");
    }
}
