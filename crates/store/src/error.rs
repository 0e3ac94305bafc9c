//! Errors of the system memory (SPEC §3 "Store", S §17.5: an unreachable store is an error the
//! caller handles, never a crash).

use std::time::Duration;

/// Everything that can go wrong talking to the system memory. Each variant names the map (or
/// cell / lock) and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached within the retry budget (S §17.5: not fatal; a write
    /// made with `put_or_defer` is kept in the outbox instead).
    #[error("store `{backend}` unreachable during {op} on `{map}` after {waited:?}: {reason}")]
    Unavailable {
        backend: &'static str,
        op: &'static str,
        map: String,
        waited: Duration,
        reason: String,
    },
    /// A fenced write carried a token that is no longer the live lock holder's (B §15.4).
    #[error(
        "fenced write to map `{map}` key `{key}` refused: token {token} is stale (lock token now {current}, held: {held})"
    )]
    StaleToken {
        map: String,
        key: String,
        token: u64,
        current: u64,
        held: bool,
    },
    /// A stored value is not the JSON the schema expects (S §10); `field` is the path of the
    /// offending field inside the value (`.` for the value itself, e.g. not JSON at all or a
    /// missing field, which `source` names).
    #[error("map `{map}` key `{key}` field `{field}`: value is not a valid {type_name}: {source}")]
    Decode {
        map: String,
        key: String,
        field: String,
        type_name: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded as JSON.
    #[error("map `{map}` key `{key}`: cannot encode {type_name}: {source}")]
    Encode {
        map: String,
        key: String,
        type_name: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A configuration value or a name is not usable.
    #[error("store configuration field `{field}`: {reason}")]
    Config { field: &'static str, reason: String },
    /// The backend answered, but not as expected (script error, wrong type).
    #[error("store `{backend}` rejected {op} on `{map}`: {reason}")]
    Backend {
        backend: &'static str,
        op: &'static str,
        map: String,
        reason: String,
    },
}

impl StoreError {
    /// Whether the error means "store not reachable" (S §17.5 degradation applies).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
