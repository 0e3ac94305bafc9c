//! The observability server of DOLPHIN (issue 13; B §16.7 monitoring endpoints; SPEC §4 item
//! 11): an axum HTTP API over a run folder and the store, with bearer-token auth, live updates
//! by Server-Sent Events, Prometheus `/metrics` and the embedded web dashboard.
//!
//! Data sources are the run folder's files (see [`dolphin_report::RunDir`]) and, when given,
//! the system memory ([`dolphin_store::SystemMemory`], S §10 keys). A watcher re-reads both on
//! a short period and publishes an immutable [`snapshot::Snapshot`]; every request is answered
//! from the current snapshot, so requests never wait on disk or the store.

pub mod dashboard;
pub mod error;
pub mod metrics_export;
pub mod routes;
pub mod server;
pub mod snapshot;
pub mod sse;
pub mod token;
pub mod views;

pub use error::ApiError;
pub use server::{ApiConfig, ApiHandle, ApiThread, Auth, spawn};
pub use snapshot::Snapshot;

/// The store crate, for callers that open a store to hand to [`ApiConfig`].
pub use dolphin_store;

/// Where the token lives unless `--token-file` says otherwise: `$HOME/.config/dolphin/api.token`
/// (outside any run folder, so that sharing a run never shares the token).
pub fn default_token_file() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| std::path::PathBuf::from("."), Into::into);
    home.join(".config").join("dolphin").join("api.token")
}
