//! Daily external factors of ACBv6 scale 1 (seeds B §10.2, SPEC §3 "External factors") from
//! plain indicator tables, the alternative to NG3's `.npz` layout (see [`crate::npz`]).
//!
//! Sources (all optional; an absent file is an absent factor):
//! - `indicators/dvol_btc_daily.csv` — `date,value`: Deribit BTC DVOL, the close of UTC day `date`.
//! - `indicators/fear_greed_daily.csv` — `date,value`: Fear & Greed index published for `date`.
//! - `indicators/taker_ratio_daily.csv` — `date,value`: taker buy/sell ratio of day `date`.
//! - `indicators/funding_rate_btcusdt_8h.csv` — `time,rate`: BTCUSDT funding settlements
//!   (ms since the epoch, rate as a fraction).
//! - `funding/BTCUSDT-funding.csv` — `calc_time,funding_interval_hours,last_funding_rate`.
//!
//! The ACB is computed at the start of each date, so no factor may use information from
//! later in that date (no look-ahead). Decisions:
//! - `funding_btc` for D = the rate of the most recent settlement with time ≤ D 00:00:00.999
//!   UTC (the 999 ms absorb Binance's millisecond jitter on `fundingTime`), if that settlement
//!   is at most 24 h before D 00:00; else `None`. The per-symbol `funding/BTCUSDT-funding.csv`
//!   is preferred: its settlement is used unless the 8 h indicator file has a settlement more
//!   than 999 ms more recent (so a date the per-symbol file no longer covers falls back to the
//!   8 h file, and a stale per-symbol rate never hides a newer one).
//! - `dvol_btc` for D = the value dated D−1 (the value dated D is the close of day D, unknown
//!   at its start).
//! - `fng` for D = the value dated D (the index is published at the start of its day).
//! - `taker` for D = the value dated D−1 (a day's ratio is known only at its end).
//!
//! The returned map holds every date from the first to the last date on which at least one
//! factor is known; dates in between without any data are present with all factors `None`.
//! Lines: line 1 may be a header (its first field starts with a letter); blank lines are
//! skipped; any other line that does not parse is an error naming file and line. Every line
//! has the header's number of fields (or the first data line's); dates (settlement times) must
//! strictly increase, so a repeated or out-of-order line is an error; values must be finite,
//! and DVOL and the taker ratio > 0, Fear & Greed within 0..=100. A table without data lines,
//! an indicators directory with none of the tables and a funding directory without
//! `BTCUSDT-funding.csv` are errors (an absent factor must be absent on purpose, not by a
//! typo in a path). docs/INPUTS.md lists every rule.

use crate::error::DataError;
use dolphin_core::{ExternalFactors, UtcDate, date_of_ms};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tables of an indicators directory (module doc).
pub const INDICATOR_TABLES: [&str; 4] = [
    "dvol_btc_daily.csv",
    "fear_greed_daily.csv",
    "taker_ratio_daily.csv",
    "funding_rate_btcusdt_8h.csv",
];
/// The per-symbol funding table read from a funding directory.
pub const FUNDING_TABLE: &str = "BTCUSDT-funding.csv";

/// The range a daily value must lie in.
#[derive(Clone, Copy)]
enum Range {
    /// > 0 (DVOL, taker ratio).
    Positive,
    /// 0..=100 (Fear & Greed).
    Percent,
}

/// Milliseconds tolerated after 00:00:00.000 for a settlement to count for that date.
pub const FUNDING_JITTER_MS: i64 = 999;
const MS_PER_DAY: i64 = 86_400_000;

/// Loads the daily external factors (seeds B §10.2; the lag rules are in the module doc).
/// `indicators_dir` holds the `indicators/` tables and `funding_dir` the per-symbol funding
/// files; either may be `None`. A directory that is given but does not exist is an error.
pub fn load_external_factors(
    indicators_dir: Option<&Path>,
    funding_dir: Option<&Path>,
) -> Result<BTreeMap<UtcDate, ExternalFactors>, DataError> {
    for dir in [indicators_dir, funding_dir].into_iter().flatten() {
        if !dir.is_dir() {
            return Err(DataError::MissingDir {
                path: dir.to_path_buf(),
            });
        }
    }
    let existing = |dir: Option<&Path>, name: &str| -> Option<PathBuf> {
        dir.map(|d| d.join(name)).filter(|p| p.is_file())
    };
    if let Some(dir) = indicators_dir
        && INDICATOR_TABLES
            .iter()
            .all(|name| existing(Some(dir), name).is_none())
    {
        return Err(DataError::MissingFile {
            path: dir.to_path_buf(),
            what: format!(
                "none of the indicator tables ({}) and no NG3 `YYYY-MM-DD/scan_*__Indicators.npz` folders",
                INDICATOR_TABLES.join(", ")
            ),
        });
    }
    if let Some(dir) = funding_dir
        && existing(Some(dir), FUNDING_TABLE).is_none()
    {
        return Err(DataError::MissingFile {
            path: dir.to_path_buf(),
            what: format!(
                "no {FUNDING_TABLE} (the funding_btc factor reads BTCUSDT's settlements)"
            ),
        });
    }

    let dvol = match existing(indicators_dir, "dvol_btc_daily.csv") {
        Some(p) => read_daily(&p, Range::Positive)?,
        None => BTreeMap::new(),
    };
    let fng = match existing(indicators_dir, "fear_greed_daily.csv") {
        Some(p) => read_daily(&p, Range::Percent)?,
        None => BTreeMap::new(),
    };
    let taker = match existing(indicators_dir, "taker_ratio_daily.csv") {
        Some(p) => read_daily(&p, Range::Positive)?,
        None => BTreeMap::new(),
    };
    let funding_8h = match existing(indicators_dir, "funding_rate_btcusdt_8h.csv") {
        Some(p) => read_timed(&p, 1)?,
        None => Vec::new(),
    };
    let funding_sym = match existing(funding_dir, FUNDING_TABLE) {
        Some(p) => read_timed(&p, 2)?,
        None => Vec::new(),
    };

    // Candidate dates: every source date, plus one day for the lagged sources.
    let mut lo: Option<UtcDate> = None;
    let mut hi: Option<UtcDate> = None;
    let mut widen = |d: UtcDate| {
        lo = Some(lo.map_or(d, |l| l.min(d)));
        hi = Some(hi.map_or(d, |h| h.max(d)));
    };
    for m in [&dvol, &fng, &taker] {
        if let (Some((&a, _)), Some((&b, _))) = (m.first_key_value(), m.last_key_value()) {
            widen(a);
            widen(b.succ());
        }
    }
    for s in [&funding_8h, &funding_sym] {
        if let (Some(&(a, _)), Some(&(b, _))) = (s.first(), s.last()) {
            widen(date_of_ms(a));
            widen(date_of_ms(b).succ());
        }
    }
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(BTreeMap::new());
    };

    let mut out = BTreeMap::new();
    let mut day = lo.days_since_epoch();
    while day <= hi.days_since_epoch() {
        let date = UtcDate::from_days_since_epoch(day);
        let prev = UtcDate::from_days_since_epoch(day - 1);
        let f = ExternalFactors {
            date,
            funding_btc: preferred_funding(&funding_sym, &funding_8h, date),
            dvol_btc: dvol.get(&prev).copied(),
            fng: fng.get(&date).copied(),
            taker: taker.get(&prev).copied(),
        };
        out.insert(date, f);
        day += 1;
    }
    // Trim leading and trailing dates where nothing is known.
    let known = |f: &ExternalFactors| {
        f.funding_btc.is_some() || f.dvol_btc.is_some() || f.fng.is_some() || f.taker.is_some()
    };
    while out.first_key_value().is_some_and(|(_, f)| !known(f)) {
        out.pop_first();
    }
    while out.last_key_value().is_some_and(|(_, f)| !known(f)) {
        out.pop_last();
    }
    Ok(out)
}

/// The funding rate in force at the start of `date` (module doc): last settlement with
/// time ≤ start + 999 ms and ≥ start − 24 h. `settlements` ascend by time.
pub fn funding_at(settlements: &[(i64, f64)], date: UtcDate) -> Option<f64> {
    settlement_at(settlements, date).map(|(_, rate)| rate)
}

/// The settlement `(time, rate)` behind [`funding_at`].
fn settlement_at(settlements: &[(i64, f64)], date: UtcDate) -> Option<(i64, f64)> {
    let start = date.start_ms();
    let idx = settlements.partition_point(|&(t, _)| t <= start + FUNDING_JITTER_MS);
    let &(t, rate) = settlements.get(idx.checked_sub(1)?)?;
    (t >= start - MS_PER_DAY).then_some((t, rate))
}

/// Per-symbol settlement unless the fallback source has one more than 999 ms newer.
fn preferred_funding(
    preferred: &[(i64, f64)],
    fallback: &[(i64, f64)],
    date: UtcDate,
) -> Option<f64> {
    match (
        settlement_at(preferred, date),
        settlement_at(fallback, date),
    ) {
        (Some((tp, rp)), Some((tf, rf))) => Some(if tf > tp + FUNDING_JITTER_MS { rf } else { rp }),
        (p, f) => p.or(f).map(|(_, rate)| rate),
    }
}

/// A `date,value` table (1-based line numbers in errors).
fn read_daily(path: &Path, range: Range) -> Result<BTreeMap<UtcDate, f64>, DataError> {
    let mut out: BTreeMap<UtcDate, f64> = BTreeMap::new();
    let mut last: Option<(UtcDate, usize)> = None;
    for_each_record(path, |line, fields| {
        let [d, v, ..] = fields else {
            return Err(DataError::bad_line(
                path,
                line,
                format!("expected 2 fields (date,value), found {}", fields.len()),
            ));
        };
        let date: UtcDate = d.parse().map_err(|_| {
            DataError::bad_line(path, line, format!("`{d}` is not a YYYY-MM-DD date"))
        })?;
        let value = parse_finite(path, line, "value", v)?;
        let ok = match range {
            Range::Positive => value > 0.0,
            Range::Percent => (0.0..=100.0).contains(&value),
        };
        if !ok {
            let want = match range {
                Range::Positive => "> 0",
                Range::Percent => "within 0..=100",
            };
            return Err(DataError::bad_line(
                path,
                line,
                format!("value {value} must be {want}"),
            ));
        }
        check_order(path, line, date, &mut last, |d| format!("date {d}"))?;
        out.insert(date, value);
        Ok(())
    })?;
    Ok(out)
}

/// Keys must strictly increase from line to line.
fn check_order<K: PartialOrd + Copy>(
    path: &Path,
    line: usize,
    key: K,
    last: &mut Option<(K, usize)>,
    show: impl Fn(K) -> String,
) -> Result<(), DataError> {
    if let Some((prev, prev_line)) = *last {
        if key == prev {
            return Err(DataError::bad_line(
                path,
                line,
                format!("{} already given on line {prev_line}", show(key)),
            ));
        }
        if key < prev {
            return Err(DataError::bad_line(
                path,
                line,
                format!(
                    "{} is earlier than {} on line {prev_line}; rows must be in time order",
                    show(key),
                    show(prev)
                ),
            ));
        }
    }
    *last = Some((key, line));
    Ok(())
}

/// A `time_ms, ..., value` table with the value in field `value_field` (0-based), sorted by
/// time on return.
fn read_timed(path: &Path, value_field: usize) -> Result<Vec<(i64, f64)>, DataError> {
    let mut out: Vec<(i64, f64)> = Vec::new();
    let mut last: Option<(i64, usize)> = None;
    for_each_record(path, |line, fields| {
        if fields.len() <= value_field {
            return Err(DataError::bad_line(
                path,
                line,
                format!(
                    "expected at least {} fields, found {}",
                    value_field + 1,
                    fields.len()
                ),
            ));
        }
        let t: i64 = fields[0].parse().map_err(|_| {
            DataError::bad_line(
                path,
                line,
                format!("time `{}` is not an integer (ms)", fields[0]),
            )
        })?;
        let v = parse_finite(path, line, "rate", fields[value_field])?;
        check_order(path, line, t, &mut last, |t| format!("time {t}"))?;
        out.push((t, v));
        Ok(())
    })?;
    Ok(out)
}

fn parse_finite(path: &Path, line: usize, what: &str, s: &str) -> Result<f64, DataError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            DataError::bad_line(path, line, format!("{what} `{s}` is not a finite number"))
        })
}

/// Calls `f(line_number, fields)` for each data line of a small CSV file (header on line 1
/// and blank lines skipped; fields trimmed).
fn for_each_record(
    path: &Path,
    mut f: impl FnMut(usize, &[&str]) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut fields: Vec<&str> = Vec::with_capacity(4);
    // Fields per line: the header's, else the first data line's; (count, line).
    let mut width: Option<(usize, usize)> = None;
    let mut records = 0usize;
    for (idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        fields.clear();
        fields.extend(line.split(',').map(str::trim));
        match width {
            Some((w, from)) if w != fields.len() => {
                return Err(DataError::bad_line(
                    path,
                    idx + 1,
                    format!(
                        "{} fields, but line {from} has {w}; every line needs the same fields",
                        fields.len()
                    ),
                ));
            }
            Some(_) => {}
            None => width = Some((fields.len(), idx + 1)),
        }
        if idx == 0 && fields[0].starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        records += 1;
        f(idx + 1, &fields)?;
    }
    if records == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
            what: if text.trim().is_empty() {
                "the file is empty"
            } else {
                "the file holds no data line (header or blank lines only)"
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> UtcDate {
        s.parse().unwrap()
    }

    #[test]
    fn funding_window_and_jitter() {
        let day = d("2025-05-05").start_ms();
        let s = vec![
            (day - 16 * 3_600_000, 0.1),
            (day - 8 * 3_600_000, 0.2),
            (day + 1, 0.3), // 00:00:00.001, jitter: counts for 2025-05-05
            (day + 8 * 3_600_000, 0.4),
        ];
        assert_eq!(funding_at(&s, d("2025-05-05")), Some(0.3));
        assert_eq!(funding_at(&s, d("2025-05-06")), Some(0.4));
        // 2025-05-07 00:00: last settlement is 40 h earlier -> none.
        assert_eq!(funding_at(&s, d("2025-05-07")), None);
        assert_eq!(funding_at(&s, d("2025-05-04")), None);
        // Exactly 24 h before counts; one ms past the jitter does not.
        let s2 = vec![(day - MS_PER_DAY, 0.5), (day + 1000, 0.6)];
        assert_eq!(funding_at(&s2, d("2025-05-05")), Some(0.5));
    }
}
