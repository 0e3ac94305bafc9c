//! The JSON answers of the endpoints, built from a [`Snapshot`]'s run folder and store view.
//! Where both hold a value, the store's is the live one and wins; each answer says its
//! `source`.

use crate::snapshot::Snapshot;
use dolphin_report::RunDir;
use dolphin_report::run_dir::ts_ms_of;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `GET /api/v1/status`.
pub fn status(s: &Snapshot) -> Value {
    let run = &s.run;
    let mode = run
        .run_str("mode")
        .map(str::to_string)
        .or_else(|| run.run_str("engine").map(|e| format!("backtest ({e})")))
        .unwrap_or_else(|| "unknown".into());
    let (capital, capital_source) = capital(s);
    let initial = run.initial_capital();
    let posture = match (&s.store.safety, run.posture.last(), run.days.last()) {
        (Some(v), _, _) => json!({"posture": v.posture, "Rm": v.rm, "source": "store"}),
        (None, Some(p), _) => {
            json!({"posture": p.posture, "Rm": finite(p.rm), "ts_ms": p.ts_ms, "source": "posture_trace.jsonl"})
        }
        (None, None, Some(d)) => {
            json!({"posture": d.posture, "Rm": null, "date": d.date, "source": "days.jsonl"})
        }
        _ => json!({"posture": null, "Rm": null, "source": null}),
    };
    let acb = match (&s.store.acb, run.acb.last(), run.days.last()) {
        (Some(a), _, _) => json!({"boost": a.boost, "beta": a.beta, "source": "store"}),
        (None, Some(a), _) => json!({"boost": a.boost, "beta": a.beta, "date": a.date,
            "ts_ms": a.ts_ms, "source": "acb.jsonl"}),
        (None, None, Some(d)) => {
            json!({"boost": d.boost, "beta": d.beta, "date": d.date, "source": "days.jsonl"})
        }
        _ => json!({"boost": null, "beta": null, "source": null}),
    };
    let mc = match (run.mc.last(), run.days.last()) {
        (Some(m), _) => json!({"status": m.status, "date": m.date, "ts_ms": m.ts_ms,
            "source": "mc.jsonl"}),
        (None, Some(d)) => json!({"status": d.mc_status, "date": d.date, "source": "days.jsonl"}),
        _ => json!({"status": null, "source": null}),
    };
    json!({
        "version": s.version,
        "run_dir": run.path.display().to_string(),
        "mode": mode,
        "config": run.run_str("config"),
        "champion_hash": run.run_str("champion_hash"),
        "layers": run.run.as_ref().and_then(|r| r.get("layers")).cloned(),
        "capital": capital,
        "capital_source": capital_source,
        "initial_capital": initial,
        "roi": capital / initial - 1.0,
        "trades": run.trades.len(),
        "days": run.days.len(),
        "last_date": run.days.last().map(|d| d.date),
        "posture": posture,
        "acb": acb,
        "mc": mc,
        "store": {"backend": s.store.backend, "error": s.store.error},
        "read_error": s.read_error,
        "warnings": run.warnings.len(),
    })
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The current capital and where it comes from: the store's `DOLPHIN_STATE_BLUE["latest"]`
/// when present, else the last day's capital, else (trades closed after the last written
/// day) the initial capital plus every trade's net PnL, else the initial capital.
pub fn capital(s: &Snapshot) -> (f64, &'static str) {
    if let Some(c) = s
        .store
        .state
        .as_ref()
        .and_then(|v| v.get("capital"))
        .and_then(Value::as_f64)
    {
        return (c, "store");
    }
    let run = &s.run;
    let in_days: u64 = run.days.iter().map(|d| u64::from(d.trades)).sum();
    if (run.trades.len() as u64) > in_days || run.days.is_empty() {
        if !run.trades.is_empty() {
            let mut c = run.initial_capital();
            for t in &run.trades {
                c += t.pnl;
            }
            return (c, "trades.jsonl");
        }
        return (run.initial_capital(), "initial");
    }
    (run.days.last().map_or(0.0, |d| d.capital), "days.jsonl")
}

/// `GET /api/v1/pnl`: per-date results (days.jsonl, with the store's DOLPHIN_PNL_BLUE
/// entries for dates the file does not have yet).
pub fn pnl(s: &Snapshot) -> Value {
    let mut by: BTreeMap<String, Value> = BTreeMap::new();
    for d in &s.run.days {
        let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("start_capital".into(), json!(d.start_capital));
            o.insert("return".into(), json!(d.pnl / d.start_capital));
            o.insert("source".into(), json!("days.jsonl"));
        }
        by.insert(d.date.to_string(), v);
    }
    for (k, v) in &s.store.pnl {
        by.entry(k.clone()).or_insert_with(|| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("source".into(), json!("store"));
            }
            v
        });
    }
    json!({"days": by.into_values().collect::<Vec<_>>()})
}

/// The last `n` trades, newest last.
pub fn recent_trades(run: &RunDir, n: usize) -> Value {
    let from = run.trades.len().saturating_sub(n);
    serde_json::to_value(&run.trades[from..]).unwrap_or(Value::Null)
}

/// `GET /api/v1/position`: the open position as the trader stores it
/// (`DOLPHIN_STATE_BLUE["latest"].position`, else the run folder's `position.json`), with its
/// unrealized PnL at the mark when the record has entry, mark and notional; `null` when flat.
pub fn position(s: &Snapshot) -> Value {
    let from_store = s
        .store
        .state
        .as_ref()
        .and_then(|v| v.get("position").or_else(|| v.get("open_position")))
        .filter(|p| !p.is_null());
    let (pos, source) = match (from_store, &s.position_file) {
        (Some(p), _) => (p.clone(), "store"),
        (None, Some(p)) => (
            p.get("position").cloned().unwrap_or_else(|| p.clone()),
            "position.json",
        ),
        (None, None) => (Value::Null, "none"),
    };
    let mut pos = pos;
    if let Some(o) = pos.as_object_mut() {
        // No mark in the record: the live scan's price of the asset (S §10 latest_eigen_scan).
        let has_mark = ["mark_price", "last_price", "price"]
            .iter()
            .any(|k| o.contains_key(*k));
        if !has_mark {
            let mark = o
                .get("asset")
                .and_then(Value::as_str)
                .and_then(|a| s.store.scan_prices.get(a))
                .copied();
            if let Some(m) = mark {
                o.insert("mark_price".into(), json!(m));
            }
        }
        if !o.contains_key("unrealized_pnl")
            && let Some(u) = unrealized(o)
        {
            o.insert("unrealized_pnl".into(), json!(u));
        }
    }
    json!({"open": !pos.is_null(), "position": pos, "source": source})
}

/// `notional × side × (mark − entry) / entry`, side −1 for SHORT.
fn unrealized(o: &Map<String, Value>) -> Option<f64> {
    let f = |k: &str| o.get(k).and_then(Value::as_f64);
    let entry = f("entry_price")?;
    let mark = f("mark_price")
        .or_else(|| f("last_price"))
        .or_else(|| f("price"))?;
    let notional = f("notional")?;
    let side = match o.get("direction") {
        Some(Value::String(d)) if d.eq_ignore_ascii_case("long") => 1.0,
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => 1.0,
        _ => -1.0,
    };
    (entry > 0.0).then(|| notional * side * (mark - entry) / entry)
}

/// `GET /api/v1/posture`: the posture history (watchdog trace, else per day).
pub fn posture(s: &Snapshot) -> Value {
    if !s.run.posture.is_empty() {
        let pts: Vec<Value> = s
            .run
            .posture
            .iter()
            .map(|p| json!({"ts_ms": p.ts_ms, "posture": p.posture, "Rm": finite(p.rm)}))
            .collect();
        return json!({"source": "posture_trace.jsonl", "points": pts});
    }
    let pts: Vec<Value> = s
        .run
        .days
        .iter()
        .map(|d| json!({"ts_ms": d.date.start_ms(), "date": d.date, "posture": d.posture}))
        .collect();
    json!({"source": "days.jsonl", "points": pts})
}

/// `GET /api/v1/acb`: the ACB history (acb.jsonl, else per day) and the store's current value.
pub fn acb(s: &Snapshot) -> Value {
    let (source, pts): (&str, Vec<Value>) = if !s.run.acb.is_empty() {
        (
            "acb.jsonl",
            s.run
                .acb
                .iter()
                .map(|a| {
                    let ts = a.ts_ms.or(a.date.map(|d| d.start_ms()));
                    json!({"ts_ms": ts, "date": a.date, "boost": a.boost, "beta": a.beta})
                })
                .collect(),
        )
    } else {
        (
            "days.jsonl",
            s.run
                .days
                .iter()
                .map(|d| {
                    json!({"ts_ms": d.date.start_ms(), "date": d.date,
                    "boost": d.boost, "beta": d.beta})
                })
                .collect(),
        )
    };
    let current = s
        .store
        .acb
        .as_ref()
        .map(|a| json!({"boost": a.boost, "beta": a.beta}));
    json!({"source": source, "points": pts, "current": current})
}

/// Entries of `services.json`, whatever its outer shape: `{"services": […]}`, `[…]` of
/// objects naming `service`/`name`, or an object keyed by service.
fn services_entries(v: Option<&Value>) -> Vec<(String, Value)> {
    let v = match v {
        Some(v) => v.get("services").unwrap_or(v),
        None => return Vec::new(),
    };
    match v {
        Value::Array(items) => items
            .iter()
            .map(|it| {
                let name = it
                    .get("service")
                    .or_else(|| it.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                (name, it.clone())
            })
            .collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

/// `GET /api/v1/services`: `services.json` as the supervisor wrote it.
pub fn services(s: &Snapshot) -> Value {
    let items: Vec<Value> = services_entries(s.run.services.as_ref())
        .into_iter()
        .map(|(name, mut v)| {
            if let Some(o) = v.as_object_mut() {
                o.entry("service").or_insert(json!(name));
            }
            v
        })
        .collect();
    json!({"services": items})
}

/// `GET /api/v1/health`: per service its heartbeat (age by the store's clock when a store is
/// attached; else the age in event time against the newest heartbeat of the run), starts,
/// restarts, retries and last error.
pub fn health(s: &Snapshot) -> Value {
    let mut by: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    // Heartbeats from the file: the last record per service; ages in event time.
    let newest = s.run.heartbeats.iter().filter_map(ts_ms_of).max();
    for hb in &s.run.heartbeats {
        let Some(name) = hb
            .get("service")
            .or_else(|| hb.get("name"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let e = by.entry(name.to_string()).or_default();
        e.insert("heartbeat".into(), hb.clone());
        if let (Some(ts), Some(n)) = (ts_ms_of(hb), newest) {
            e.insert("heartbeat_age_s".into(), json!((n - ts) as f64 / 1000.0));
            e.insert("age_clock".into(), json!("event time (heartbeats.jsonl)"));
        }
    }
    for (name, (val, age)) in &s.store.heartbeats {
        let key = val
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string();
        let e = by.entry(key).or_default();
        e.insert("heartbeat".into(), val.clone());
        e.insert("heartbeat_age_s".into(), json!(age));
        e.insert("age_clock".into(), json!("store"));
    }
    for (name, v) in services_entries(s.run.services.as_ref()) {
        let e = by.entry(name).or_default();
        for k in [
            "starts",
            "restarts",
            "retries",
            "failures",
            "runs",
            "last_error",
            "last_heartbeat",
            "last_heartbeat_ms",
            "cadence",
            "state",
            "status",
        ] {
            if let Some(x) = v.get(k) {
                e.insert(k.into(), x.clone());
            }
        }
    }
    let services: Vec<Value> = by
        .into_iter()
        .map(|(name, mut m)| {
            m.insert("service".into(), json!(name));
            for k in ["restarts", "last_error", "heartbeat_age_s"] {
                m.entry(k).or_insert(Value::Null);
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "services": services,
        "store": {"backend": s.store.backend, "error": s.store.error},
        "read_error": s.read_error,
    })
}
