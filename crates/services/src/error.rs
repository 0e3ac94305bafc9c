//! Errors of the services crate: one enum, each variant naming what failed and where.

use std::path::PathBuf;

/// Everything that can stop a service, the supervisor or `dolphin serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] dolphin_store::StoreError),
    #[error(transparent)]
    Data(#[from] dolphin_data::DataError),
    #[error(transparent)]
    Config(#[from] dolphin_runtime::ConfigError),
    #[error(transparent)]
    Engine(#[from] dolphin_engine::EngineError),
    #[error(transparent)]
    Mc(#[from] dolphin_risk::McError),
    #[error(transparent)]
    CircuitBreaker(#[from] dolphin_risk::CircuitBreakerError),
    #[error(transparent)]
    Survival(#[from] dolphin_risk::SurvivalError),
    #[error(transparent)]
    Report(#[from] dolphin_runtime::ReportError),
    #[error("services config {origin}: {message}")]
    ServicesConfig { origin: String, message: String },
    #[error("schedule `{spec}`: {message}")]
    Schedule { spec: String, message: String },
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Trace {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("service `{service}` timed out after {ms} ms")]
    Timeout { service: String, ms: u64 },
    #[error("service `{service}`: {message}")]
    Service { service: String, message: String },
    #[error("HTTP {url}: {message}")]
    Http { url: String, message: String },
    #[error("dry run: {0}")]
    DryRun(String),
    #[error("resume: {0}")]
    Resume(String),
}

impl ServiceError {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn service(service: &str, message: impl Into<String>) -> Self {
        Self::Service {
            service: service.to_string(),
            message: message.into(),
        }
    }
}
