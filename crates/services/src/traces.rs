//! Decision traces (SPEC §8 "every decision is recorded"): what a service handed the trader,
//! the event time it was published and the first bar it applied to. `dolphin backtest` reads
//! them back (`--acb-trace`, `--mc-trace`, `--cb-trace`; posture through `--posture-trace`)
//! and must take the same decisions on the same bars.
//!
//! Files of a serve run: `acb.jsonl` ([`AcbDecision`]), `mc.jsonl` ([`McDecisionRecord`]),
//! `cb.jsonl` ([`CbDecision`]), `posture.jsonl` ([`PostureDecision`]) and the watchdog's
//! `posture_trace.jsonl` (sensor readings, the format `dolphin_risk::PostureTrace` reads).

use crate::error::ServiceError;
use crate::schedule::EventMs;
use dolphin_core::{Posture, UtcDate};
use dolphin_engine::{McReport, McStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Whether an ACB value set the day (at `begin_day`) or updated it mid-day
/// (`update_acb_boost`, B §10.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcbKind {
    Day,
    Update,
}

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Read from the store as the service published it.
    Store,
    /// Nothing arrived in time: the previous value was kept (SPEC §8).
    KeptPrevious,
    /// The store answered with an error or an unreadable value: the fail-safe value was used
    /// (SPEC §8: what cannot be read counts as its worst value, never as healthy).
    FailSafe,
}

/// One ACB value the trader applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcbDecision {
    pub kind: AcbKind,
    pub date: UtcDate,
    pub boost: f64,
    pub beta: f64,
    /// Event time the ACB processor published it (`None` when kept).
    pub published_ms: Option<EventMs>,
    /// Open time of the first bar it applied to.
    pub applied_ts: EventMs,
    /// Global index of that bar.
    pub applied_bar: u64,
    pub source: Source,
    /// The processor's publication number.
    pub seq: u64,
    /// Why: factors, signals, w750 and threshold (as published; informational).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub explain: serde_json::Value,
}

/// The MC status the trader applied for a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McDecisionRecord {
    pub date: UtcDate,
    pub status: McStatus,
    pub catastrophic_probability: f64,
    pub envelope_score: f64,
    pub published_ms: Option<EventMs>,
    pub applied_ts: EventMs,
    pub applied_bar: u64,
    pub source: Source,
}

impl McDecisionRecord {
    pub fn report(&self) -> McReport {
        McReport {
            catastrophic_probability: self.catastrophic_probability,
            envelope_score: self.envelope_score,
        }
    }
}

/// A change of the circuit breaker's entry gate (S §14), effective from `applied_ts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CbDecision {
    pub can_open: bool,
    pub reasons: Vec<dolphin_risk::TripReason>,
    pub applied_ts: EventMs,
    pub applied_bar: u64,
}

/// The posture the trader began a day with (B §14.1 step 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostureDecision {
    pub date: UtcDate,
    pub posture: Posture,
    pub rm: f64,
    pub applied_ts: EventMs,
    pub applied_bar: u64,
    /// Whether the value came from the store (else the default APEX / previous).
    pub source: Source,
}

/// Reads a JSONL file of `T`, naming file and line on a bad line.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ServiceError> {
    let text = std::fs::read_to_string(path).map_err(|e| ServiceError::io("read", path, e))?;
    parse_jsonl(&text, path)
}

/// Parses JSONL text (`path` only names it in errors); blank lines are skipped.
pub fn parse_jsonl<T: DeserializeOwned>(text: &str, path: &Path) -> Result<Vec<T>, ServiceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| ServiceError::Trace {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?);
    }
    Ok(out)
}

/// The decisions a traced replay applies, checked for order.
#[derive(Debug, Clone, Default)]
pub struct Traces {
    pub acb: Option<Vec<AcbDecision>>,
    pub mc: Option<Vec<McDecisionRecord>>,
    pub cb: Option<Vec<CbDecision>>,
}

impl Traces {
    /// Loads the given trace files.
    pub fn load(
        acb: Option<&Path>,
        mc: Option<&Path>,
        cb: Option<&Path>,
    ) -> Result<Self, ServiceError> {
        // An empty MC trace is a run without an MC flow: no MC gate (as without `--mc`).
        let t = Self {
            acb: acb.map(read_jsonl).transpose()?,
            mc: mc
                .map(read_jsonl::<McDecisionRecord>)
                .transpose()?
                .filter(|v| !v.is_empty()),
            cb: cb.map(read_jsonl).transpose()?,
        };
        if let (Some(p), Some(v)) = (acb, &t.acb) {
            check_order(p, v.iter().map(|d| d.applied_bar))?;
        }
        if let (Some(p), Some(v)) = (mc, &t.mc) {
            check_order(p, v.iter().map(|d| d.applied_bar))?;
        }
        if let (Some(p), Some(v)) = (cb, &t.cb) {
            check_order(p, v.iter().map(|d| d.applied_bar))?;
        }
        Ok(t)
    }

    pub fn is_empty(&self) -> bool {
        self.acb.is_none() && self.mc.is_none() && self.cb.is_none()
    }
}

fn check_order(path: &Path, bars: impl Iterator<Item = u64>) -> Result<(), ServiceError> {
    let mut prev = 0u64;
    for (i, b) in bars.enumerate() {
        if b < prev {
            return Err(ServiceError::Trace {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("applied_bar {b} is before the previous line's {prev}"),
            });
        }
        prev = b;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acb_decision_round_trips_and_bad_lines_are_named() {
        let d = AcbDecision {
            kind: AcbKind::Update,
            date: "2025-05-05".parse().unwrap(),
            boost: 1.3465735902799727,
            beta: 0.8,
            published_ms: Some(1_746_403_800_000),
            applied_ts: 1_746_403_800_000,
            applied_bar: 1450,
            source: Source::Store,
            seq: 3,
            explain: serde_json::Value::Null,
        };
        let line = serde_json::to_string(&d).unwrap();
        assert!(line.contains(r#""kind":"update""#) && !line.contains("explain"));
        let back: Vec<AcbDecision> = parse_jsonl(&format!("{line}\n\n"), Path::new("a")).unwrap();
        assert_eq!(back, vec![d]);
        let e = parse_jsonl::<AcbDecision>(
            &format!("{line}\n{{\"kind\":1}}\n"),
            Path::new("acb.jsonl"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("acb.jsonl:2:"), "{e}");
    }
}
