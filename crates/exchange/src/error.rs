//! Errors of the local exchange.

use std::path::PathBuf;

/// Why the exchange could not load its data or start.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Capture {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{path} row {row}: {reason}")]
    Klines {
        path: PathBuf,
        row: u64,
        reason: String,
    },
    #[error("fault `{spec}`: {reason}")]
    Faults { spec: String, reason: String },
    #[error("no data: give capture files and/or a kline directory")]
    NoData,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    CaptureFile(#[from] dolphin_orderbook::CaptureError),
}
