//! Errors starting the API server.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "refusing to bind {addr} without a token: only loopback addresses (127.0.0.1, ::1) may \
         serve without authentication; drop --no-auth or bind to 127.0.0.1"
    )]
    OpenNonLoopback { addr: SocketAddr },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {path}: {message}")]
    Token { path: PathBuf, message: String },
    #[error("token file {path}: {source}")]
    TokenIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Report(#[from] dolphin_report::ReportError),
}
