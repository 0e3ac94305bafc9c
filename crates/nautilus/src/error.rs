//! Errors of the Nautilus path: each names the file, row or field at fault.

use dolphin_core::UtcDate;
use dolphin_data::DataError;
use dolphin_engine::EngineError;
use std::path::PathBuf;

/// What went wrong building or running a replay on NautilusTrader's `BacktestEngine`
/// (S §12.1, issue 7).
#[derive(Debug, thiserror::Error)]
pub enum NautilusError {
    /// A day file could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The run was given no day files.
    #[error("no day files to replay")]
    NoDays,
    /// The engine refused its config or a day (message of the engine error).
    #[error("{file}: {source}")]
    Engine {
        file: PathBuf,
        #[source]
        source: EngineError,
    },
    /// A row whose timestamp lies outside the date of its day file: the actor dates bars by
    /// `ts_event` (S §17 "Date boundary is ts_event-driven"), so the row would land in another day.
    #[error("{file}: row {row}: timestamp {timestamp_ms} ms is not on {date}")]
    RowOutsideDay {
        file: PathBuf,
        row: usize,
        timestamp_ms: i64,
        date: UtcDate,
    },
    /// A row with a negative timestamp (Nautilus time is unsigned nanoseconds).
    #[error("{file}: row {row}: negative timestamp {timestamp_ms} ms")]
    NegativeTimestamp {
        file: PathBuf,
        row: usize,
        timestamp_ms: i64,
    },
    /// No asset of the data ever has a valid price, so no bar can drive the actor.
    #[error("no asset in the day files has a finite positive price")]
    NoPrices,
    /// NautilusTrader refused a step of the set-up or the run (its own error text).
    #[error("NautilusTrader {step}: {message}")]
    Nautilus { step: &'static str, message: String },
    /// The actor stopped on an error inside `on_bar` (date, row and the error text).
    #[error("DolphinActor on {date} row {row}: {message}")]
    Actor {
        date: UtcDate,
        row: usize,
        message: String,
    },
}

impl NautilusError {
    /// Wraps an error of NautilusTrader's own API with the step that failed.
    pub fn nautilus(step: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Nautilus {
            step,
            message: e.to_string(),
        }
    }
}
