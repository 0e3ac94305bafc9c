//! Kline CSV import (SPEC §6) on hand-written files and on the shared Binance candles.

use dolphin_data::{
    DataError, KlinePanel, load_kline_dir, read_kline_file, read_kline_file_checked,
    split_by_utc_date,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};

/// 2025-05-04T23:58:00Z, two minutes before a UTC midnight.
const T0: i64 = 1_746_403_080_000;
const MIN: i64 = 60_000;
const HEADER: &str = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if name.ends_with(".gz") {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
    } else {
        std::fs::write(&p, text).unwrap();
    }
    p
}

/// A full Binance row with all 12 fields.
fn full_row(t: i64, close: &str) -> String {
    format!("{t},1,2,0.5,{close},10,{},100,5,4,40,0\n", t + MIN - 1)
}

#[test]
fn header_optional_and_trailing_columns_empty() {
    let dir = tempfile::tempdir().unwrap();
    let with_header = format!(
        "{HEADER}{T0},95505.4,95505.5,95502.7,95502.7,16.536,,,,,,\n{},95502.8,95502.8,95478.0,95478.1,28.313,,,,,,\n",
        T0 + MIN
    );
    let p = write(dir.path(), "BTCUSDT-1m.csv", &with_header);
    let (sym, interval, rows) = read_kline_file(&p).unwrap();
    assert_eq!((sym.as_str(), interval.as_str()), ("BTCUSDT", "1m"));
    assert_eq!(rows, vec![(T0, 95502.7), (T0 + MIN, 95478.1)]);

    // No header, full 12-field rows, CRLF line ends, a trailing blank line.
    let text = format!(
        "{}{}\r\n",
        full_row(T0, "1.5").replace('\n', "\r\n"),
        full_row(T0 + MIN, "1.25")
    );
    let p = write(dir.path(), "ETHUSDT-1m.csv", &text);
    let (_, _, rows) = read_kline_file(&p).unwrap();
    assert_eq!(rows, vec![(T0, 1.5), (T0 + MIN, 1.25)]);

    // Only the first five fields present.
    let p = write(dir.path(), "SOLUSDT-1m.csv", &format!("{T0},1,1,1,7.5\n"));
    assert_eq!(read_kline_file(&p).unwrap().2, vec![(T0, 7.5)]);
}

#[test]
fn gzip_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEADER}{}{}",
        full_row(T0, "3.0"),
        full_row(T0 + MIN, "3.5")
    );
    let p = write(dir.path(), "XRPUSDT-1m.csv.gz", &text);
    let (sym, _, rows) = read_kline_file(&p).unwrap();
    assert_eq!(sym, "XRPUSDT");
    assert_eq!(rows, vec![(T0, 3.0), (T0 + MIN, 3.5)]);
    // A .gz name with plain text inside is an I/O (decode) error naming the file.
    let bad = write(dir.path(), "BADUSDT-1m.csv", "x");
    std::fs::rename(&bad, dir.path().join("BADUSDT-1m.csv.gz")).unwrap();
    let e = read_kline_file(&dir.path().join("BADUSDT-1m.csv.gz")).unwrap_err();
    assert!(e.to_string().contains("BADUSDT-1m.csv.gz"), "{e}");
}

#[test]
fn invalid_closes_are_missing_prices() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        full_row(T0, "0"),
        full_row(T0 + MIN, "-2"),
        full_row(T0 + 2 * MIN, "nan"),
        full_row(T0 + 3 * MIN, "inf"),
        full_row(T0 + 4 * MIN, "2.5"),
    ]
    .concat();
    let p = write(dir.path(), "AAAUSDT-1m.csv", &text);
    let rows = read_kline_file(&p).unwrap().2;
    assert_eq!(rows.len(), 5);
    assert!(rows[..4].iter().all(|(_, c)| c.is_nan()));
    assert_eq!(rows[4], (T0 + 4 * MIN, 2.5));
}

fn err_of(name: &str, text: &str) -> (PathBuf, DataError) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, text);
    let e = read_kline_file(&p).unwrap_err();
    (p, e)
}

#[test]
fn malformed_lines_are_named() {
    let (p, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!("{HEADER}{}{T0}1,2,3\n", full_row(T0 - MIN, "1")),
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 3: too few fields: 3, need at least 5 (open_time .. close)",
            p.display()
        )
    );
    let (_, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!("{}12:00,1,1,1,1,1,1,1,1,1,1,1\n", full_row(T0, "1")),
    );
    assert!(
        e.to_string()
            .ends_with("line 2: open_time `12:00` is not an integer"),
        "{e}"
    );
    let (_, e) = err_of("AAAUSDT-1m.csv", &format!("{T0},1,1,1,abc,1\n"));
    assert!(
        e.to_string()
            .ends_with("line 1: close `abc` is not a number"),
        "{e}"
    );
    let (_, e) = err_of("AAAUSDT-1m.csv", &format!("{T0},1,1,1,,1\n"));
    assert!(
        e.to_string().ends_with("line 1: close `` is not a number"),
        "{e}"
    );
}

#[test]
fn duplicate_unordered_and_off_grid_times() {
    let (_, e) = err_of(
        "AAAUSDT-1m.csv",
        &[
            full_row(T0, "1"),
            full_row(T0 + MIN, "1"),
            full_row(T0 + MIN, "2"),
        ]
        .concat(),
    );
    assert!(
        e.to_string().ends_with(&format!(
            "line 3: duplicate open time {} (same as line 2)",
            T0 + MIN
        )),
        "{e}"
    );
    let (_, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!("{HEADER}{}{}", full_row(T0, "1"), full_row(T0 - MIN, "1")),
    );
    assert!(
        matches!(
            e,
            DataError::UnorderedOpenTime {
                line: 3,
                prev_line: 2,
                ..
            }
        ),
        "{e}"
    );
    let (_, e) = err_of("AAAUSDT-5m.csv", &full_row(T0 + MIN, "1"));
    assert!(
        e.to_string().ends_with(&format!(
            "line 1: open time {} is not on the 5m grid",
            T0 + MIN
        )),
        "{e}"
    );
}

#[test]
fn microsecond_open_times_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "BTCUSDT-1m.csv",
        &format!("{}000,1,1,1,4.5,1\n", T0),
    );
    assert_eq!(read_kline_file(&p).unwrap().2, vec![(T0, 4.5)]);
}

fn panel_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // AAA: minutes 0,1,2,3 ; BBB (gz, header): minutes 1,3,4 ; CCC: minute 4 only.
    write(
        dir.path(),
        "AAAUSDT-1m.csv",
        &(0..4)
            .map(|i| full_row(T0 + i * MIN, &format!("{}", 10 + i)))
            .collect::<String>(),
    );
    write(
        dir.path(),
        "BBBUSDT-1m.csv.gz",
        &format!(
            "{HEADER}{}{}{}",
            full_row(T0 + MIN, "20.5"),
            full_row(T0 + 3 * MIN, "0"),
            full_row(T0 + 4 * MIN, "21.5")
        ),
    );
    write(dir.path(), "CCCUSDT-1m.csv", &full_row(T0 + 4 * MIN, "7"));
    // Ignored: other names.
    write(dir.path(), "README.md", "not klines");
    write(
        dir.path(),
        "AAAUSDT-funding.csv",
        "calc_time,x,rate\n1,,0.1\n",
    );
    dir
}

#[test]
fn panel_is_the_union_with_gaps_as_nan() {
    let dir = panel_dir();
    let p: KlinePanel = load_kline_dir(dir.path(), None, None).unwrap();
    assert_eq!(p.interval, "1m");
    assert_eq!(p.interval_ms, MIN);
    assert_eq!(p.symbols, ["AAAUSDT", "BBBUSDT", "CCCUSDT"]);
    assert_eq!(
        p.open_time,
        (0..5).map(|i| T0 + i * MIN).collect::<Vec<_>>()
    );
    let nan = f64::NAN;
    let expected = [
        [10.0, nan, nan],
        [11.0, 20.5, nan],
        [12.0, nan, nan],
        [13.0, nan, nan], // BBB close 0 -> missing
        [nan, 21.5, 7.0],
    ];
    for (r, row) in expected.iter().enumerate() {
        let got: Vec<u64> = p.row(r).iter().map(|v| v.to_bits()).collect();
        let want: Vec<u64> = row.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want, "row {r}");
    }
    assert_eq!(p.close(1, "BBBUSDT"), Some(20.5));
    assert_eq!(p.close(1, "ZZZUSDT"), None);

    // Date split: minutes 0,1 on 2025-05-04; 2,3,4 on 2025-05-05.
    let days = split_by_utc_date(&p);
    let days: Vec<(String, std::ops::Range<usize>)> =
        days.into_iter().map(|(d, r)| (d.to_string(), r)).collect();
    assert_eq!(
        days,
        vec![
            ("2025-05-04".to_string(), 0..2),
            ("2025-05-05".to_string(), 2..5)
        ]
    );

    // Inclusive time bounds.
    let p = load_kline_dir(dir.path(), Some(T0 + MIN), Some(T0 + 3 * MIN)).unwrap();
    assert_eq!(p.open_time, vec![T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    assert_eq!(p.symbols.len(), 3); // CCC has no candle left but stays a column
    assert!(p.closes.iter().skip(2).step_by(3).all(|c| c.is_nan()));
}

#[test]
fn directory_errors() {
    let dir = panel_dir();
    write(dir.path(), "DDDUSDT-5m.csv", &full_row(T0 + 2 * MIN, "1"));
    let e = load_kline_dir(dir.path(), None, None).unwrap_err();
    assert!(
        matches!(&e, DataError::MixedIntervals { interval, first_interval, .. } if interval == "5m" && first_interval == "1m"),
        "{e}"
    );
    std::fs::remove_file(dir.path().join("DDDUSDT-5m.csv")).unwrap();
    write(dir.path(), "AAAUSDT-1m.csv.gz", &full_row(T0, "1"));
    let e = load_kline_dir(dir.path(), None, None).unwrap_err();
    assert!(
        e.to_string().contains("symbol AAAUSDT already loaded from"),
        "{e}"
    );

    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), "notes.txt", "");
    let e = load_kline_dir(empty.path(), None, None).unwrap_err();
    assert!(matches!(e, DataError::NoKlineFiles { .. }), "{e}");
    let e = load_kline_dir(&empty.path().join("missing"), None, None).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");

    // A malformed file inside the directory fails the load with its line.
    let dir = panel_dir();
    write(
        dir.path(),
        "EEEUSDT-1m.csv",
        &format!("{}oops\n", full_row(T0, "1")),
    );
    let e = load_kline_dir(dir.path(), None, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("EEEUSDT-1m.csv: line 2: too few fields"),
        "{e}"
    );
}

fn shared_klines() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/klines-1m"
    ));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found, skipping the shared-data test",
            p.display()
        );
        None
    }
}

#[test]
fn shared_binance_klines() {
    let Some(dir) = shared_klines() else { return };
    let p = load_kline_dir(&dir, None, None).unwrap();
    assert_eq!(p.symbols.len(), 16);
    assert_eq!(p.interval, "1m");
    // Union: from BTCUSDT's first open time (2025-05-04T15:33Z) to ETHUSDT's last
    // (2025-06-15T10:43Z), every minute (README: no gaps), 60191 rows = ETHUSDT's count.
    assert_eq!(p.open_time[0], 1_746_372_780_000);
    assert_eq!(*p.open_time.last().unwrap(), 1_749_984_180_000);
    assert_eq!(p.n_rows(), 60_191);
    assert_eq!(p.close(0, "BTCUSDT"), Some(95_502.7));
    assert_eq!(p.close(0, "ETHUSDT"), Some(1_827.53));
    assert!(p.close(0, "ADAUSDT").unwrap().is_nan()); // ADA starts 2025-05-09
    let row = |t: i64| p.open_time.binary_search(&t).unwrap();
    // README table: ADAUSDT first 0.7866 at 2025-05-09T18:18Z, BTCUSDT last 106588.4 at
    // 2025-06-03T15:31Z, ETHUSDT last 2518.18.
    assert_eq!(p.close(row(1_746_814_680_000), "ADAUSDT"), Some(0.7866));
    assert_eq!(p.close(row(1_748_964_660_000), "BTCUSDT"), Some(106_588.4));
    assert!(
        p.close(row(1_748_964_660_000) + 1, "BTCUSDT")
            .unwrap()
            .is_nan()
    );
    assert_eq!(p.close(p.n_rows() - 1, "ETHUSDT"), Some(2_518.18));
    // Every symbol's candle count survives: README rows per file.
    let count = |s: &str| {
        let c = p.symbol_index(s).unwrap();
        (0..p.n_rows()).filter(|&r| !p.row(r)[c].is_nan()).count()
    };
    assert_eq!(count("BTCUSDT"), 43_199);
    assert_eq!(count("ENAUSDT"), 43_200);
    assert_eq!(count("ETHUSDT"), 60_191);
    // 43 UTC dates, 2025-05-04 (507 rows from 15:33) .. 2025-06-15 (644 rows to 10:43).
    let days = split_by_utc_date(&p);
    assert_eq!(days.len(), 43);
    assert_eq!(days[0].0.to_string(), "2025-05-04");
    assert_eq!(days[0].1, 0..507);
    assert_eq!(days[1].1.len(), 1440);
    assert_eq!(days[42].0.to_string(), "2025-06-15");
    assert_eq!(days[42].1.len(), 644);

    // Bounds: one UTC day (2025-05-05).
    let p = load_kline_dir(&dir, Some(1_746_403_200_000), Some(1_746_489_599_999)).unwrap();
    assert_eq!(p.n_rows(), 1440);
}

#[test]
fn invalid_closes_are_counted_as_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        full_row(T0, "0"),
        full_row(T0 + MIN, "2.5"),
        full_row(T0 + 2 * MIN, "-inf"),
    ]
    .concat();
    let p = write(dir.path(), "AAAUSDT-1m.csv", &text);
    let f = read_kline_file_checked(&p).unwrap();
    assert_eq!(f.warnings.total(), 2);
    let shown: Vec<String> = f.warnings.kept().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        shown,
        [
            format!(
                "{}:1: close: `0` is not a price > 0: read as a missing price (SPEC §6)",
                p.display()
            ),
            format!(
                "{}:3: close: `-inf` is not a price > 0: read as a missing price (SPEC §6)",
                p.display()
            ),
        ]
    );
    // The panel carries them too.
    let panel = load_kline_dir(dir.path(), None, None).unwrap();
    assert_eq!(panel.warnings.total(), 2);
}

#[test]
fn empty_and_header_only_files_are_rejected() {
    let (p, e) = err_of("AAAUSDT-1m.csv", "");
    assert_eq!(
        e.to_string(),
        format!("{}: no data rows: the file is empty", p.display())
    );
    let (_, e) = err_of("AAAUSDT-1m.csv", HEADER);
    assert!(
        e.to_string()
            .ends_with("no data rows: the file holds no data line (header or blank lines only)"),
        "{e}"
    );
    let (_, e) = err_of("AAAUSDT-1m.csv", "\n\n  \n");
    assert!(matches!(e, DataError::NoRows { .. }), "{e}");
}

#[test]
fn ragged_lines_and_a_wrong_header_are_rejected() {
    // A line with one field more than the header (a shifted row).
    let (p, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!(
            "{HEADER}{}{T0},1,2,0.5,1,10,0,100,5,4,40,0,9\n",
            full_row(T0 - MIN, "1")
        ),
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 3: 13 fields, but line 1 has 12; every line needs the same fields",
            p.display()
        )
    );
    // Without a header, the first data line sets the width.
    let (_, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!("{T0},1,1,1,1,5\n{},1,1,1,1\n", T0 + MIN),
    );
    assert!(
        e.to_string()
            .ends_with("line 2: 5 fields, but line 1 has 6; every line needs the same fields"),
        "{e}"
    );
    // A header whose fifth field is not `close` (columns in another order).
    let (_, e) = err_of(
        "AAAUSDT-1m.csv",
        &format!("open_time,open,high,close,low\n{T0},1,1,1,1\n"),
    );
    assert!(
        e.to_string()
            .ends_with("line 1: header field 5 is `low`, expected `close` (open_time, open, high, low, close, ...)"),
        "{e}"
    );
}

#[test]
fn coarser_content_than_the_name_is_a_warning() {
    // A `1m` file whose rows are 5 minutes apart (a 5m file renamed).
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..4).map(|i| full_row(T0 + i * 5 * MIN, "1.5")).collect();
    let p = write(dir.path(), "AAAUSDT-1m.csv", &text);
    let f = read_kline_file_checked(&p).unwrap();
    assert_eq!(f.rows.len(), 4);
    assert_eq!(f.warnings.total(), 1);
    let w = &f.warnings.kept()[0];
    assert_eq!((w.row, w.field.as_str()), (None, "open_time"));
    assert!(
        w.what
            .contains("no two consecutive rows are 1m apart (smallest step 300 s)"),
        "{w}"
    );
}
