//! The supervisor (B §16.6, S §11): starts the services in order (store probe → factors →
//! ACB → OB stream → watchdog → MC; the trader last), and on every tick of the event-time clock
//! first writes the heartbeats that are due (SPEC §8: every 10 s of event time, into
//! `DOLPHIN_HEARTBEAT[service]` as `{ts, phase, service, pid}`), then runs every service whose
//! work is due at or before the tick, in start order, each attempt under a timeout, failed
//! attempts retried with exponential backoff, a service that exhausts its retries rebuilt
//! (restart) up to `max_restarts` times and otherwise left down — its heartbeat then stops and
//! the watchdog's Cat1 sees it; a service that is down is built again every minute of event
//! time (one attempt each), so that it comes back when its cause (a store outage) is gone.
//!
//! Lock-step (docs/SERVICES.md "One clock"): the trader calls [`Supervisor::tick`] with a bar's
//! event time before it steps that bar, and the tick returns only when every service has done
//! all its work due at or before that time. Services therefore see event time advance exactly
//! as the trader does, at any replay speed, and take the same decisions at the same times.

use crate::config::ServiceSpec;
use crate::error::ServiceError;
use crate::schedule::{Cadence, EventMs};
use crate::service::{BusEvent, Ctx, Factory, Service};
use crate::typed_values::BeatValue;
use dolphin_store::KeyRef;
use serde::Serialize;
use std::time::Duration;

mod beats;
mod revive;
mod run;
#[cfg(test)]
mod tests;
mod timeout;

/// Counters of one service for `services.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceStats {
    pub name: String,
    pub state: String,
    pub cadence: String,
    pub starts: u64,
    pub restarts: u64,
    pub retries: u64,
    pub failures: u64,
    pub runs: u64,
    pub last_error: Option<String>,
    /// Event time of the last heartbeat (ms).
    pub last_heartbeat_ms: Option<EventMs>,
    pub last_run_ms: Option<EventMs>,
    pub heartbeats: u64,
}

struct Slot {
    name: &'static str,
    spec: ServiceSpec,
    factory: Option<Factory>,
    /// The service (set only through [`Slot::set_service`]).
    svc: Option<Box<dyn Service>>,
    /// `svc.beats_itself()`, taken when the service is (re)built.
    beats_itself: bool,
    /// `svc.next_due()` as last asked; `None` = ask again (the service ran, took an event or
    /// was (re)built since: [`Service::next_due`]).
    known_due: Option<Option<EventMs>>,
    stats: ServiceStats,
    /// `stats.state == "running"` (both set by [`Slot::set_state`]).
    running: bool,
    last_logged_beat: Option<EventMs>,
    last_logged_phase: &'static str,
    /// The heartbeat, a typed store value (crate::typed_values), reused every beat.
    beat: BeatValue,
    /// `DOLPHIN_HEARTBEAT[name]`, resolved once (dolphin_store::KeyRef).
    beat_key: KeyRef,
    /// `dolphin_service_runs_total{service}`, taken from the recorder at the first run.
    runs_counter: Option<metrics::Counter>,
    /// A service left down is built again once the event time reaches this (every
    /// [`REVIVE_MS`]): a store outage must not leave the services down for good.
    revive_at: Option<EventMs>,
}

impl Slot {
    /// Installs (or, with `None`, removes) the service.
    fn set_service(&mut self, svc: Option<Box<dyn Service>>) {
        self.beats_itself = svc.as_ref().is_some_and(|v| v.beats_itself());
        self.known_due = None;
        self.svc = svc;
    }

    /// Sets `stats.state` and `running` together.
    fn set_state(&mut self, state: &str) {
        self.running = state == "running";
        self.stats.state = state.into();
    }

    /// [`Service::next_due`], asked only when it may have changed.
    #[inline]
    fn next_due(&mut self) -> Option<EventMs> {
        *self
            .known_due
            .get_or_insert_with(|| self.svc.as_ref().and_then(|v| v.next_due()))
    }
}

/// Event time between two attempts to bring a service that is down back.
pub const REVIVE_MS: EventMs = 60_000;

/// The heartbeat value (S §10 `{ts, phase, ...}`; SPEC §8 adds `service` and `pid`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Heartbeat {
    /// Event time, Unix seconds.
    pub ts: f64,
    pub phase: String,
    pub service: String,
    pub pid: u32,
}

/// Runs the services on the event-time clock.
pub struct Supervisor {
    pub ctx: Ctx,
    slots: Vec<Slot>,
    heartbeat: Cadence,
    heartbeat_log_ms: i64,
    next_beat: Option<EventMs>,
    pending: Vec<BusEvent>,
    now: Option<EventMs>,
    /// The slots beating this tick (reused).
    beating: Vec<usize>,
}

impl Supervisor {
    /// A supervisor over `ctx`; services are added with [`Supervisor::add`] in start order.
    pub fn new(ctx: Ctx) -> Result<Self, ServiceError> {
        let heartbeat = Cadence::parse(&ctx.cfg.heartbeat)?;
        let heartbeat_log_ms = match Cadence::parse(&ctx.cfg.heartbeat_log)? {
            Cadence::Every { ms } => ms,
            _ => 3_600_000,
        };
        Ok(Self {
            ctx,
            slots: Vec::new(),
            heartbeat,
            heartbeat_log_ms,
            next_beat: None,
            pending: Vec::new(),
            now: None,
            beating: Vec::new(),
        })
    }

    /// Registers a service (or, with `factory: None`, a member that runs itself — the trader —
    /// whose heartbeat the supervisor writes while it is alive).
    pub fn add(&mut self, name: &'static str, spec: ServiceSpec, factory: Option<Factory>) {
        let cadence = Cadence::parse(&spec.cadence)
            .map(|c| c.describe())
            .unwrap_or_else(|e| e.to_string());
        let state = if spec.enabled { "new" } else { "disabled" };
        self.slots.push(Slot {
            name,
            spec,
            factory,
            svc: None,
            beats_itself: false,
            known_due: None,
            stats: ServiceStats {
                name: name.into(),
                state: state.into(),
                cadence,
                ..Default::default()
            },
            running: false,
            last_logged_beat: None,
            last_logged_phase: "",
            beat: BeatValue {
                ts_ms: 0,
                phase: "",
                service: name,
                pid: 0,
            },
            beat_key: KeyRef::new(dolphin_store::schema::DOLPHIN_HEARTBEAT, name)
                .expect("the heartbeat map's name is valid"),
            runs_counter: None,
            revive_at: None,
        });
    }

    /// Names of the enabled services and members, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.slots
            .iter()
            .filter(|s| s.spec.enabled)
            .map(|s| s.name)
            .collect()
    }

    /// Starts every enabled service in order at event time `t0` (B §16.6); a service that
    /// cannot be built after its retries stops the start (nothing half-started trades).
    pub async fn start(&mut self, t0: EventMs) -> Result<(), ServiceError> {
        for i in 0..self.slots.len() {
            if !self.slots[i].spec.enabled {
                continue;
            }
            if self.slots[i].factory.is_some() {
                self.build(i, t0).await?;
            }
            let s = &mut self.slots[i];
            s.stats.starts += 1;
            s.set_state("running");
            tracing::info!(service = s.name, at = %crate::schedule::iso(t0), "started");
        }
        self.now = Some(t0);
        self.next_beat = self.heartbeat.at_or_after(t0);
        Ok(())
    }

    async fn build(&mut self, i: usize, t: EventMs) -> Result<(), ServiceError> {
        let policy = self.slots[i].spec.retry;
        let name = self.slots[i].name;
        let mut attempt = 0u32;
        let mut backoff = dolphin_store::Backoff::new(
            Duration::from_millis(policy.backoff_ms),
            Duration::from_millis(policy.backoff_max_ms),
        );
        loop {
            let factory = self.slots[i].factory.as_ref().expect("has a factory");
            match factory(&self.ctx, t) {
                Ok(svc) => {
                    self.slots[i].set_service(Some(svc));
                    return Ok(());
                }
                Err(e) if attempt < policy.retries => {
                    attempt += 1;
                    self.slots[i].stats.retries += 1;
                    self.slots[i].stats.last_error = Some(e.to_string());
                    metrics::counter!("dolphin_service_retries_total", "service" => name)
                        .increment(1);
                    tracing::warn!(service = name, attempt, error = %e, "start failed, retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(e) => {
                    self.slots[i].stats.failures += 1;
                    self.slots[i].stats.last_error = Some(e.to_string());
                    self.slots[i].set_state("failed");
                    return Err(ServiceError::service(name, format!("cannot start: {e}")));
                }
            }
        }
    }

    /// Delivers an event from outside (the trader) to every service at once.
    pub fn notify(&mut self, ev: BusEvent) {
        let t = self.now.unwrap_or(0);
        self.deliver(&ev, t);
    }

    /// Hands `ev` to every live service.
    fn deliver(&mut self, ev: &BusEvent, t: EventMs) {
        for s in &mut self.slots {
            if let Some(svc) = s.svc.as_mut() {
                svc.on_event(ev, t);
                s.known_due = None;
            }
        }
    }

    /// Events the services raised since the last call.
    pub fn take_events(&mut self) -> Vec<BusEvent> {
        std::mem::take(&mut self.pending)
    }

    /// Whether any service has work due at or before `t` or a heartbeat is due: the trader
    /// skips the tick entirely when not (the common case between schedule points).
    #[inline]
    pub fn due(&self, t: EventMs) -> bool {
        self.next_beat.is_some_and(|b| b <= t)
            || self.slots.iter().any(|s| {
                s.known_due
                    .unwrap_or_else(|| s.svc.as_ref().and_then(|v| v.next_due()))
                    .or(s.revive_at)
                    .is_some_and(|d| d <= t)
            })
    }

    /// Advances the clock to `t`: heartbeats due, then every service's work due at or before
    /// `t`, in start order, until nothing is due (events may make later services due).
    pub async fn tick(&mut self, t: EventMs) -> Result<(), ServiceError> {
        self.now = Some(t);
        if self.next_beat.is_some_and(|b| b <= t) {
            self.beat_all(t, "running")?;
            self.next_beat = self.heartbeat.next_after(t);
        }
        if self
            .slots
            .iter()
            .any(|s| s.revive_at.is_some_and(|r| r <= t))
        {
            self.revive(t);
        }
        for _pass in 0..4 {
            let mut ran = false;
            let mut from = 0;
            while let Some(i) = self.first_due(from, t) {
                ran = true;
                // A run that never waits (Service::run_now) and succeeds needs nothing more;
                // any other run, and every failure, goes through `run_slot`.
                match self.run_now(i, t) {
                    Some(Ok(events)) => self.succeeded(i, t, events),
                    first => self.run_slot(i, t, first).await,
                }
                from = i + 1;
            }
            if !ran {
                break;
            }
        }
        Ok(())
    }

    /// The first slot from `from` on whose service has work due at or before `t`.
    fn first_due(&mut self, from: usize, t: EventMs) -> Option<usize> {
        let due = self.slots[from..]
            .iter_mut()
            .position(|s| s.next_due().is_some_and(|d| d <= t))?;
        Some(from + due)
    }

    fn dispatch(&mut self, ev: BusEvent, t: EventMs) {
        self.deliver(&ev, t);
        self.pending.push(ev);
    }

    /// Marks a member (the trader) stopped or running.
    pub fn set_member_state(&mut self, name: &str, state: &str) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.name == name) {
            s.set_state(state);
        }
    }

    /// Counts a member's own retry or error (the trader's day loads and store writes).
    pub fn member_error(&mut self, name: &str, retried: bool, error: &str) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.name == name) {
            if retried {
                s.stats.retries += 1;
            } else {
                s.stats.failures += 1;
            }
            s.stats.last_error = Some(error.into());
        }
    }

    /// Every service's counters, in start order.
    pub fn stats(&self) -> Vec<ServiceStats> {
        self.slots.iter().map(|s| s.stats.clone()).collect()
    }

    /// Input lines of every service for the plan.
    pub fn describe(&self) -> Vec<(String, ServiceStats, Vec<String>)> {
        self.slots
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.stats.clone(),
                    s.svc.as_ref().map(|v| v.describe()).unwrap_or_default(),
                )
            })
            .collect()
    }
}
