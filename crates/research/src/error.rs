//! Errors of the research crate.

use std::path::PathBuf;

/// Everything that can stop a sweep, a worker or the look-ahead check.
#[derive(Debug, thiserror::Error)]
pub enum ResearchError {
    #[error(transparent)]
    Data(#[from] dolphin_data::DataError),
    #[error(transparent)]
    Engine(#[from] dolphin_engine::EngineError),
    #[error(transparent)]
    Config(#[from] dolphin_runtime::ConfigError),
    #[error("ACB: {0}")]
    Acb(#[from] dolphin_risk::AcbError),
    #[error("scanner: {0}")]
    Scan(#[from] dolphin_scanner::ScanError),
    #[error("sweep spec {origin}: {message}")]
    Spec { origin: String, message: String },
    #[error("unknown parameter path `{path}`: `{segment}` is not a field here (fields: {known})")]
    UnknownPath {
        path: String,
        segment: String,
        known: String,
    },
    #[error("parameter `{path}`: {message}")]
    BadValue { path: String, message: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parquet {path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{0}")]
    Folds(String),
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("redis: {0}")]
    Redis(String),
    #[error("{0}")]
    Other(String),
}

impl From<redis::RedisError> for ResearchError {
    fn from(e: redis::RedisError) -> Self {
        ResearchError::Redis(e.to_string())
    }
}

impl ResearchError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        ResearchError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
