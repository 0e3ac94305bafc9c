//! Errors reading a run folder or writing a report.

use std::path::PathBuf;

/// What went wrong, naming the file (and line, for JSONL records).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path} is not a run folder: it has neither trades.jsonl nor days.jsonl")]
    NotARun { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}
