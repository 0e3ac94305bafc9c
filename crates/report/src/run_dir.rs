//! A run folder as `dolphin backtest` and `dolphin serve --out` write it (TEAM contract "A
//! serve run directory"; S §10 values mirrored to files; SPEC §8 decision traces).
//!
//! `trades.jsonl`, `days.jsonl`, `summary.json` and `run.json` are the run's results: a bad
//! record there is an error naming file and line. The decision traces (`acb.jsonl`,
//! `posture_trace.jsonl`, `mc.jsonl`) and the service files (`heartbeats.jsonl`,
//! `services.json`) only feed timelines: a record that cannot be read is skipped and counted
//! in [`RunDir::warnings`]. A last line without its newline is a write in progress (a running
//! serve appends while we read) and is left for the next read.

use crate::error::ReportError;
use dolphin_core::{Posture, UtcDate};
use dolphin_engine::{DayResult, NDTradeRecord, Summary};
use dolphin_risk::{PostureTrace, SurvivalConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One ACB verdict: per date (backtest's `acb.jsonl`) or at an event time (serve's trace).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcbPoint {
    pub date: Option<UtcDate>,
    pub ts_ms: Option<i64>,
    pub boost: f64,
    pub beta: f64,
}

/// The posture after one watchdog evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosturePoint {
    pub ts_ms: i64,
    pub posture: Posture,
    #[serde(rename = "Rm")]
    pub rm: f64,
}

/// One MC-Forewarner status decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McPoint {
    pub ts_ms: Option<i64>,
    pub date: Option<UtcDate>,
    pub status: String,
}

/// Everything a run folder holds, read once.
#[derive(Debug, Clone, Default)]
pub struct RunDir {
    pub path: PathBuf,
    pub trades: Vec<NDTradeRecord>,
    pub days: Vec<DayResult>,
    pub summary: Option<Summary>,
    /// `run.json` as written (config name, champion hash, layers, …).
    pub run: Option<Value>,
    pub acb: Vec<AcbPoint>,
    pub posture: Vec<PosturePoint>,
    pub mc: Vec<McPoint>,
    /// `heartbeats.jsonl` records (`{ts, phase, service, pid}`).
    pub heartbeats: Vec<Value>,
    /// `services.json` as written.
    pub services: Option<Value>,
    /// Counted problems that did not stop the read (file:line: what).
    pub warnings: Vec<String>,
}

impl RunDir {
    /// Reads a run folder. It must hold `trades.jsonl` or `days.jsonl`.
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        let mut run = RunDir {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let trades = read_jsonl::<NDTradeRecord>(&path.join("trades.jsonl"))?;
        let days = read_jsonl::<DayResult>(&path.join("days.jsonl"))?;
        if trades.is_none() && days.is_none() {
            return Err(ReportError::NotARun {
                path: path.to_path_buf(),
            });
        }
        run.trades = collect(trades, &mut run.warnings, true)?;
        run.days = collect(days, &mut run.warnings, true)?;
        for d in &mut run.days {
            // Not serialized: the capital at the day's start follows from the day's pnl.
            d.start_capital = d.capital - d.pnl;
        }
        run.summary = read_json(&path.join("summary.json"))?;
        run.run = read_json(&path.join("run.json"))?;
        run.services = read_json(&path.join("services.json"))?;
        let acb = read_jsonl::<Value>(&path.join("acb.jsonl"))?;
        run.acb = collect(acb, &mut run.warnings, false)?
            .into_iter()
            .filter_map(|v| acb_point(&v))
            .collect();
        let mc = read_jsonl::<Value>(&path.join("mc.jsonl"))?;
        run.mc = collect(mc, &mut run.warnings, false)?
            .into_iter()
            .filter_map(|v| mc_point(&v))
            .collect();
        let hb = read_jsonl::<Value>(&path.join("heartbeats.jsonl"))?;
        run.heartbeats = collect(hb, &mut run.warnings, false)?;
        run.posture = read_posture(&path.join("posture_trace.jsonl"), &mut run.warnings)?;
        Ok(run)
    }

    /// Capital the run started with: the first day's start capital (a resumed run starts
    /// from its stored capital), else `summary.json`'s, else the champion's 25,000.
    pub fn initial_capital(&self) -> f64 {
        if let Some(d) = self.days.first() {
            return d.capital - d.pnl;
        }
        self.summary
            .as_ref()
            .map_or(25_000.0, |s| s.initial_capital)
    }

    /// A string field of `run.json`.
    pub fn run_str(&self, key: &str) -> Option<&str> {
        self.run.as_ref()?.get(key)?.as_str()
    }
}

/// Lines of a JSONL file parsed as `T`; `None` if the file does not exist. Each item is
/// `Ok((line, T))` or `Err(line, message)`; a last line without newline that does not parse
/// (a write in progress) is dropped.
type Lines<T> = Vec<Result<(usize, T), (PathBuf, usize, String)>>;

fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Option<Lines<T>>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let mut out = Vec::with_capacity(n);
    for (i, raw) in lines.into_iter().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(raw) {
            Ok(v) => out.push(Ok((i + 1, v))),
            Err(_) if i + 1 == n && !complete => {}
            Err(e) => out.push(Err((path.to_path_buf(), i + 1, e.to_string()))),
        }
    }
    Ok(Some(out))
}

fn collect<T>(
    lines: Option<Lines<T>>,
    warnings: &mut Vec<String>,
    strict: bool,
) -> Result<Vec<T>, ReportError> {
    let mut out = Vec::new();
    for l in lines.unwrap_or_default() {
        match l {
            Ok((_, v)) => out.push(v),
            Err((path, line, message)) if strict => {
                return Err(ReportError::Record {
                    path,
                    line,
                    message,
                });
            }
            Err((path, line, message)) => {
                warnings.push(format!("{}:{line}: skipped: {message}", path.display()))
            }
        }
    }
    Ok(out)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| ReportError::File {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReportError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Event time of a record: `ts_ms` or `applied_ts` (ms; serve's decision traces), else `ts`
/// (Unix seconds, as heartbeats write it).
pub fn ts_ms_of(v: &Value) -> Option<i64> {
    if let Some(ms) = v
        .get("ts_ms")
        .or_else(|| v.get("applied_ts"))
        .and_then(Value::as_i64)
    {
        return Some(ms);
    }
    v.get("ts")
        .and_then(Value::as_f64)
        .map(|s| (s * 1000.0).round() as i64)
}

fn date_of(v: &Value) -> Option<UtcDate> {
    v.get("date")?.as_str()?.parse().ok()
}

fn acb_point(v: &Value) -> Option<AcbPoint> {
    Some(AcbPoint {
        date: date_of(v),
        ts_ms: ts_ms_of(v),
        boost: v.get("boost")?.as_f64()?,
        beta: v.get("beta")?.as_f64()?,
    })
}

fn mc_point(v: &Value) -> Option<McPoint> {
    let status = v.get("status").or_else(|| v.get("mc_status"))?.as_str()?;
    Some(McPoint {
        ts_ms: ts_ms_of(v),
        date: date_of(v),
        status: status.to_string(),
    })
}

/// The posture timeline: the trace is sensor readings (the format `--posture-trace` reads),
/// evaluated through the survival stack as the backtest does; a trace whose records carry the
/// posture itself (`{ts_ms, posture, Rm}`) is read as it is.
fn read_posture(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<PosturePoint>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ReportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    // Only complete lines (a running watchdog may be appending).
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    match PostureTrace::parse(complete, path, SurvivalConfig::default()) {
        Ok(trace) => Ok(trace
            .points()
            .iter()
            .map(|(ts, s)| PosturePoint {
                ts_ms: *ts,
                posture: s.posture,
                rm: s.rm,
            })
            .collect()),
        Err(reading_err) => {
            let mut out = Vec::new();
            for (i, raw) in complete.lines().enumerate() {
                if raw.trim().is_empty() {
                    continue;
                }
                let v: Value = match serde_json::from_str(raw) {
                    Ok(v) => v,
                    Err(e) => {
                        warnings.push(format!("{}:{}: skipped: {e}", path.display(), i + 1));
                        continue;
                    }
                };
                let posture = v
                    .get("posture")
                    .and_then(|p| serde_json::from_value::<Posture>(p.clone()).ok());
                match (ts_ms_of(&v), posture) {
                    (Some(ts_ms), Some(posture)) => out.push(PosturePoint {
                        ts_ms,
                        posture,
                        rm: v
                            .get("Rm")
                            .or_else(|| v.get("rm"))
                            .and_then(Value::as_f64)
                            .unwrap_or(f64::NAN),
                    }),
                    _ => {
                        warnings.push(format!(
                            "{}:{}: skipped: neither sensor readings ({reading_err}) nor \
                             {{ts_ms, posture}}",
                            path.display(),
                            i + 1
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}
