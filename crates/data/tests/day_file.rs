//! Day-file round trip and validation (SPEC §3).

use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use dolphin_core::{DayFrame, SIGNAL_COLUMNS, UtcDate};
use dolphin_data::{DataError, list_day_files, read_day_file, write_day_file};
use parquet::arrow::ArrowWriter;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DAY: &str = "2025-05-05";
/// 2025-05-05T00:00:00Z in ms.
const DAY_MS: i64 = 1_746_403_200_000;

fn date(s: &str) -> UtcDate {
    s.parse().unwrap()
}

/// A frame of `rows` one-minute bars on 2025-05-05 with three assets; prices include NaN,
/// a negative price and +inf, the first rows of the signals are NaN (warm-up).
fn sample_frame(rows: usize) -> DayFrame {
    let assets: Vec<String> = ["BTCUSDT", "ETHUSDT", "SOLUSDT"].map(String::from).to_vec();
    let mut f = DayFrame::empty(date(DAY), assets);
    for r in 0..rows {
        let x = r as f64;
        f.timestamp.push(DAY_MS + r as i64 * 60_000);
        f.scan_number.push(1000 + r as i64);
        let warm = r < 2;
        let sig = |k: f64| if warm { f64::NAN } else { k * 0.001 * x };
        f.vel_div.push(sig(-1.0));
        f.v50_vel.push(sig(2.0));
        f.v150_vel.push(sig(3.0));
        f.v300_vel.push(sig(4.0));
        f.v750_vel.push(sig(5.0));
        f.instability_50.push(sig(0.5));
        f.instability_150.push(sig(0.25));
        f.prices.push(95_000.0 + x);
        f.prices.push(if r == 1 { f64::NAN } else { 1800.5 + x });
        f.prices.push(match r {
            2 => -1.0,
            3 => f64::INFINITY,
            _ => 150.25,
        });
    }
    f
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_same(a: &DayFrame, b: &DayFrame) {
    assert_eq!(a.date, b.date);
    assert_eq!(a.assets, b.assets);
    assert_eq!(a.timestamp, b.timestamp);
    assert_eq!(a.scan_number, b.scan_number);
    for (x, y) in [
        (&a.vel_div, &b.vel_div),
        (&a.v50_vel, &b.v50_vel),
        (&a.v150_vel, &b.v150_vel),
        (&a.v300_vel, &b.v300_vel),
        (&a.v750_vel, &b.v750_vel),
        (&a.instability_50, &b.instability_50),
        (&a.instability_150, &b.instability_150),
        (&a.prices, &b.prices),
    ] {
        assert_eq!(bits(x), bits(y));
    }
}

#[test]
fn round_trip_keeps_nan_and_bad_prices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2025-05-05.parquet");
    let frame = sample_frame(6);
    write_day_file(&path, &frame).unwrap();
    let back = read_day_file(&path).unwrap();
    assert_same(&frame, &back);
    assert!(back.prices[4].is_nan()); // row 1, ETHUSDT
    assert_eq!(back.row_prices(2)[2], -1.0);
    assert_eq!(back.row_prices(3)[2], f64::INFINITY);
    assert!(back.vel_div[0].is_nan());
    assert_eq!(back.vel_div[5], -0.005);
    // Only the day file is left in the directory (the temp file was renamed).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("2025-05-05.parquet")]);
}

#[test]
fn empty_frame_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2025-05-05.parquet");
    let frame = sample_frame(0);
    write_day_file(&path, &frame).unwrap();
    let back = read_day_file(&path).unwrap();
    assert_same(&frame, &back);
    assert_eq!(back.assets.len(), 3);
}

#[test]
fn same_frame_same_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let frame = sample_frame(50);
    let pa = a.path().join("2025-05-05.parquet");
    let pb = b.path().join("2025-05-05.parquet");
    write_day_file(&pa, &frame).unwrap();
    write_day_file(&pb, &frame).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    // Overwriting an existing file works and gives the same bytes again.
    write_day_file(&pa, &frame).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
}

#[test]
fn writer_refuses_frames_it_could_not_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let frame = sample_frame(3);
    let e = write_day_file(&dir.path().join("2025-05-06.parquet"), &frame).unwrap_err();
    assert!(matches!(e, DataError::FrameDateMismatch { .. }), "{e}");
    let e = write_day_file(&dir.path().join("day.parquet"), &frame).unwrap_err();
    assert!(matches!(e, DataError::BadDayFileName { .. }), "{e}");
    let mut bad = frame.clone();
    bad.timestamp[2] = bad.timestamp[1];
    let e = write_day_file(&dir.path().join("2025-05-05.parquet"), &bad).unwrap_err();
    assert!(
        e.to_string()
            .contains("row 2 (0-based): duplicate timestamp"),
        "{e}"
    );
    let mut bad = frame;
    bad.prices.pop();
    let e = write_day_file(&dir.path().join("2025-05-05.parquet"), &bad).unwrap_err();
    assert!(matches!(e, DataError::FrameShape { .. }), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---- hand-built files for the validation errors ----

/// A day file with the standard columns, where `edit` may change or drop columns.
fn write_custom(
    dir: &Path,
    name: &str,
    ts: Vec<i64>,
    edit: impl FnOnce(&mut Vec<(Field, ArrayRef)>),
) -> PathBuf {
    let n = ts.len();
    let mut cols: Vec<(Field, ArrayRef)> = vec![
        (
            Field::new("timestamp", DataType::Int64, true),
            Arc::new(Int64Array::from(ts)),
        ),
        (
            Field::new("scan_number", DataType::Int64, true),
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        ),
    ];
    for s in SIGNAL_COLUMNS {
        cols.push((
            Field::new(s, DataType::Float64, true),
            Arc::new(Float64Array::from(vec![0.1; n])),
        ));
    }
    cols.push((
        Field::new("BTCUSDT", DataType::Float64, true),
        Arc::new(Float64Array::from(vec![100.0; n])),
    ));
    edit(&mut cols);
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

fn minutes(n: i64) -> Vec<i64> {
    (0..n).map(|i| DAY_MS + i * 60_000).collect()
}

fn read_err(path: &Path) -> String {
    let e = read_day_file(path).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains(&path.display().to_string()),
        "message must name the file: {s}"
    );
    s
}

#[test]
fn missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(3), |c| {
        c.retain(|(f, _)| f.name() != "v300_lambda_max_velocity");
    });
    let s = read_err(&p);
    assert!(
        s.ends_with("missing required column `v300_lambda_max_velocity`"),
        "{s}"
    );
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(3), |c| {
        c.retain(|(f, _)| f.name() != "scan_number");
    });
    assert!(read_err(&p).ends_with("missing required column `scan_number`"));
}

#[test]
fn duplicate_and_unordered_timestamps_name_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut ts = minutes(5);
    ts[3] = ts[2];
    let p = write_custom(dir.path(), "2025-05-05.parquet", ts, |_| {});
    let s = read_err(&p);
    assert!(
        s.ends_with(&format!(
            "row 3 (0-based): duplicate timestamp {} (same as row 2)",
            DAY_MS + 120_000
        )),
        "{s}"
    );

    let mut ts = minutes(5);
    ts.swap(1, 2);
    let p = write_custom(dir.path(), "2025-05-05.parquet", ts, |_| {});
    let s = read_err(&p);
    assert!(
        s.contains(
            "row 2 (0-based): timestamp 1746403260000 is earlier than row 1 (1746403320000)"
        ),
        "{s}"
    );
}

#[test]
fn rows_on_another_date_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut ts = minutes(3);
    ts.push(DAY_MS + 86_400_000); // 2025-05-06T00:00:00Z
    let p = write_custom(dir.path(), "2025-05-05.parquet", ts, |_| {});
    let s = read_err(&p);
    assert!(
        s.ends_with(
            "row 3 (0-based): timestamp 1746489600000 falls on 2025-05-06, not on the file's date 2025-05-05"
        ),
        "{s}"
    );
    // The last millisecond of the day is still on the day.
    let p = write_custom(
        dir.path(),
        "2025-05-05.parquet",
        vec![DAY_MS, DAY_MS + 86_399_999],
        |_| {},
    );
    assert_eq!(read_day_file(&p).unwrap().len(), 2);
}

#[test]
fn wrong_types_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(2), |c| {
        c[1] = (
            Field::new("scan_number", DataType::Float64, true),
            Arc::new(Float64Array::from(vec![0.0, 1.0])),
        );
    });
    let s = read_err(&p);
    assert!(
        s.ends_with("column `scan_number` has type Float64, expected Int64 or Int32"),
        "{s}"
    );
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(2), |c| {
        c.push((
            Field::new("ETHUSDT", DataType::Utf8, true),
            Arc::new(StringArray::from(vec!["a", "b"])),
        ));
    });
    let s = read_err(&p);
    assert!(s.contains("column `ETHUSDT` has type Utf8"), "{s}");
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(2), |c| {
        c[0] = (
            Field::new("timestamp", DataType::Float64, true),
            Arc::new(Float64Array::from(vec![0.0, 1.0])),
        );
    });
    let s = read_err(&p);
    assert!(
        s.contains("`timestamp` has type Float64, expected Int64 (ms) or Timestamp"),
        "{s}"
    );
}

#[test]
fn alternative_types_and_nulls_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(3), |c| {
        c[0] = (
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Arc::new(TimestampMillisecondArray::from(minutes(3)).with_timezone("UTC")),
        );
        c[1] = (
            Field::new("scan_number", DataType::Int32, true),
            Arc::new(Int32Array::from(vec![7, 8, 9])),
        );
        c[2] = (
            Field::new("vel_div", DataType::Float32, true),
            Arc::new(Float32Array::from(vec![Some(-0.5f32), None, Some(0.25)])),
        );
        c[9] = (
            Field::new("BTCUSDT", DataType::Float64, true),
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(2.5)])),
        );
    });
    let f = read_day_file(&p).unwrap();
    assert_eq!(f.timestamp, minutes(3));
    assert_eq!(f.scan_number, vec![7, 8, 9]);
    assert_eq!(f.vel_div[0], -0.5);
    assert!(f.vel_div[1].is_nan());
    assert_eq!(f.vel_div[2], 0.25);
    assert_eq!(f.assets, vec!["BTCUSDT".to_string()]);
    assert_eq!(f.prices[0], 1.5);
    assert!(f.prices[1].is_nan());
}

#[test]
fn nanosecond_timestamps_as_pandas_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let ns: Vec<i64> = minutes(3).iter().map(|t| t * 1_000_000 + 999).collect();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(3), |c| {
        c[0] = (
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                true,
            ),
            Arc::new(arrow_array::TimestampNanosecondArray::from(ns)),
        );
    });
    assert_eq!(read_day_file(&p).unwrap().timestamp, minutes(3));
}

#[test]
fn null_timestamp_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(3), |c| {
        c[0].1 = Arc::new(Int64Array::from(vec![Some(DAY_MS), Some(DAY_MS + 1), None]));
    });
    assert!(read_err(&p).ends_with("row 2 (0-based): null in column `timestamp`"));
}

#[test]
fn assets_are_every_other_column_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_custom(dir.path(), "2025-05-05.parquet", minutes(2), |c| {
        // Put an asset first, before the meta columns.
        c.insert(
            0,
            (
                Field::new("ZECUSDT", DataType::Float64, true),
                Arc::new(Float64Array::from(vec![30.0, 31.0])),
            ),
        );
    });
    let f = read_day_file(&p).unwrap();
    assert_eq!(f.assets, vec!["ZECUSDT".to_string(), "BTCUSDT".to_string()]);
    assert_eq!(f.row_prices(1), &[31.0, 100.0]);
}

#[test]
fn not_parquet_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("2025-05-05.parquet");
    std::fs::write(&p, b"timestamp,vel_div\n1,2\n").unwrap();
    let s = read_err(&p);
    assert!(s.contains("not a readable parquet file"), "{s}");

    let p = write_custom(dir.path(), "day-2025-05-05.parquet", minutes(2), |_| {});
    assert!(read_err(&p).ends_with("file name is not of the form YYYY-MM-DD.parquet"));
    let e = read_day_file(&dir.path().join("2025-05-07.parquet")).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }), "{e}");
}

#[test]
fn listing_filters_and_sorts() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["2025-05-07", "2025-05-03", "2025-05-05", "2025-05-04"] {
        std::fs::write(dir.path().join(format!("{d}.parquet")), b"x").unwrap();
    }
    for junk in [
        "notes.txt",
        "2025-02-30.parquet",
        ".2025-05-06.parquet.tmp-1-0",
        "2025-05-06.csv",
    ] {
        std::fs::write(dir.path().join(junk), b"x").unwrap();
    }
    std::fs::create_dir(dir.path().join("2025-05-06.parquet")).unwrap(); // a directory
    let all = list_day_files(dir.path(), None, None).unwrap();
    let names: Vec<String> = all.iter().map(|(d, _)| d.to_string()).collect();
    assert_eq!(
        names,
        ["2025-05-03", "2025-05-04", "2025-05-05", "2025-05-07"]
    );
    assert_eq!(all[0].1, dir.path().join("2025-05-03.parquet"));
    let some = list_day_files(
        dir.path(),
        Some(date("2025-05-04")),
        Some(date("2025-05-05")),
    )
    .unwrap();
    assert_eq!(some.len(), 2);
    assert_eq!(some[0].0, date("2025-05-04"));
    let from = list_day_files(dir.path(), Some(date("2025-05-05")), None).unwrap();
    assert_eq!(from.len(), 2);
    let missing = dir.path().join("nope");
    let e = list_day_files(&missing, None, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: directory does not exist", missing.display())
    );
}

fn price() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 1e-6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(0.0),
        1 => -10.0f64..0.0,
        1 => Just(f64::INFINITY),
    ]
}

fn signal() -> impl Strategy<Value = f64> {
    prop_oneof![9 => -1.0f64..1.0, 1 => Just(f64::NAN)]
}

prop_compose! {
    fn arb_frame()(n_assets in 0usize..5, rows in 0usize..40)
        (gaps in prop::collection::vec(1i64..600_000, rows),
         signals in prop::collection::vec(signal(), rows * 7),
         prices in prop::collection::vec(price(), rows * n_assets),
         n_assets in Just(n_assets))
        -> DayFrame {
        let assets = (0..n_assets).map(|i| format!("A{i}USDT")).collect();
        let mut f = DayFrame::empty(date(DAY), assets);
        let mut t = DAY_MS;
        for (r, g) in gaps.iter().enumerate() {
            t += g;
            f.timestamp.push(t);
            f.scan_number.push(r as i64 * 3);
            let s = &signals[r * 7..r * 7 + 7];
            f.vel_div.push(s[0]);
            f.v50_vel.push(s[1]);
            f.v150_vel.push(s[2]);
            f.v300_vel.push(s[3]);
            f.v750_vel.push(s[4]);
            f.instability_50.push(s[5]);
            f.instability_150.push(s[6]);
        }
        f.prices = prices;
        f
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn day_file_round_trip(frame in arb_frame()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2025-05-05.parquet");
        write_day_file(&path, &frame).unwrap();
        let back = read_day_file(&path).unwrap();
        assert_same(&frame, &back);
    }
}

#[test]
fn many_row_groups_and_batches_are_joined_in_order() {
    // 600 rows in row groups of 7 rows, 5 assets: exercises the multi-batch path and the
    // blocked transpose across block boundaries (256 rows).
    let dir = tempfile::tempdir().unwrap();
    let rows = 600usize;
    let assets: Vec<String> = (0..5).map(|i| format!("X{i}USDT")).collect();
    let mut fields = vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("scan_number", DataType::Int64, false),
    ];
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(minutes(rows as i64))),
        Arc::new(Int64Array::from_iter_values(0..rows as i64)),
    ];
    for s in SIGNAL_COLUMNS {
        fields.push(Field::new(s, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(vec![0.0; rows])));
    }
    for (a, name) in assets.iter().enumerate() {
        fields.push(Field::new(name, DataType::Float64, true));
        let col: Vec<f64> = (0..rows).map(|r| (a * 10_000 + r) as f64).collect();
        arrays.push(Arc::new(Float64Array::from(col)));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let path = dir.path().join("2025-05-05.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(7))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let f = read_day_file(&path).unwrap();
    assert_eq!(f.len(), rows);
    assert_eq!(f.assets, assets);
    for r in [0, 6, 7, 255, 256, 257, 599] {
        let want: Vec<f64> = (0..5).map(|a| (a * 10_000 + r) as f64).collect();
        assert_eq!(f.row_prices(r), want.as_slice(), "row {r}");
    }
}

/// Fuzz regressions (fuzz/fuzz_targets/day_file.rs): footers that made the parquet reader
/// panic are refused with an error naming the file and the column chunk.
#[test]
fn fuzz_crashes_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for (fixture, what) in [
        (
            "day_file-negative-chunk-offset.parquet",
            "is outside the file",
        ),
        (
            "day_file-bad-definition-levels.parquet",
            "corrupt data (the parquet reader failed: offset + len out of bounds)",
        ),
    ] {
        let bytes = std::fs::read(dir.join(fixture)).unwrap();
        let e =
            dolphin_data::read_day_file_bytes(Path::new("2025-05-05.parquet"), bytes).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, DataError::Parquet { .. }), "{fixture}: {s}");
        assert!(
            s.contains("2025-05-05.parquet") && s.contains(what),
            "{fixture}: {s}"
        );
        // The w750 reader on the same file: an error naming it, no panic (the negative
        // offset is refused before any page; the bad levels may lie outside the column read).
        let copy = tempfile::tempdir().unwrap();
        let p = copy.path().join("2025-05-05.parquet");
        std::fs::copy(dir.join(fixture), &p).unwrap();
        if let Err(e) = dolphin_data::read_v750_head(&p, 10) {
            assert!(
                e.to_string().contains("2025-05-05.parquet"),
                "{fixture}: {e}"
            );
        }
    }
}

/// `read_v750_head` (the ACB's w750 input) reads the same values as a whole-file read's
/// `v750_vel`, bit for bit, for the first rows asked for — fewer when the file is shorter — on
/// every shipped day file and on a written frame with NaN warm-up rows; a file whose layout is
/// wrong is refused naming the file and the column, as `read_day_file` refuses it.
#[test]
fn v750_head_equals_the_whole_read() {
    let sample = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/days"
    ));
    let files = list_day_files(&sample, None, None).unwrap();
    assert!(!files.is_empty());
    for (_, p) in &files {
        let whole = read_day_file(p).unwrap();
        for rows in [1, 10, 750, whole.len() + 5] {
            let head = dolphin_data::read_v750_head(p, rows).unwrap();
            let n = rows.min(whole.len());
            assert_eq!(
                bits(&head),
                bits(&whole.v750_vel[..n]),
                "{} {rows}",
                p.display()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let f = sample_frame(40);
    let p = dir.path().join(format!("{DAY}.parquet"));
    write_day_file(&p, &f).unwrap();
    assert_eq!(
        bits(&dolphin_data::read_v750_head(&p, 12).unwrap()),
        bits(&f.v750_vel[..12])
    );
    let p = write_custom(dir.path(), "2025-05-06.parquet", minutes(3), |c| {
        c.retain(|(f, _)| f.name() != "scan_number");
    });
    let e = dolphin_data::read_v750_head(&p, 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&p.display().to_string())
            && e.ends_with("missing required column `scan_number`"),
        "{e}"
    );
}
