//! Errors of the data layer. Every variant names the file it is about, and the row, line or
//! column where one applies, so that a bad input can be found and fixed by hand.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing the data files of this crate
/// (day files SPEC §3, kline CSVs SPEC §6, indicator tables and NG3 NPZ files B §3.2).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system error on a file or directory.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A directory that was asked for does not exist (or is not a directory).
    #[error("{path}: directory does not exist")]
    MissingDir { path: PathBuf },

    /// A day file whose name is not `YYYY-MM-DD.parquet`.
    #[error("{path}: file name is not of the form YYYY-MM-DD.parquet")]
    BadDayFileName { path: PathBuf },

    /// The file could not be read as parquet, or the parquet writer failed.
    #[error("{path}: not a readable parquet file: {message}")]
    Parquet { path: PathBuf, message: String },

    /// A required day-file column is absent.
    #[error("{path}: missing required column `{column}`")]
    MissingColumn { path: PathBuf, column: String },

    /// A column appears twice in a day file.
    #[error("{path}: column `{column}` appears more than once")]
    DuplicateColumn { path: PathBuf, column: String },

    /// A column has a type that cannot be read as what it stands for.
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    WrongType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },

    /// A null in a column that must be complete (`timestamp`, `scan_number`).
    #[error("{path}: row {row} (0-based): null in column `{column}`")]
    NullValue {
        path: PathBuf,
        row: usize,
        column: String,
    },

    /// A timestamp equal to the one of the row before.
    #[error(
        "{path}: row {row} (0-based): duplicate timestamp {timestamp} (same as row {prev_row})"
    )]
    DuplicateTimestamp {
        path: PathBuf,
        row: usize,
        prev_row: usize,
        timestamp: i64,
    },

    /// A timestamp smaller than the one of the row before.
    #[error(
        "{path}: row {row} (0-based): timestamp {timestamp} is earlier than row {prev_row} ({prev_timestamp}); timestamps must increase"
    )]
    UnorderedTimestamp {
        path: PathBuf,
        row: usize,
        prev_row: usize,
        timestamp: i64,
        prev_timestamp: i64,
    },

    /// A row whose UTC date is not the date in the file name.
    #[error(
        "{path}: row {row} (0-based): timestamp {timestamp} falls on {row_date}, not on the file's date {file_date}"
    )]
    WrongDate {
        path: PathBuf,
        row: usize,
        timestamp: i64,
        row_date: String,
        file_date: String,
    },

    /// A frame handed to the writer whose columns do not fit together.
    #[error("{path}: cannot write day frame: {source}")]
    FrameShape {
        path: PathBuf,
        #[source]
        source: dolphin_core::DayFrameError,
    },

    /// A frame handed to the writer whose date is not the one in the file name.
    #[error("{path}: frame is dated {frame_date} but the file name says {file_date}")]
    FrameDateMismatch {
        path: PathBuf,
        frame_date: String,
        file_date: String,
    },

    /// A kline file whose name is not `SYMBOL-<interval>.csv[.gz]`.
    #[error(
        "{path}: kline file name must be SYMBOL-<interval>.csv or SYMBOL-<interval>.csv.gz ({reason})"
    )]
    BadKlineFileName { path: PathBuf, reason: String },

    /// A malformed line of a CSV file (too few fields, a field that is not a number, ...).
    #[error("{path}: line {line}: {message}")]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// An infinite value in a day file's signal column (NaN is "no value"; docs/INPUTS.md).
    #[error(
        "{path}: row {row} (0-based): column `{column}` holds {value}; signals must be finite or NaN (no value)"
    )]
    NonFiniteSignal {
        path: PathBuf,
        row: usize,
        column: String,
        value: f64,
    },

    /// An input directory without the file(s) it must hold.
    #[error("{path}: {what}")]
    MissingFile { path: PathBuf, what: String },

    /// A table or kline file without a single data row.
    #[error("{path}: no data rows: {what}")]
    NoRows { path: PathBuf, what: &'static str },

    /// A kline open time equal to the previous line's.
    #[error("{path}: line {line}: duplicate open time {open_time} (same as line {prev_line})")]
    DuplicateOpenTime {
        path: PathBuf,
        line: usize,
        prev_line: usize,
        open_time: i64,
    },

    /// A kline open time smaller than the previous line's.
    #[error(
        "{path}: line {line}: open time {open_time} is earlier than line {prev_line} ({prev_open_time}); rows must be sorted"
    )]
    UnorderedOpenTime {
        path: PathBuf,
        line: usize,
        prev_line: usize,
        open_time: i64,
        prev_open_time: i64,
    },

    /// A kline open time that is not a multiple of the interval.
    #[error("{path}: line {line}: open time {open_time} is not on the {interval} grid")]
    OffGrid {
        path: PathBuf,
        line: usize,
        open_time: i64,
        interval: String,
    },

    /// Two kline files in one directory with different intervals.
    #[error("{path}: interval {interval} differs from {first_interval} of {first_path}")]
    MixedIntervals {
        path: PathBuf,
        interval: String,
        first_path: PathBuf,
        first_interval: String,
    },

    /// Two kline files for the same symbol (e.g. `.csv` and `.csv.gz`).
    #[error("{path}: symbol {symbol} already loaded from {first_path}")]
    DuplicateSymbol {
        path: PathBuf,
        symbol: String,
        first_path: PathBuf,
    },

    /// A directory with no `SYMBOL-<interval>.csv[.gz]` file.
    #[error("{dir}: no kline files (SYMBOL-<interval>.csv or .csv.gz) found")]
    NoKlineFiles { dir: PathBuf },

    /// A zip archive (`.npz`) that cannot be opened or read.
    #[error("{path}: not a readable npz (zip) archive: {message}")]
    Zip { path: PathBuf, message: String },

    /// A `.npy` member of an `.npz` archive that cannot be decoded.
    #[error("{path}: array `{entry}`: {message}")]
    Npy {
        path: PathBuf,
        entry: String,
        message: String,
    },
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A malformed CSV line.
    pub(crate) fn bad_line(
        path: &std::path::Path,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        DataError::BadLine {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
