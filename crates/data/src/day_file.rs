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
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `created_by` string written into every day file (fixed so that bytes are reproducible).
pub const DAY_FILE_CREATED_BY: &str = "dolphin-data day_file v1";

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

/// Writes `frame` to `path` as a day file (SPEC §3), atomically: the bytes go to a temporary
/// file in the same directory, which is synced and renamed onto `path`. The file name must be
/// `YYYY-MM-DD.parquet` of `frame.date`, and the frame must pass the same checks as
/// [`read_day_file`] (shape, increasing timestamps on that date), so that every file written
/// can be read back.
pub fn write_day_file(path: &Path, frame: &DayFrame) -> Result<(), DataError> {
    let file_date = day_file_date(path).ok_or_else(|| DataError::BadDayFileName {
        path: path.to_path_buf(),
    })?;
    if file_date != frame.date {
        return Err(DataError::FrameDateMismatch {
            path: path.to_path_buf(),
            frame_date: frame.date.to_string(),
            file_date: file_date.to_string(),
        });
    }
    frame
        .check_shape()
        .map_err(|source| DataError::FrameShape {
            path: path.to_path_buf(),
            source,
        })?;
    check_timestamps(path, file_date, &frame.timestamp)?;

    let batch = frame_to_batch(frame).map_err(|e| parquet_err(path, e))?;
    let bytes = encode_batch(&batch).map_err(|e| parquet_err(path, e))?;
    write_atomically(path, &bytes)
}

/// Reads and validates a day file (SPEC §3). See the module doc for what is accepted.
pub fn read_day_file(path: &Path) -> Result<DayFrame, DataError> {
    let file_date = day_file_date(path).ok_or_else(|| DataError::BadDayFileName {
        path: path.to_path_buf(),
    })?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))?;
    let num_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let schema = builder.schema().clone();
    let layout = ColumnLayout::resolve(path, &schema)?;
    let reader = builder
        .with_batch_size(num_rows.max(1))
        .build()
        .map_err(|e| parquet_err(path, e))?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| parquet_err(path, e))?);
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
    if row0 != num_rows {
        // The metadata row count and the decoded rows disagree: a corrupt file.
        return Err(DataError::Parquet {
            path: path.to_path_buf(),
            message: format!("metadata says {num_rows} rows, decoded {row0}"),
        });
    }
    check_timestamps(path, file_date, &frame.timestamp)?;
    Ok(frame)
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
fn check_timestamps(path: &Path, date: UtcDate, ts: &[i64]) -> Result<(), DataError> {
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

/// The arrow schema of a day file with the given assets (SPEC §3 column order).
pub fn day_file_schema(assets: &[String]) -> Schema {
    let mut fields = vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("scan_number", DataType::Int64, false),
    ];
    fields.extend(
        SIGNAL_COLUMNS
            .iter()
            .map(|name| Field::new(*name, DataType::Float64, true)),
    );
    fields.extend(
        assets
            .iter()
            .map(|name| Field::new(name, DataType::Float64, true)),
    );
    Schema::new(fields)
}

fn frame_to_batch(frame: &DayFrame) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let schema = Arc::new(day_file_schema(&frame.assets));
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(frame.timestamp.clone())),
        Arc::new(Int64Array::from(frame.scan_number.clone())),
    ];
    for signal in [
        &frame.vel_div,
        &frame.v50_vel,
        &frame.v150_vel,
        &frame.v300_vel,
        &frame.v750_vel,
        &frame.instability_50,
        &frame.instability_150,
    ] {
        columns.push(Arc::new(Float64Array::from(signal.clone())));
    }
    for a in 0..frame.n_assets() {
        columns.push(Arc::new(Float64Array::from(frame.asset_column(a))));
    }
    RecordBatch::try_new(schema, columns)
}

/// Fixed writer settings of every day file (see the module doc).
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(DAY_FILE_CREATED_BY.to_string())
        .set_dictionary_enabled(false)
        .build()
}

fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(writer_properties()))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(buf)
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a hidden temporary file beside `path`, syncs it and renames it onto
/// `path`. On failure the temporary file is removed and `path` is untouched.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(DataError::io(path, e));
    }
    Ok(())
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
