//! Errors of the MC-Forewarner: a Monte-Carlo run (seeds B §12, §16.4) or an envelope model
//! file.

use dolphin_core::UtcDate;
use dolphin_engine::EngineError;

/// Errors of a Monte-Carlo run or of an envelope model file.
#[derive(Debug, thiserror::Error)]
pub enum McError {
    #[error("MC config field `{field}` = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("Monte Carlo needs at least one day frame")]
    NoDays,
    #[error(
        "day frames must be in strictly increasing date order: day {index} ({date}) follows {prev}"
    )]
    DayOrder {
        index: usize,
        date: UtcDate,
        prev: UtcDate,
    },
    #[error("path {path}, day {date}: {source}")]
    Engine {
        path: usize,
        date: UtcDate,
        source: EngineError,
    },
    #[error("base engine config: {0}")]
    BaseConfig(EngineError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}, column {column}: {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: field `{field}`: {reason}")]
    Model {
        path: String,
        field: String,
        reason: String,
    },
}
