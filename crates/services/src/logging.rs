//! Structured logs: `tracing` events as JSON lines in `OUT/logs/serve.jsonl` (one object per
//! event: timestamp, level, target, fields), filtered by `RUST_LOG` (default `info`).

use crate::error::ServiceError;
use std::path::Path;
use std::sync::Mutex;

/// Installs the global JSON subscriber writing to `out/logs/serve.jsonl`; a second call (or
/// another subscriber already installed) is a no-op.
pub fn init(out: &Path) -> Result<(), ServiceError> {
    let dir = out.join("logs");
    std::fs::create_dir_all(&dir).map_err(|e| ServiceError::io("create", &dir, e))?;
    let path = dir.join("serve.jsonl");
    let file = std::fs::File::create(&path).map_err(|e| ServiceError::io("create", &path, e))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_current_span(false)
        .try_init();
    Ok(())
}
