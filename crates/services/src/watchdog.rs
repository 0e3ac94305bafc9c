//! The system watchdog (B §16.3, §11; SPEC §8): every 60 s of event time, and at once when a
//! sensor changes (a position opens or closes, the MC status changes, a service goes down), it
//! reads its sensors from the store, runs the Survival Stack (hysteresis, bounded recovery),
//! writes the posture to `DOLPHIN_SAFETY` by compare-and-set and appends the readings to
//! `posture_trace.jsonl` (`{"ts_ms", <SensorReadings>}`, the format `dolphin backtest
//! --posture-trace` reads, so the backtest recomputes the same states).
//!
//! Sensors (a sensor that cannot be read counts as its worst value, never as healthy):
//! * Cat1: `hz_nodes` = 1 when the store answers, else 0; `heartbeat_age_s` = the oldest
//!   heartbeat (event time) among the running services and the trader (missing = 1e9 s).
//! * Cat2: MC status from `DOLPHIN_FEATURES["mc_forewarner"]` (unreadable = RED; when no MC
//!   flow is configured the sensor is not installed and reads OK); staleness = hours since the
//!   newest scan in `DOLPHIN_FEATURES["latest_eigen_scan"]` (before the first scan: since the
//!   watchdog started).
//! * Cat3: with the OB stream running in its slot (`--exchange-url`), its book health and the
//!   shard maps on the wall clock (`crate::ob_health`); else, when `ob_required`, the ten shard
//!   maps (median depth quality and fill probability; stale when no entry is newer than 60 s of
//!   event time); not installed otherwise.
//! * Cat4: no DVOL spike feed exists yet: not installed (healthy).
//! * Cat5: drawdown of equity (capital + the open position marked to the newest scan price)
//!   from the peak of the initial capital, every daily capital in `DOLPHIN_PNL_BLUE` and
//!   every capital seen in `DOLPHIN_STATE_BLUE["latest"]`.

use crate::error::ServiceError;
use crate::mc_flow::{KEY_MC_FOREWARNER, McPublication};
use crate::run_files::Trace;
use crate::schedule::{Cadence, EventMs};
use crate::sensor_parse;
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use crate::typed_values::{BeatValue, ScanValue};
use dolphin_core::{Direction, Posture, date_of_ms};
use dolphin_engine::McStatus;
use dolphin_risk::{SensorReadings, SurvivalConfig, SurvivalStack};
use dolphin_store::KeyRef;
use dolphin_store::schema::{
    DOLPHIN_FEATURES, DOLPHIN_HEARTBEAT, DOLPHIN_PNL_BLUE, DOLPHIN_STATE_BLUE, KEY_LATEST,
    KEY_LATEST_EIGEN_SCAN, POSTURE_CELL, posture_json_into, write_safety_json,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const WORST_AGE_S: f64 = 1e9;
const WORST_STALENESS_H: f64 = 1e6;

/// One posture-trace line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceLine {
    pub ts_ms: EventMs,
    #[serde(flatten)]
    pub readings: SensorReadings,
}

/// The fields of `latest_eigen_scan` the watchdog needs (serde skips the rest cheaply).
#[derive(Deserialize)]
struct ScanHead {
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct ScanPrices {
    #[serde(default)]
    asset_prices: BTreeMap<String, f64>,
}

/// The fields of the trader's state the drawdown sensor needs.
#[derive(Deserialize, Clone)]
struct StateHead {
    capital: f64,
    ts_ms: i64,
    position: Option<PositionHead>,
}

#[derive(Deserialize, Clone)]
struct PositionHead {
    asset: String,
    direction: Direction,
    entry_price: f64,
    notional: f64,
}

#[derive(Deserialize)]
struct BeatHead {
    ts: f64,
}

/// The last raw store value and what was read from it: a value that did not change (the
/// trader's state between position changes, the day's MC status) is not parsed again.
struct ParseCache<T> {
    raw: String,
    parsed: Option<T>,
}

impl<T> ParseCache<T> {
    fn new() -> Self {
        Self {
            raw: String::new(),
            parsed: None,
        }
    }

    /// What `raw` reads as, parsed only when it differs from the last value seen.
    fn get(&mut self, raw: &str, parse: impl FnOnce(&str) -> T) -> &T {
        if self.parsed.is_none() || self.raw != raw {
            self.parsed = Some(parse(raw));
            self.raw.clear();
            self.raw.push_str(raw);
        }
        self.parsed.as_ref().expect("set above")
    }
}

/// The keys read at every evaluation, resolved once (dolphin_store::KeyRef).
struct SensorKeys {
    /// `DOLPHIN_HEARTBEAT[service]` per watched service.
    beats: Vec<KeyRef>,
    mc: KeyRef,
    state: KeyRef,
    scan: KeyRef,
}

impl SensorKeys {
    fn new(services: &[&'static str]) -> Result<Self, ServiceError> {
        Ok(Self {
            beats: services
                .iter()
                .map(|s| KeyRef::new(DOLPHIN_HEARTBEAT, s))
                .collect::<Result<_, _>>()?,
            mc: KeyRef::new(DOLPHIN_FEATURES, KEY_MC_FOREWARNER)?,
            state: KeyRef::new(DOLPHIN_STATE_BLUE, KEY_LATEST)?,
            scan: KeyRef::new(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN)?,
        })
    }
}

pub struct Watchdog {
    cadence: Cadence,
    keys: SensorKeys,
    state_cache: ParseCache<Option<StateHead>>,
    mc_cache: ParseCache<McStatus>,
    next: Option<EventMs>,
    trigger: Option<EventMs>,
    stack: SurvivalStack,
    last_ts: Option<EventMs>,
    started_ms: EventMs,
    services: Vec<&'static str>,
    mc_installed: bool,
    /// The OB stream runs in its slot: Cat3 reads its health (crate::ob_health).
    ob_live: bool,
    peak: f64,
    /// The posture and Rm last written (a `SafetyValue` without extra fields).
    last_written: Option<(Posture, f64)>,
    /// The text of `last_written` as it went into the cell (the next CAS's expectation).
    last_json: Option<String>,
    /// The buffer the next posture text is written into (the one before the last).
    spare_json: String,
    /// Per watched service: its heartbeat time found in this reading (reused).
    beat_ts: Vec<Option<f64>>,
    /// `dolphin_heartbeat_age_seconds{service}` handles (the recorder is installed before
    /// the services start).
    age_gauges: Vec<metrics::Gauge>,
    /// The event time as heartbeat text and the trace line (reused buffers).
    now_text: String,
    line: String,
    numbers: crate::json_text::TraceNumbers,
    rm_gauge: metrics::Gauge,
    pub evaluations: u64,
}

impl Watchdog {
    pub const NAME: &'static str = "watchdog";

    /// Starts at `t`: the stack is rebuilt from the run's own posture trace up to `t` (so a
    /// restarted watchdog continues the same hysteresis state), the peak from the daily
    /// results before `t`'s date.
    pub fn start(
        ctx: &Ctx,
        t: EventMs,
        services: Vec<&'static str>,
        mc_installed: bool,
        ob_live: bool,
        previous: &[TraceLine],
    ) -> Result<Self, ServiceError> {
        let cadence = Cadence::parse(&ctx.cfg.watchdog.cadence)?;
        let mut stack = SurvivalStack::new(SurvivalConfig::default())?;
        let mut last_ts = None;
        for l in previous.iter().filter(|l| l.ts_ms <= t) {
            let dt = last_ts.map_or(0.0, |p: EventMs| (l.ts_ms - p) as f64 / 60_000.0);
            stack.update(&l.readings, dt)?;
            last_ts = Some(l.ts_ms);
        }
        let today = date_of_ms(t);
        let mut peak = ctx.engine.initial_capital;
        for (date, json) in ctx.store.get_all(DOLPHIN_PNL_BLUE)? {
            if date.as_str() < today.to_string().as_str()
                && let Some(c) = serde_json::from_str::<serde_json::Value>(&json)
                    .ok()
                    .and_then(|v| v["capital"].as_f64())
            {
                peak = peak.max(c);
            }
        }
        Ok(Self {
            keys: SensorKeys::new(&services)?,
            next: cadence.at_or_after(t),
            cadence,
            state_cache: ParseCache::new(),
            mc_cache: ParseCache::new(),
            trigger: None,
            stack,
            last_ts,
            started_ms: t,
            mc_installed,
            ob_live,
            peak,
            last_written: None,
            last_json: None,
            spare_json: String::new(),
            beat_ts: vec![None; services.len()],
            age_gauges: services
                .iter()
                .map(|n| metrics::gauge!("dolphin_heartbeat_age_seconds", "service" => *n))
                .collect(),
            now_text: String::with_capacity(32),
            line: String::with_capacity(320),
            numbers: Default::default(),
            rm_gauge: metrics::gauge!("dolphin_posture_rm"),
            services,
            evaluations: 0,
        })
    }

    /// Reads every sensor at event time `t` (module doc). Values are read in place
    /// ([`SystemMemory::read_with`]); unchanged ones are not parsed again.
    ///
    /// [`SystemMemory::read_with`]: dolphin_store::SystemMemory::read_with
    pub fn read_sensors(&mut self, ctx: &Ctx, t: EventMs) -> SensorReadings {
        let store = &ctx.store;
        let now_s = t as f64 / 1000.0;
        // The event time as heartbeat text, for beats stored as text (written on first use).
        self.now_text.clear();
        // Cat1: the heartbeats (`hz_nodes` = the store answered this read).
        self.beat_ts.iter_mut().for_each(|b| *b = None);
        let (found, now_text) = (&mut self.beat_ts, &mut self.now_text);
        let beats = store.read_many_typed_at(&self.keys.beats, &mut |i, v| {
            if let Some(v) = v {
                found[i] = match v.typed::<BeatValue>() {
                    Some(b) => Some(b.ts()),
                    None => v.with_text(|json| {
                        if now_text.is_empty() {
                            crate::json_text::push_f64(now_text, now_s);
                        }
                        sensor_parse::beat_ts_at(json, now_text, now_s)
                            .or_else(|| serde_json::from_str::<BeatHead>(json).ok().map(|h| h.ts))
                    }),
                };
            }
        });
        let hz_nodes = u32::from(beats.is_ok());
        let heartbeat_age_s = match beats {
            Ok(()) => {
                let mut worst: f64 = 0.0;
                for (ts, gauge) in self.beat_ts.iter().zip(&self.age_gauges) {
                    // A beat stamped after `t` is another process's (a previous run of a
                    // resumed replay), not this one's: missing.
                    let age = ts
                        .filter(|ts| *ts <= now_s)
                        .map_or(WORST_AGE_S, |ts| now_s - ts);
                    gauge.set(age);
                    worst = worst.max(age);
                }
                worst
            }
            Err(_) => WORST_AGE_S,
        };
        let mc_status = if !self.mc_installed {
            McStatus::Ok
        } else {
            let mut status = McStatus::Red;
            let cache = &mut self.mc_cache;
            let _ = store.read_typed_at(&self.keys.mc, &mut |v| {
                if let Some(v) = v {
                    v.with_text(|j| {
                        status = *cache.get(j, |j| {
                            serde_json::from_str::<McPublication>(j)
                                .map(|p| p.status)
                                .unwrap_or(McStatus::Red)
                        });
                    });
                }
            });
            status
        };
        // Cat5 first reads the trader's state: its open position picks the price the scan
        // read below marks it at.
        let cache = &mut self.state_cache;
        let mut have_state = false;
        let state_read = store.read_typed_at(&self.keys.state, &mut |v| {
            if let Some(v) = v {
                v.with_text(|j| {
                    cache.get(j, |j| serde_json::from_str::<StateHead>(j).ok());
                });
                have_state = true;
            }
        });
        let state = self
            .state_cache
            .parsed
            .as_ref()
            .and_then(Option::as_ref)
            .filter(|s| have_state && s.ts_ms <= t);
        let asset = state
            .and_then(|s| s.position.as_ref())
            .map(|p| p.asset.as_str());
        // Cat2 staleness and the mark price from the newest scan.
        let mut scan: Option<ScanHead> = None;
        let mut mark: Option<f64> = None;
        let scan_read = store.read_typed_at(&self.keys.scan, &mut |v| {
            let Some(v) = v else {
                scan = Some(ScanHead { timestamp: None });
                return;
            };
            if let Some(sv) = v.typed::<ScanValue>() {
                // The trader's own value: what the text below reads, without the text.
                let timestamp = Some(sv.timestamp).filter(|ts| *ts <= t);
                scan = Some(ScanHead { timestamp });
                if let Some(asset) = asset.filter(|_| timestamp.is_some()) {
                    mark = sv.price(asset);
                }
                return;
            }
            v.with_text(|j| {
                // A scan stamped after `t` is a previous process's (a resumed replay): absent.
                scan = sensor_parse::scan_timestamp(j)
                    .map(|timestamp| ScanHead { timestamp })
                    .or_else(|| serde_json::from_str::<ScanHead>(j).ok())
                    .map(|h| ScanHead {
                        timestamp: h.timestamp.filter(|ts| *ts <= t),
                    });
                let fresh = scan.as_ref().is_some_and(|h| h.timestamp.is_some());
                if let Some(asset) = asset.filter(|_| fresh) {
                    mark = sensor_parse::scan_price(j, asset).unwrap_or_else(|| {
                        serde_json::from_str::<ScanPrices>(j)
                            .ok()
                            .and_then(|sc| sc.asset_prices.get(asset).copied())
                    });
                }
            });
        });
        if scan_read.is_err() {
            scan = None;
        }
        let staleness_hours = match &scan {
            Some(s) => {
                let newest = s.timestamp.unwrap_or(self.started_ms).max(self.started_ms);
                ((t - newest).max(0) as f64) / 3_600_000.0
            }
            None => WORST_STALENESS_H,
        };
        let (ob_stale, depth_quality, fill_prob) = if self.ob_live {
            crate::ob_health::cat3_live(ctx)
        } else if ctx.cfg.ob_required {
            ob_health(ctx, t)
        } else {
            (false, 1.0, 1.0)
        };
        let drawdown = match (state_read, state) {
            (Err(_), _) => 1.0,
            (Ok(()), None) => 0.0,
            (Ok(()), Some(s)) => {
                let mut equity = s.capital;
                self.peak = self.peak.max(s.capital);
                if let Some(p) = &s.position {
                    let mark = mark
                        .filter(|m| m.is_finite() && *m > 0.0)
                        .unwrap_or(p.entry_price);
                    let ret = match p.direction {
                        Direction::Short => (p.entry_price - mark) / p.entry_price,
                        Direction::Long => (mark - p.entry_price) / p.entry_price,
                    };
                    equity += ret * p.notional;
                }
                if self.peak > 0.0 {
                    ((self.peak - equity) / self.peak).clamp(0.0, 1.0)
                } else {
                    1.0
                }
            }
        };
        SensorReadings {
            hz_nodes,
            heartbeat_age_s,
            mc_status,
            staleness_hours,
            ob_stale,
            depth_quality,
            fill_prob,
            dvol_spike: false,
            t_since_spike_min: None,
            drawdown,
        }
    }

    /// One evaluation at `t` (it never waits: [`Service::run_now`]): the sensors, the stack,
    /// the trace line and, when the posture changed, `DOLPHIN_SAFETY`.
    fn evaluate(&mut self, ctx: &Ctx, t: EventMs) -> Result<Vec<BusEvent>, ServiceError> {
        let readings = self.read_sensors(ctx, t);
        let dt = self.last_ts.map_or(0.0, |p| (t - p) as f64 / 60_000.0);
        let state = self.stack.update(&readings, dt)?;
        self.last_ts = Some(t);
        self.evaluations += 1;
        self.line.clear();
        crate::json_text::trace_line(&mut self.line, t, &readings, &mut self.numbers);
        ctx.files.append_raw(Trace::PostureTrace, &self.line)?;
        let new = (state.posture, state.rm);
        if self.last_written != Some(new) {
            // The new text goes into the spare buffer; the last text is the expectation.
            let mut json = std::mem::take(&mut self.spare_json);
            posture_json_into(&mut json, new.0, new.1);
            let expected = match self.last_json.take() {
                Some(j) => Some(j),
                None => ctx.store.cell_get(POSTURE_CELL)?,
            };
            if !write_safety_json(ctx.store.as_ref(), expected.as_deref(), &json)? {
                // Another writer moved the cell: take its value as the expectation once.
                let current = ctx.store.cell_get(POSTURE_CELL)?;
                if !write_safety_json(ctx.store.as_ref(), current.as_deref(), &json)? {
                    return Err(ServiceError::service(
                        Self::NAME,
                        "DOLPHIN_SAFETY changed under the watchdog twice (another writer?)",
                    ));
                }
            }
            self.last_written = Some(new);
            self.last_json = Some(json);
            if let Some(old) = expected {
                self.spare_json = old;
            }
            self.rm_gauge.set(state.rm);
        }
        self.trigger = None;
        self.next = self.cadence.next_after(t);
        Ok(Vec::new())
    }
}

/// Cat3 from the shard maps: (stale, median depth quality, median fill probability).
fn ob_health(ctx: &Ctx, t: EventMs) -> (bool, f64, f64) {
    let Some(q) = crate::ob_health::shard_quality(ctx.store.as_ref()) else {
        return (true, 0.0, 0.0);
    };
    let (dq, fp, newest) = (q.depth_quality, q.fill_probability, q.newest_ms);
    let stale = newest.is_none_or(|n| t - n > 60_000) || dq.is_empty();
    let med =
        |v: &[f64]| dolphin_core::median(v, dolphin_core::NanRule::SkipNonFinite).unwrap_or(0.0);
    (stale, med(&dq), med(&fp))
}

impl Service for Watchdog {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn next_due(&self) -> Option<EventMs> {
        match (self.next, self.trigger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move { self.evaluate(ctx, t) })
    }
    fn run_now(&mut self, ctx: &Ctx, t: EventMs) -> Option<Result<Vec<BusEvent>, ServiceError>> {
        Some(self.evaluate(ctx, t))
    }
    fn on_event(&mut self, ev: &BusEvent, t: EventMs) {
        if matches!(
            ev,
            BusEvent::PositionChanged
                | BusEvent::McPublished { .. }
                | BusEvent::ServiceHealth { .. }
        ) {
            self.trigger = Some(t);
        }
    }
    fn describe(&self) -> Vec<String> {
        vec![
            format!("{} and on sensor changes", self.cadence.describe()),
            format!("heartbeats of: {}", self.services.join(", ")),
            "reads DOLPHIN_HEARTBEAT, DOLPHIN_FEATURES, DOLPHIN_STATE_BLUE, DOLPHIN_PNL_BLUE; writes DOLPHIN_SAFETY (CAS), posture_trace.jsonl".into(),
        ]
    }
}
