//! A recorded posture history for replay (seeds B §11, §14.1 "re-read posture on date change";
//! SPEC D4, D5): watchdog readings from a JSONL file, run through a [`SurvivalStack`], asked
//! "what was the posture at time t?" by the backtest at each date's start.
//!
//! File format: one JSON object per line, `{"ts_ms": <i64>, <SensorReadings fields>}`; blank
//! lines are skipped; timestamps must not decrease. The time step of each evaluation is the
//! difference to the previous line's `ts_ms` in minutes (0 for the first line).

use crate::sensors::SensorReadings;
use crate::survival_stack::{SurvivalConfig, SurvivalError, SurvivalStack, SurvivalState};
use dolphin_core::Posture;
use std::path::{Path, PathBuf};

/// Errors loading a posture trace; each names the file and the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum PostureTraceError {
    #[error("cannot read posture trace {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: ts_ms {ts_ms} is earlier than the previous line's {previous}")]
    Unordered {
        path: PathBuf,
        line: usize,
        ts_ms: i64,
        previous: i64,
    },
    #[error("{path}:{line}: {source}")]
    Invalid {
        path: PathBuf,
        line: usize,
        #[source]
        source: SurvivalError,
    },
    #[error(transparent)]
    Config(SurvivalError),
}

/// Survival states after each reading of a trace, ordered by time.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureTrace {
    points: Vec<(i64, SurvivalState)>,
}

impl PostureTrace {
    /// Runs timestamped readings (non-decreasing `ts_ms`) through a fresh stack.
    pub fn from_readings(
        config: SurvivalConfig,
        readings: &[(i64, SensorReadings)],
    ) -> Result<Self, SurvivalError> {
        let mut stack = SurvivalStack::new(config)?;
        let mut points = Vec::with_capacity(readings.len());
        let mut prev: Option<i64> = None;
        for (ts, r) in readings {
            let dt_min = match prev {
                Some(p) if *ts < p => return Err(SurvivalError::BadTimeStep((ts - p) as f64)),
                Some(p) => (ts - p) as f64 / 60_000.0,
                None => 0.0,
            };
            points.push((*ts, stack.update(r, dt_min)?));
            prev = Some(*ts);
        }
        Ok(Self { points })
    }

    /// Reads and evaluates a JSONL trace file.
    pub fn load(path: &Path, config: SurvivalConfig) -> Result<Self, PostureTraceError> {
        let text = std::fs::read_to_string(path).map_err(|source| PostureTraceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, config)
    }

    /// Parses and evaluates JSONL text; `path` is only used in error messages.
    pub fn parse(
        text: &str,
        path: &Path,
        config: SurvivalConfig,
    ) -> Result<Self, PostureTraceError> {
        let mut stack = SurvivalStack::new(config).map_err(PostureTraceError::Config)?;
        let mut points: Vec<(i64, SurvivalState)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let parse_err = |message: String| PostureTraceError::Parse {
                path: path.to_path_buf(),
                line,
                message,
            };
            let mut obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(raw).map_err(|e| parse_err(e.to_string()))?;
            let ts_ms = obj
                .remove("ts_ms")
                .ok_or_else(|| parse_err("missing field `ts_ms`".into()))?
                .as_i64()
                .ok_or_else(|| {
                    parse_err("`ts_ms` must be an integer (ms since the epoch)".into())
                })?;
            let readings: SensorReadings = serde_json::from_value(serde_json::Value::Object(obj))
                .map_err(|e| parse_err(e.to_string()))?;
            let dt_min = match points.last() {
                Some(&(previous, _)) if ts_ms < previous => {
                    return Err(PostureTraceError::Unordered {
                        path: path.to_path_buf(),
                        line,
                        ts_ms,
                        previous,
                    });
                }
                Some(&(previous, _)) => (ts_ms - previous) as f64 / 60_000.0,
                None => 0.0,
            };
            let state =
                stack
                    .update(&readings, dt_min)
                    .map_err(|source| PostureTraceError::Invalid {
                        path: path.to_path_buf(),
                        line,
                        source,
                    })?;
            points.push((ts_ms, state));
        }
        Ok(Self { points })
    }

    /// Every `(ts_ms, state)` in time order.
    pub fn points(&self) -> &[(i64, SurvivalState)] {
        &self.points
    }

    /// The state after the last reading with `ts ≤ ts_ms`; [`SurvivalState::INITIAL`]
    /// (APEX, Rm 1.0) before the first reading.
    pub fn state_at(&self, ts_ms: i64) -> SurvivalState {
        let n = self.points.partition_point(|(t, _)| *t <= ts_ms);
        if n == 0 {
            SurvivalState::INITIAL
        } else {
            self.points[n - 1].1
        }
    }

    /// `(posture, Rm)` at `ts_ms` (see [`PostureTrace::state_at`]).
    pub fn posture_at(&self, ts_ms: i64) -> (Posture, f64) {
        let s = self.state_at(ts_ms);
        (s.posture, s.rm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MIN: i64 = 60_000;

    fn line(ts: i64, extra: &str) -> String {
        format!(
            r#"{{"ts_ms": {ts}, "hz_nodes": 1, "heartbeat_age_s": 2.0, "mc_status": "OK", "staleness_hours": 0.5, "ob_stale": false, "depth_quality": 1.2, "fill_prob": 0.9, "dvol_spike": false, "drawdown": 0.0{extra}}}"#
        )
    }

    fn dead(ts: i64) -> String {
        line(ts, "").replace(r#""hz_nodes": 1"#, r#""hz_nodes": 0"#)
    }

    #[test]
    fn posture_at_follows_the_readings() {
        let t0 = 1_746_144_000_000; // 2025-05-02 00:00 UTC
        let text = [
            line(t0, ""),
            String::new(),
            dead(t0 + 10 * MIN),
            line(t0 + 11 * MIN, ""),
        ]
        .join("\n");
        let tr =
            PostureTrace::parse(&text, Path::new("mem.jsonl"), SurvivalConfig::default()).unwrap();
        assert_eq!(tr.points().len(), 3);
        assert_eq!(tr.posture_at(t0 - 1), (Posture::Apex, 1.0));
        // cat3 = 0.3 + 0.7·0.9 = 0.93, cat5 = 1/(1 + e^−3.6): rm = their product.
        let (p, rm) = tr.posture_at(t0);
        assert_eq!(p, Posture::Apex);
        let cat3 = 0.3 + 0.7 * 0.9;
        assert!((rm - 0.973403006423134 * cat3).abs() < 1e-15);
        assert_eq!(tr.posture_at(t0 + 5 * MIN).0, Posture::Apex);
        assert_eq!(tr.posture_at(t0 + 10 * MIN), (Posture::Hibernate, 0.0));
        // One minute later: rm = 0.02·target, still HIBERNATE.
        let (p, rm) = tr.posture_at(t0 + 11 * MIN + 5);
        assert_eq!(p, Posture::Hibernate);
        assert!((rm - 0.02 * 0.973403006423134 * cat3).abs() < 1e-15);
    }

    #[test]
    fn load_from_file_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "{}", line(1000, "")).unwrap();
        writeln!(f, "{}", line(500, "")).unwrap();
        drop(f);
        let e = PostureTrace::load(&path, SurvivalConfig::default()).unwrap_err();
        assert!(matches!(
            e,
            PostureTraceError::Unordered {
                line: 2,
                ts_ms: 500,
                previous: 1000,
                ..
            }
        ));
        assert!(
            e.to_string()
                .ends_with("trace.jsonl:2: ts_ms 500 is earlier than the previous line's 1000")
        );

        let p = Path::new("t.jsonl");
        let cfg = SurvivalConfig::default;
        let e = PostureTrace::parse("{not json", p, cfg()).unwrap_err();
        assert!(matches!(e, PostureTraceError::Parse { line: 1, .. }));
        let text = format!(
            "{}\n{}",
            line(0, ""),
            line(1, "").replace(r#""ts_ms": 1, "#, "")
        );
        let e = PostureTrace::parse(&text, p, cfg()).unwrap_err();
        assert_eq!(e.to_string(), "t.jsonl:2: missing field `ts_ms`");
        let e = PostureTrace::parse(&line(0, r#", "extra": 1"#), p, cfg()).unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
        let e = PostureTrace::parse(&line(0, "").replace("0.9", "-0.9"), p, cfg()).unwrap_err();
        assert!(matches!(e, PostureTraceError::Invalid { line: 1, .. }));
        let e = PostureTrace::load(&dir.path().join("none.jsonl"), cfg()).unwrap_err();
        assert!(matches!(e, PostureTraceError::Io { .. }));
    }

    #[test]
    fn from_readings_matches_parse() {
        let r = SensorReadings::default();
        let tr =
            PostureTrace::from_readings(SurvivalConfig::default(), &[(0, r), (MIN, r), (MIN, r)])
                .unwrap();
        assert_eq!(tr.points().len(), 3);
        assert!(
            PostureTrace::from_readings(SurvivalConfig::default(), &[(MIN, r), (0, r)]).is_err()
        );
    }
}
