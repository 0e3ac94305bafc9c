//! Data layer of DOLPHIN: the day files the engine replays (SPEC §3), Binance kline CSV
//! import for the scanner (SPEC §6), the daily external-factor tables of ACBv6 scale 1
//! (seeds B §10.2, SPEC §3) and NG3's `.npz` layout (seeds B §3.2).
//!
//! Every reader validates its input and reports problems as [`DataError`], naming the file
//! and the row, line or column concerned.

pub mod day_check;
pub mod day_file;
mod day_writer;
pub mod error;
pub mod indicators;
pub mod klines;
pub mod npz;

pub use day_check::{
    DayFilesCheck, MissingValues, check_day_file, check_day_files, check_day_frame,
};
pub use day_file::{
    DAY_FILE_CREATED_BY, day_file_date, day_file_name, day_file_schema, list_day_files,
    read_day_file, read_day_file_bytes, read_v750_head, write_day_file,
};
pub use error::DataError;
pub use indicators::{funding_at, load_external_factors};
pub use klines::{
    KlineFile, KlinePanel, interval_ms, load_kline_dir, parse_kline_csv, parse_kline_file_name,
    read_kline_file, read_kline_file_checked, split_by_utc_date,
};
pub use npz::{
    NpyArray, is_ng3_folder, load_ng3_indicators, load_ng3_w750, parse_npy, read_npz,
    read_npz_bytes,
};
