//! The day file of SPEC §3 (layout of seeds B §3.1 plus `timestamp` and `scan_number`):
//! one parquet file per UTC date named `YYYY-MM-DD.parquet`.
//!
//! Columns, in this order when written: `timestamp` (Int64, open time in ms since the epoch,
//! UTC), `scan_number` (Int64, 0-based global row index, SPEC §6), the seven
//! [`SIGNAL_COLUMNS`] (Float64), then one Float64 close-price column per asset. On reading,
//! every column that is not reserved is an asset, in file order.
//!
//! Reading is lenient where the data allow it and strict where the engine needs it:
//! - `timestamp` may be Int64 (ms) or Timestamp of any unit (s/ms/µs/ns, as pandas writes;
//!   converted to ms, rounding down); `scan_number` Int64 or Int32; float columns
//!   Float64 or Float32. Nulls in `timestamp`/`scan_number` are errors.
//! - Nulls in float columns read as NaN. NaN, ±inf and prices ≤ 0 are "no price"
//!   (SPEC D10), not errors; NaN signals are allowed (SPEC §6).
//! - Timestamps must strictly increase and every row must fall on the file name's UTC date.
//!
//! Writing is atomic (temporary file in the same directory, then rename) and deterministic:
//! the same frame always gives the same bytes (fixed writer properties, fixed `created_by`).
//! Pages are SNAPPY-compressed (pandas/pyarrow's default, so Python tools read the files as
//! they are) with dictionary encoding off: float prices rarely repeat enough for a dictionary
//! to pay, and plain pages decode fastest.

use crate::error::DataError;
use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use arrow_schema::{DataType, Field, Schema};
use dolphin_core::{DayFrame, SIGNAL_COLUMNS, UtcDate, date_of_ms, is_reserved_column};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;
use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use crate::day_writer::{DAY_FILE_CREATED_BY, day_file_schema, write_day_file};

/// The UTC date in a day file's name `YYYY-MM-DD.parquet` (SPEC §3), if it has that form.
pub fn day_file_date(path: &Path) -> Option<UtcDate> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".parquet")?;
    stem.parse().ok()
}

/// The file name of the day file for `date` (SPEC §3): `YYYY-MM-DD.parquet`.
pub fn day_file_name(date: UtcDate) -> String {
    format!("{date}.parquet")
}

/// Reads and validates a day file (SPEC §3). See the module doc for what is accepted.
pub fn read_day_file(path: &Path) -> Result<DayFrame, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    read_day_file_from(path, file)
}

/// [`read_day_file`] on bytes already in memory; `path` gives the date (its file name) and
/// names the file in errors (the fuzz target's entry point, fuzz/).
pub fn read_day_file_bytes(path: &Path, bytes: Vec<u8>) -> Result<DayFrame, DataError> {
    read_day_file_from(path, bytes::Bytes::from(bytes))
}

/// Runs the parquet decoding of one file and turns a panic inside the parquet/arrow crates
/// into an error naming the file. Those crates still assert on some corrupt pages (the
/// `day_file` fuzz target found one in the definition-level decoder, arrow-buffer's
/// `offset + len out of bounds`); a bad file must be an error, never a crash (issue 14).
/// The reader owns everything it touches, so nothing half-built survives the unwind.
fn decode_guarded<T>(
    path: &Path,
    decode: impl FnOnce() -> Result<T, DataError>,
) -> Result<T, DataError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown reason".into());
        Err(DataError::Parquet {
            path: path.to_path_buf(),
            message: format!("corrupt data (the parquet reader failed: {why})"),
        })
    })
}

/// Every column chunk the footer announces lies inside the file: the parquet reader asserts
/// (panics) on a negative offset or length, so a corrupt footer is refused here first
/// (found by the `day_file` fuzz target; crates/data/tests/fixtures/fuzz/).
fn check_chunk_ranges(
    path: &Path,
    meta: &parquet::file::metadata::ParquetMetaData,
    file_len: u64,
) -> Result<(), DataError> {
    for (g, group) in meta.row_groups().iter().enumerate() {
        for col in group.columns() {
            let start = col
                .dictionary_page_offset()
                .unwrap_or(col.data_page_offset());
            let len = col.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(DataError::Parquet {
                    path: path.to_path_buf(),
                    message: format!(
                        "row group {g} column `{}`: chunk at offset {start} length {len} is \
                         outside the file ({file_len} bytes)",
                        col.column_path().string()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Rows decoded per batch. The row count in the file's metadata is not trusted for sizes
/// (a corrupt footer could ask for any amount of memory); the decoded rows are.
const BATCH_ROWS: usize = 64 * 1024;

/// The reader of a day file whose column chunks lie inside it, and its checked column layout.
fn open_checked<R: ChunkReader + 'static>(
    path: &Path,
    source: R,
) -> Result<(ParquetRecordBatchReaderBuilder<R>, ColumnLayout), DataError> {
    let file_len = source.len();
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(source).map_err(|e| parquet_err(path, e))?;
    check_chunk_ranges(path, builder.metadata(), file_len)?;
    let layout = ColumnLayout::resolve(path, &builder.schema().clone())?;
    Ok((builder, layout))
}

fn read_day_file_from<R: ChunkReader + 'static>(
    path: &Path,
    source: R,
) -> Result<DayFrame, DataError> {
    let file_date = day_file_date(path).ok_or_else(|| DataError::BadDayFileName {
        path: path.to_path_buf(),
    })?;
    let (layout, meta_rows, batches) = decode_guarded(path, || {
        let (builder, layout) = open_checked(path, source)?;
        let meta_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let reader = builder
            .with_batch_size(meta_rows.clamp(1, BATCH_ROWS))
            .build()
            .map_err(|e| parquet_err(path, e))?;
        let mut batches = Vec::new();
        for batch in reader {
            batches.push(batch.map_err(|e| parquet_err(path, e))?);
        }
        Ok((layout, meta_rows, batches))
    })?;
    let num_rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    for batch in &batches {
        // Decoded columns of unequal length: a corrupt file (checked before indexing).
        if batch.columns().iter().any(|c| c.len() != batch.num_rows()) {
            return Err(DataError::Parquet {
                path: path.to_path_buf(),
                message: "columns of unequal length".into(),
            });
        }
    }

    let n_assets = layout.assets.len();
    let mut frame = DayFrame::empty(
        file_date,
        layout.assets.iter().map(|(name, _)| name.clone()).collect(),
    );
    frame.prices = vec![f64::NAN; num_rows * n_assets];
    let mut row0 = 0usize;
    for batch in &batches {
        let rows = batch.num_rows();
        read_i64(
            path,
            "timestamp",
            batch.column(layout.timestamp),
            row0,
            &mut frame.timestamp,
        )?;
        read_i64(
            path,
            "scan_number",
            batch.column(layout.scan_number),
            row0,
            &mut frame.scan_number,
        )?;
        let signal_targets: [&mut Vec<f64>; 7] = [
            &mut frame.vel_div,
            &mut frame.v50_vel,
            &mut frame.v150_vel,
            &mut frame.v300_vel,
            &mut frame.v750_vel,
            &mut frame.instability_50,
            &mut frame.instability_150,
        ];
        for (idx, target) in layout.signals.iter().zip(signal_targets) {
            let col = batch.column(*idx);
            target.reserve(rows);
            for_each_f64(col, |v| target.push(v));
        }
        let columns: Vec<Cow<'_, [f64]>> = layout
            .assets
            .iter()
            .map(|(_, idx)| f64_values(batch.column(*idx)))
            .collect();
        let block = &mut frame.prices[row0 * n_assets..(row0 + rows) * n_assets];
        transpose_into(&columns, rows, block);
        row0 += rows;
    }
    if row0 != meta_rows {
        // The metadata row count and the decoded rows disagree: a corrupt file.
        return Err(DataError::Parquet {
            path: path.to_path_buf(),
            message: format!("metadata says {meta_rows} rows, decoded {row0}"),
        });
    }
    check_timestamps(path, file_date, &frame.timestamp)?;
    Ok(frame)
}

/// The first `rows` values of a day file's `v750_lambda_max_velocity` column, decoding no other
/// column (the ACB's w750 of every day, B §10.3, wanted before a backtest starts). The layout
/// is checked as [`read_day_file`] checks it; the other columns' values are not read (the
/// run's own read of the file checks them).
pub fn read_v750_head(path: &Path, rows: usize) -> Result<Vec<f64>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    decode_guarded(path, || {
        let (builder, layout) = open_checked(path, file)?;
        let v750 = layout.signals[SIGNAL_COLUMNS
            .iter()
            .position(|c| *c == "v750_lambda_max_velocity")
            .expect("a signal column")];
        let mask = ProjectionMask::roots(builder.parquet_schema(), [v750]);
        let reader = builder
            .with_projection(mask)
            .with_limit(rows)
            .with_batch_size(rows.clamp(1, BATCH_ROWS))
            .build()
            .map_err(|e| parquet_err(path, e))?;
        let mut out = Vec::with_capacity(rows);
        for batch in reader {
            let batch = batch.map_err(|e| parquet_err(path, e))?;
            if let Some(col) = batch.columns().first() {
                for_each_f64(col, |v| out.push(v));
            }
        }
        out.truncate(rows);
        Ok(out)
    })
}

/// All day files `YYYY-MM-DD.parquet` in `dir` whose date lies in `[from, to]` (bounds
/// inclusive, `None` = open), sorted by date (SPEC §3). Other files are ignored.
pub fn list_day_files(
    dir: &Path,
    from: Option<UtcDate>,
    to: Option<UtcDate>,
) -> Result<Vec<(UtcDate, PathBuf)>, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            path: dir.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let path = entry.path();
        let Some(date) = day_file_date(&path) else {
            continue;
        };
        if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
            continue;
        }
        if path.is_file() {
            out.push((date, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Where each needed column sits in a file's schema.
struct ColumnLayout {
    timestamp: usize,
    scan_number: usize,
    signals: [usize; 7],
    assets: Vec<(String, usize)>,
}

impl ColumnLayout {
    fn resolve(path: &Path, schema: &Schema) -> Result<Self, DataError> {
        let fields = schema.fields();
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].iter().any(|g| g.name() == f.name()) {
                return Err(DataError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: f.name().clone(),
                });
            }
        }
        let find = |name: &str| -> Result<usize, DataError> {
            fields
                .iter()
                .position(|f| f.name() == name)
                .ok_or_else(|| DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                })
        };
        let wrong = |f: &Field, expected: &'static str| DataError::WrongType {
            path: path.to_path_buf(),
            column: f.name().clone(),
            found: f.data_type().to_string(),
            expected,
        };

        let timestamp = find("timestamp")?;
        match fields[timestamp].data_type() {
            DataType::Int64 | DataType::Timestamp(_, _) => {}
            _ => return Err(wrong(&fields[timestamp], "Int64 (ms) or Timestamp")),
        }
        let scan_number = find("scan_number")?;
        match fields[scan_number].data_type() {
            DataType::Int64 | DataType::Int32 => {}
            _ => return Err(wrong(&fields[scan_number], "Int64 or Int32")),
        }
        let mut signals = [0usize; 7];
        for (slot, name) in signals.iter_mut().zip(SIGNAL_COLUMNS) {
            *slot = find(name)?;
            if !is_float(fields[*slot].data_type()) {
                return Err(wrong(&fields[*slot], "Float64 or Float32"));
            }
        }
        let mut assets = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if is_reserved_column(f.name()) {
                continue;
            }
            if !is_float(f.data_type()) {
                return Err(wrong(f, "Float64 or Float32 (asset price)"));
            }
            assets.push((f.name().clone(), i));
        }
        Ok(Self {
            timestamp,
            scan_number,
            signals,
            assets,
        })
    }
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float64 | DataType::Float32)
}

/// Appends an integer column (already type-checked) to `out`; a null is an error naming
/// the row.
fn read_i64(
    path: &Path,
    column: &str,
    array: &ArrayRef,
    row0: usize,
    out: &mut Vec<i64>,
) -> Result<(), DataError> {
    if let Some(i) = (0..array.len()).find(|&i| array.is_null(i)) {
        return Err(DataError::NullValue {
            path: path.to_path_buf(),
            row: row0 + i,
            column: column.to_string(),
        });
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        out.extend_from_slice(a.values());
    } else if let Some(a) = any.downcast_ref::<TimestampMillisecondArray>() {
        out.extend_from_slice(a.values());
    } else if let Some(a) = any.downcast_ref::<TimestampSecondArray>() {
        out.extend(a.values().iter().map(|&v| v.saturating_mul(1000)));
    } else if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        out.extend(a.values().iter().map(|&v| v.div_euclid(1000)));
    } else if let Some(a) = any.downcast_ref::<TimestampNanosecondArray>() {
        out.extend(a.values().iter().map(|&v| v.div_euclid(1_000_000)));
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        out.extend(a.values().iter().map(|&v| i64::from(v)));
    } else {
        return Err(DataError::WrongType {
            path: path.to_path_buf(),
            column: column.to_string(),
            found: array.data_type().to_string(),
            expected: "Int64",
        });
    }
    Ok(())
}

/// Calls `f` with each value of a Float64/Float32 column in order, nulls as NaN.
fn for_each_f64(array: &ArrayRef, mut f: impl FnMut(f64)) {
    let any = array.as_any();
    let has_nulls = array.null_count() > 0;
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        if has_nulls {
            a.iter().for_each(|v| f(v.unwrap_or(f64::NAN)));
        } else {
            a.values().iter().for_each(|&v| f(v));
        }
    } else if let Some(a) = any.downcast_ref::<Float32Array>() {
        a.iter().for_each(|v| f(v.map_or(f64::NAN, f64::from)));
    } else {
        // Unreachable after `ColumnLayout::resolve`: every row reads as missing.
        (0..array.len()).for_each(|_| f(f64::NAN));
    }
}

/// A Float64/Float32 column as f64 values, nulls as NaN; borrowed when no conversion is needed.
fn f64_values(array: &ArrayRef) -> Cow<'_, [f64]> {
    if array.null_count() == 0
        && let Some(a) = array.as_any().downcast_ref::<Float64Array>()
    {
        return Cow::Borrowed(a.values());
    }
    let mut v = Vec::with_capacity(array.len());
    for_each_f64(array, |x| v.push(x));
    Cow::Owned(v)
}

/// Writes column-major `columns` (each `rows` long) into row-major `out`, in row blocks that
/// stay in cache (a plain column-by-column scatter streams the whole matrix once per asset).
fn transpose_into(columns: &[Cow<'_, [f64]>], rows: usize, out: &mut [f64]) {
    const BLOCK_ROWS: usize = 256;
    let n = columns.len();
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + BLOCK_ROWS).min(rows);
        for (a, col) in columns.iter().enumerate() {
            for (r, &v) in col[r0..r1].iter().enumerate() {
                out[(r0 + r) * n + a] = v;
            }
        }
        r0 = r1;
    }
}

/// Timestamps strictly increase and all fall on `date` (SPEC §3, §6).
pub(crate) fn check_timestamps(path: &Path, date: UtcDate, ts: &[i64]) -> Result<(), DataError> {
    for (row, &t) in ts.iter().enumerate() {
        let d = date_of_ms(t);
        if d != date {
            return Err(DataError::WrongDate {
                path: path.to_path_buf(),
                row,
                timestamp: t,
                row_date: d.to_string(),
                file_date: date.to_string(),
            });
        }
        if row > 0 {
            let prev = ts[row - 1];
            if t == prev {
                return Err(DataError::DuplicateTimestamp {
                    path: path.to_path_buf(),
                    row,
                    prev_row: row - 1,
                    timestamp: t,
                });
            }
            if t < prev {
                return Err(DataError::UnorderedTimestamp {
                    path: path.to_path_buf(),
                    row,
                    prev_row: row - 1,
                    timestamp: t,
                    prev_timestamp: prev,
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn parquet_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
