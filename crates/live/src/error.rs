//! Errors of the live crate.

/// Why a live service could not run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("ob_stream config: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] dolphin_store::StoreError),
    #[error("live bars: {0}")]
    Bars(String),
}
