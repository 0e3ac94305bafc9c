//! The watched state: the run folder's files and the store's S §10 entries, read together
//! into an immutable [`Snapshot`] with every endpoint's JSON body already serialized.

use crate::views;
use axum::body::Bytes;
use dolphin_report::RunDir;
use dolphin_store::SystemMemory;
use dolphin_store::schema::{
    AcbBoostValue, DOLPHIN_FEATURES, DOLPHIN_HEARTBEAT, DOLPHIN_PNL_BLUE, DOLPHIN_STATE_BLUE,
    EigenScanValue, KEY_ACB_BOOST, KEY_LATEST, KEY_LATEST_EIGEN_SCAN, KEY_LATEST_NAUTILUS,
    SafetyValue, get_json, read_safety,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// What the store holds of S §10 (all optional: a backtest folder has no store).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreView {
    /// Backend name (`embedded`, `redis`, `redis-cluster`); `None` without a store.
    pub backend: Option<&'static str>,
    pub safety: Option<SafetyValue>,
    pub acb: Option<AcbBoostValue>,
    /// `DOLPHIN_STATE_BLUE["latest"]`.
    pub state: Option<Value>,
    /// `DOLPHIN_STATE_BLUE["latest_nautilus"]`.
    pub state_nautilus: Option<Value>,
    /// `DOLPHIN_PNL_BLUE` by date.
    pub pnl: BTreeMap<String, Value>,
    /// `DOLPHIN_HEARTBEAT` by service: the value and its age by the store's clock (s).
    pub heartbeats: BTreeMap<String, (Value, Option<f64>)>,
    /// Prices of the live scan (`DOLPHIN_FEATURES["latest_eigen_scan"].asset_prices`), the
    /// mark for an open position's unrealized PnL.
    pub scan_prices: BTreeMap<String, f64>,
    /// The last error reading the store (the view keeps what was read before it).
    pub error: Option<String>,
}

impl StoreView {
    /// Reads the S §10 entries; a failure is kept in `error`, never raised.
    pub fn read(mem: &dyn SystemMemory) -> Self {
        let mut v = StoreView {
            backend: Some(mem.backend()),
            ..Default::default()
        };
        if let Err(e) = v.fill(mem) {
            v.error = Some(e.to_string());
        }
        v
    }

    fn fill(&mut self, mem: &dyn SystemMemory) -> Result<(), dolphin_store::StoreError> {
        self.safety = read_safety(mem)?;
        self.acb = get_json(mem, DOLPHIN_FEATURES, KEY_ACB_BOOST)?;
        self.state = get_json(mem, DOLPHIN_STATE_BLUE, KEY_LATEST)?;
        let scan: Option<EigenScanValue> = get_json(mem, DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN)?;
        self.scan_prices = scan.map(|s| s.asset_prices).unwrap_or_default();
        self.state_nautilus = get_json(mem, DOLPHIN_STATE_BLUE, KEY_LATEST_NAUTILUS)?;
        for (k, s) in mem.get_all(DOLPHIN_PNL_BLUE)? {
            if let Ok(j) = serde_json::from_str(&s) {
                self.pnl.insert(k, j);
            }
        }
        for (k, s) in mem.get_all(DOLPHIN_HEARTBEAT)? {
            let age = mem.heartbeat_age(&k)?.map(|d| d.as_secs_f64());
            let val = serde_json::from_str(&s).unwrap_or(Value::String(s));
            self.heartbeats.insert(k, (val, age));
        }
        Ok(())
    }
}

/// Pre-serialized bodies of the JSON endpoints.
#[derive(Debug, Clone, Default)]
pub struct Bodies {
    pub status: Bytes,
    pub health: Bytes,
    pub pnl: Bytes,
    pub position: Bytes,
    pub posture: Bytes,
    pub acb: Bytes,
    pub services: Bytes,
    /// The SSE `update` event's data: status, position, health, recent trades.
    pub update: Bytes,
}

/// One consistent view of the run, served until the next one is built.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Increases by one whenever what the endpoints answer changes.
    pub version: u64,
    /// Wall-clock time the snapshot was built, ms since the epoch.
    pub built_ms: i64,
    pub run: RunDir,
    pub store: StoreView,
    /// `position.json` of the run folder, when a trader writes one.
    pub position_file: Option<Value>,
    /// The error of the last failed read of the run folder (the snapshot keeps the last good
    /// one); `None` when the last read succeeded.
    pub read_error: Option<String>,
    pub status: Value,
    pub bodies: Bodies,
}

fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).expect("JSON values serialize"))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Snapshot {
    /// Builds the views of `run` and `store`.
    pub fn build(
        version: u64,
        run: RunDir,
        store: StoreView,
        position_file: Option<Value>,
        read_error: Option<String>,
    ) -> Self {
        let mut s = Snapshot {
            version,
            built_ms: now_ms(),
            run,
            store,
            position_file,
            read_error,
            ..Default::default()
        };
        s.status = views::status(&s);
        let health = views::health(&s);
        let position = views::position(&s);
        s.bodies = Bodies {
            status: to_bytes(&s.status),
            health: to_bytes(&health),
            pnl: to_bytes(&views::pnl(&s)),
            position: to_bytes(&position),
            posture: to_bytes(&views::posture(&s)),
            acb: to_bytes(&views::acb(&s)),
            services: to_bytes(&views::services(&s)),
            update: to_bytes(&serde_json::json!({
                "version": version,
                "status": s.status,
                "position": position,
                "health": health,
                "recent_trades": views::recent_trades(&s.run, 20),
            })),
        };
        s
    }

    /// True when the endpoints would answer the same (everything except build time/version).
    pub fn same_content(&self, other: &Snapshot) -> bool {
        let strip = |b: &Bytes| -> Value {
            let mut v: Value = serde_json::from_slice(b).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("version");
                if let Some(st) = o.get_mut("status").and_then(Value::as_object_mut) {
                    st.remove("version");
                }
            }
            v
        };
        strip(&self.bodies.update) == strip(&other.bodies.update)
            && self.bodies.pnl == other.bodies.pnl
            && self.bodies.posture == other.bodies.posture
            && self.bodies.acb == other.bodies.acb
            && self.bodies.services == other.bodies.services
            && self.run.trades.len() == other.run.trades.len()
    }
}

/// Reads the run folder (blocking); on success also `position.json`.
pub fn read_run(dir: &Path) -> Result<(RunDir, Option<Value>), String> {
    let run = RunDir::load(dir).map_err(|e| e.to_string())?;
    let pos = std::fs::read_to_string(dir.join("position.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok((run, pos))
}
