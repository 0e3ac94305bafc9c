//! Import of Binance kline (candle) CSV files into a close-price panel, the scanner's input
//! (SPEC §6, first bullet of "Scanner").
//!
//! Layout of a line (Binance's public dumps): `open_time, open, high, low, close, volume,
//! close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`. Only
//! `open_time` (field 1) and `close` (field 5) are read; a line needs at least these five
//! fields, and later fields may be empty or absent. A header line is optional (line 1 is a
//! header when its first field starts with a letter). Blank lines are skipped. Files are plain
//! `.csv` or gzip `.csv.gz`, one per symbol, named `SYMBOL-<interval>.csv[.gz]`.
//!
//! Decisions (SPEC §6 where it speaks, this module where it is silent):
//! - Open times must strictly increase within a file and lie on the interval grid. For
//!   intervals that divide a day the grid starts at the Unix epoch; for longer ones (3d, 1w)
//!   it starts at the file's first open time (Binance anchors those on its own calendar).
//! - Open times ≥ 10^14 are taken as microseconds (Binance's spot dumps since 2025 use µs)
//!   and converted to ms.
//! - A close that is non-finite or ≤ 0 is a missing price (NaN), not an error; each one is
//!   counted as an input warning naming file, line and field (docs/INPUTS.md).
//! - Every data line has the same number of fields: the header's, or without a header the
//!   first data line's (a shifted or truncated line is an error, not a guess). With a header,
//!   its fifth field must be `close`.
//! - A file without a data line (empty, blank or header only) is an error.
//! - When no two consecutive rows are one interval apart (the content looks coarser than the
//!   file name says), the file is read as it is and a warning says so.
//! - The panel's rows are the union of all symbols' open times, no invented grid: a symbol
//!   without a candle at a row has NaN there (no forward fill).

use crate::error::DataError;
use dolphin_core::{InputWarning, InputWarnings, RowUnit, UtcDate, date_of_ms};
use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Close prices of several symbols on the union of their open times (SPEC §6).
#[derive(Debug, Clone, PartialEq)]
pub struct KlinePanel {
    /// Interval as written in the file names, e.g. `1m`.
    pub interval: String,
    /// The interval in milliseconds.
    pub interval_ms: i64,
    /// Symbols, sorted by name; the panel's columns.
    pub symbols: Vec<String>,
    /// Union of all symbols' open times (ms, UTC), strictly ascending; the panel's rows.
    pub open_time: Vec<i64>,
    /// Row-major closes, `closes[row * symbols.len() + col]`; NaN where a symbol has no
    /// candle at that row or its close is not a valid price.
    pub closes: Vec<f64>,
    /// Defects accepted while reading (closes read as missing, ...), in file-name order.
    pub warnings: InputWarnings,
}

/// One kline file as read: its symbol and interval (from the name), `(open_time ms, close)`
/// per candle in file order, and the defects accepted on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct KlineFile {
    pub symbol: String,
    pub interval: String,
    pub rows: Vec<(i64, f64)>,
    pub warnings: InputWarnings,
}

impl KlinePanel {
    /// Number of rows (distinct open times).
    pub fn n_rows(&self) -> usize {
        self.open_time.len()
    }

    /// Number of symbols (columns).
    pub fn n_symbols(&self) -> usize {
        self.symbols.len()
    }

    /// The closes of row `r`, one per symbol in column order.
    pub fn row(&self, r: usize) -> &[f64] {
        let n = self.symbols.len();
        &self.closes[r * n..(r + 1) * n]
    }

    /// Column index of a symbol.
    pub fn symbol_index(&self, symbol: &str) -> Option<usize> {
        self.symbols
            .binary_search_by(|s| s.as_str().cmp(symbol))
            .ok()
    }

    /// The close of `symbol` at row `r` (NaN when missing).
    pub fn close(&self, r: usize, symbol: &str) -> Option<f64> {
        let c = self.symbol_index(symbol)?;
        self.closes.get(r * self.symbols.len() + c).copied()
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Length in ms of a Binance kline interval `<n><unit>` with unit `s`, `m`, `h`, `d` or `w`
/// (e.g. `1m`, `15m`, `4h`, `1d`, `1w`). `1M` (calendar month) has no fixed length: `None`.
pub fn interval_ms(interval: &str) -> Option<i64> {
    let (num, unit) = interval.split_at(interval.len().checked_sub(1)?);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => MS_PER_DAY,
        "w" => 7 * MS_PER_DAY,
        _ => return None,
    };
    n.checked_mul(unit_ms).filter(|&ms| ms > 0)
}

/// Splits a kline file name `SYMBOL-<interval>.csv[.gz]` into `(symbol, interval, gzipped)`.
pub fn parse_kline_file_name(path: &Path) -> Result<(String, String, bool), DataError> {
    let bad = |reason: &str| DataError::BadKlineFileName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("not a UTF-8 file name"))?;
    let (stem, gz) = if let Some(s) = name.strip_suffix(".csv.gz") {
        (s, true)
    } else if let Some(s) = name.strip_suffix(".csv") {
        (s, false)
    } else {
        return Err(bad("extension is not .csv or .csv.gz"));
    };
    let (symbol, interval) = stem
        .rsplit_once('-')
        .ok_or_else(|| bad("no `-` between symbol and interval"))?;
    if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("symbol must be non-empty and alphanumeric"));
    }
    if interval_ms(interval).is_none() {
        return Err(bad(&format!("`{interval}` is not a fixed-length interval")));
    }
    Ok((symbol.to_string(), interval.to_string(), gz))
}

/// Reads one kline file: its symbol and interval (from the name) and `(open_time ms, close)`
/// per candle, in file order (SPEC §6; see the module doc for the rules).
/// The accepted defects are dropped here; [`read_kline_file_checked`] returns them.
#[allow(clippy::type_complexity)] // the tuple is the agreed interface (task brief)
pub fn read_kline_file(path: &Path) -> Result<(String, String, Vec<(i64, f64)>), DataError> {
    let f = read_kline_file_checked(path)?;
    Ok((f.symbol, f.interval, f.rows))
}

/// [`read_kline_file`] with the accepted defects (module doc) as warnings.
pub fn read_kline_file_checked(path: &Path) -> Result<KlineFile, DataError> {
    let (_, _, gz) = parse_kline_file_name(path)?;
    let bytes = read_bytes(path, gz)?;
    parse_kline_csv(path, &bytes)
}

/// Parses the (already decompressed) text of the kline file `path`; the name gives symbol
/// and interval and names the file in errors (the fuzz target's entry point, fuzz/).
pub fn parse_kline_csv(path: &Path, bytes: &[u8]) -> Result<KlineFile, DataError> {
    let (symbol, interval, _) = parse_kline_file_name(path)?;
    let step = interval_ms(&interval).expect("checked by parse_kline_file_name");
    let mut warnings = InputWarnings::new();
    let rows = parse_kline_bytes(path, bytes, &interval, step, &mut warnings)?;
    Ok(KlineFile {
        symbol,
        interval,
        rows,
        warnings,
    })
}

/// Loads every `SYMBOL-<interval>.csv[.gz]` file in `dir` into one panel, keeping candles
/// with `from_ms ≤ open_time ≤ to_ms` (bounds inclusive, `None` = open). Other files are
/// ignored. All files must share one interval (SPEC §6).
pub fn load_kline_dir(
    dir: &Path,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<KlinePanel, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    let mut files: Vec<(String, String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if !path.is_file() {
            continue;
        }
        if let Ok((symbol, interval, _)) = parse_kline_file_name(&path) {
            files.push((symbol, interval, path));
        }
    }
    if files.is_empty() {
        return Err(DataError::NoKlineFiles {
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    for w in files.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(DataError::DuplicateSymbol {
                path: w[1].2.clone(),
                symbol: w[1].0.clone(),
                first_path: w[0].2.clone(),
            });
        }
    }
    let (_, interval, first_path) = &files[0];
    for (_, other, path) in &files[1..] {
        if other != interval {
            return Err(DataError::MixedIntervals {
                path: path.clone(),
                interval: other.clone(),
                first_path: first_path.clone(),
                first_interval: interval.clone(),
            });
        }
    }
    let interval = interval.clone();
    let step = interval_ms(&interval).expect("checked by parse_kline_file_name");

    // Parse in parallel; report the first failing file in name order.
    let parsed: Vec<Result<KlineFile, DataError>> = files
        .par_iter()
        .map(|(_, _, path)| read_kline_file_checked(path))
        .collect();
    let mut series = Vec::with_capacity(parsed.len());
    let mut warnings = InputWarnings::new();
    for p in parsed {
        let file = p?;
        warnings.append(file.warnings);
        let rows = file.rows;
        let lo = from_ms.map_or(0, |f| rows.partition_point(|&(t, _)| t < f));
        let hi = to_ms.map_or(rows.len(), |t| rows.partition_point(|&(o, _)| o <= t));
        series.push(rows[lo..hi.max(lo)].to_vec());
    }

    let mut open_time: Vec<i64> = series.iter().flatten().map(|&(t, _)| t).collect();
    open_time.sort_unstable();
    open_time.dedup();

    let n = series.len();
    let mut closes = vec![f64::NAN; open_time.len() * n];
    for (col, rows) in series.iter().enumerate() {
        // Both sequences ascend: walk them together.
        let mut r = 0usize;
        for &(t, c) in rows {
            while open_time[r] < t {
                r += 1;
            }
            closes[r * n + col] = c;
        }
    }
    Ok(KlinePanel {
        interval,
        interval_ms: step,
        symbols: files.into_iter().map(|(s, _, _)| s).collect(),
        open_time,
        closes,
        warnings,
    })
}

/// Consecutive row ranges of `panel` that share one UTC date, in row order (SPEC §6: a day
/// file's date is the UTC date of its rows' open times).
pub fn split_by_utc_date(panel: &KlinePanel) -> Vec<(UtcDate, Range<usize>)> {
    let mut out: Vec<(UtcDate, Range<usize>)> = Vec::new();
    let mut start = 0usize;
    while start < panel.open_time.len() {
        let day = panel.open_time[start].div_euclid(MS_PER_DAY);
        let next_day_ms = (day + 1) * MS_PER_DAY;
        let end = start + panel.open_time[start..].partition_point(|&t| t < next_day_ms);
        out.push((date_of_ms(panel.open_time[start]), start..end));
        start = end;
    }
    out
}

fn read_bytes(path: &Path, gz: bool) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if !gz {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| DataError::io(path, e))?;
    Ok(out)
}

/// Parses the text of a kline file. `line` numbers are 1-based, as an editor shows them.
fn parse_kline_bytes(
    path: &Path,
    bytes: &[u8],
    interval: &str,
    step: i64,
    warnings: &mut InputWarnings,
) -> Result<Vec<(i64, f64)>, DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes); // UTF-8 BOM
    let mut rows: Vec<(i64, f64)> = Vec::with_capacity(bytes.len() / 48 + 1);
    let mut prev_line = 0usize;
    // Grid origin: the epoch when the interval divides a day, else the first open time.
    let mut anchor: Option<i64> = (MS_PER_DAY % step == 0).then_some(0);
    // Fields per line: the header's, else the first data line's; (count, line it came from).
    let mut width: Option<(usize, usize)> = None;
    let mut min_step = i64::MAX;
    let mut line_start = 0usize;
    let mut idx = 0usize;
    while line_start < bytes.len() {
        let line_end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
        let raw_line = &bytes[line_start..line_end];
        line_start = line_end + 1;
        idx += 1;
        let line_no = idx;
        let line = raw_line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let count = memchr::memchr_iter(b',', line).count() + 1;
        let mut fields = line.split(|&b| b == b',');
        let f_time = fields.next().unwrap_or_default().trim_ascii();
        let f_close = fields.nth(3).map(<[u8]>::trim_ascii);
        if idx == 1 && f_time.first().is_some_and(|b| b.is_ascii_alphabetic()) {
            // Header: it fixes the width and must name the fifth field `close`.
            if f_close.is_some_and(|c| !c.eq_ignore_ascii_case(b"close")) {
                return Err(DataError::bad_line(
                    path,
                    line_no,
                    format!(
                        "header field 5 is `{}`, expected `close` (open_time, open, high, low, close, ...)",
                        String::from_utf8_lossy(f_close.unwrap_or_default())
                    ),
                ));
            }
            width = Some((count, line_no));
            if count >= 5 {
                continue;
            }
        }
        let Some(f_close) = f_close else {
            return Err(DataError::bad_line(
                path,
                line_no,
                format!("too few fields: {count}, need at least 5 (open_time .. close)"),
            ));
        };
        match width {
            Some((w, from)) if w != count => {
                return Err(DataError::bad_line(
                    path,
                    line_no,
                    format!(
                        "{count} fields, but line {from} has {w}; every line needs the same fields"
                    ),
                ));
            }
            Some(_) => {}
            None => width = Some((count, line_no)),
        }
        let mut t = parse_i64(f_time).ok_or_else(|| {
            DataError::bad_line(
                path,
                line_no,
                format!(
                    "open_time `{}` is not an integer",
                    String::from_utf8_lossy(f_time)
                ),
            )
        })?;
        if t >= 100_000_000_000_000 {
            if t % 1000 != 0 {
                return Err(DataError::OffGrid {
                    path: path.to_path_buf(),
                    line: line_no,
                    open_time: t,
                    interval: interval.to_string(),
                });
            }
            t /= 1000; // microseconds -> milliseconds
        }
        let close = std::str::from_utf8(f_close)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| {
                DataError::bad_line(
                    path,
                    line_no,
                    format!(
                        "close `{}` is not a number",
                        String::from_utf8_lossy(f_close)
                    ),
                )
            })?;
        let close = if close.is_finite() && close > 0.0 {
            close
        } else {
            warnings.push(InputWarning::new(
                path.display(),
                RowUnit::Line,
                Some(line_no as u64),
                "close",
                format!(
                    "`{}` is not a price > 0: read as a missing price (SPEC §6)",
                    String::from_utf8_lossy(f_close)
                ),
            ));
            f64::NAN
        };
        let origin = *anchor.get_or_insert(t);
        if (t - origin).rem_euclid(step) != 0 {
            return Err(DataError::OffGrid {
                path: path.to_path_buf(),
                line: line_no,
                open_time: t,
                interval: interval.to_string(),
            });
        }
        if let Some(&(prev, _)) = rows.last() {
            if t == prev {
                return Err(DataError::DuplicateOpenTime {
                    path: path.to_path_buf(),
                    line: line_no,
                    prev_line,
                    open_time: t,
                });
            }
            if t < prev {
                return Err(DataError::UnorderedOpenTime {
                    path: path.to_path_buf(),
                    line: line_no,
                    prev_line,
                    open_time: t,
                    prev_open_time: prev,
                });
            }
        }
        if let Some(&(prev, _)) = rows.last() {
            min_step = min_step.min(t - prev);
        }
        rows.push((t, close));
        prev_line = line_no;
    }
    if rows.is_empty() {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
            what: if bytes.trim_ascii().is_empty() {
                "the file is empty"
            } else {
                "the file holds no data line (header or blank lines only)"
            },
        });
    }
    if rows.len() >= 3 && min_step > step {
        warnings.push(InputWarning::new(
            path.display(),
            RowUnit::Line,
            None,
            "open_time",
            format!(
                "no two consecutive rows are {interval} apart (smallest step {} s): the content may have a coarser interval than the file name; read as {interval} rows with gaps",
                min_step / 1000
            ),
        ));
    }
    Ok(rows)
}

/// A decimal integer with an optional leading `-`, no other characters.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(interval_ms("1m"), Some(60_000));
        assert_eq!(interval_ms("15m"), Some(900_000));
        assert_eq!(interval_ms("4h"), Some(14_400_000));
        assert_eq!(interval_ms("1d"), Some(86_400_000));
        assert_eq!(interval_ms("1w"), Some(604_800_000));
        assert_eq!(interval_ms("1s"), Some(1_000));
        assert_eq!(interval_ms("1M"), None);
        assert_eq!(interval_ms("m"), None);
        assert_eq!(interval_ms(""), None);
        assert_eq!(interval_ms("0m"), None);
        assert_eq!(interval_ms("funding"), None);
    }

    #[test]
    fn file_names() {
        let (s, i, gz) = parse_kline_file_name(Path::new("/x/BTCUSDT-1m.csv.gz")).unwrap();
        assert_eq!((s.as_str(), i.as_str(), gz), ("BTCUSDT", "1m", true));
        let (s, i, gz) = parse_kline_file_name(Path::new("ETHUSDT-5m.csv")).unwrap();
        assert_eq!((s.as_str(), i.as_str(), gz), ("ETHUSDT", "5m", false));
        assert!(parse_kline_file_name(Path::new("BTCUSDT-funding.csv")).is_err());
        assert!(parse_kline_file_name(Path::new("BTCUSDT.csv")).is_err());
        assert!(parse_kline_file_name(Path::new("BTCUSDT-1m.txt")).is_err());
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"1746372780000"), Some(1_746_372_780_000));
        assert_eq!(parse_i64(b"-5"), Some(-5));
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"12a"), None);
        assert_eq!(parse_i64(b"1.5"), None);
    }
}
