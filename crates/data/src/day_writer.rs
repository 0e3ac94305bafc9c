//! Writing day files (SPEC §3; the format and the reading rules are in [`crate::day_file`]):
//! atomic (temporary file in the same directory, then rename) and deterministic (fixed writer
//! properties and `created_by`, so the same frame always gives the same bytes).

use crate::day_file::{check_timestamps, day_file_date, parquet_err};
use crate::error::DataError;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use dolphin_core::{DayFrame, SIGNAL_COLUMNS};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `created_by` string written into every day file (fixed so that bytes are reproducible).
pub const DAY_FILE_CREATED_BY: &str = "dolphin-data day_file v1";

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
