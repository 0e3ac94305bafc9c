//! The replay trader (B §14.1, §16.5; S §5.3; SPEC §8): day files stepped on the event-time
//! clock through [`TraderCore`], with every provider wired from the store — the day's ACB
//! value and its sub-day updates through the pending-flag slot, the MC status, the posture
//! from `DOLPHIN_SAFETY` at the date change and the stale-state check after each bar — and the
//! circuit breaker (S §14) consulted before every entry. Every decision goes to its trace.
//!
//! Per date: tick the supervisor at D 00:00 (ACB and MC publish, the watchdog evaluates), wait
//! (bounded) for the ACB publication, read MC and posture, `begin_day`. Per bar at `t`: tick
//! the supervisor when anything is due at or before `t` (and wait for any ACB publication it
//! made to reach the slot), apply a pending ACB value, step, publish the scan, persist state on
//! a position change, check for stale state. A stop request ends the run after the current bar.
//!
//! This file holds the trader, its run over the day files, loading and the day's end; the date
//! change is in `day_start`, one bar in `bar`.

mod bar;
mod day_start;

use crate::error::ServiceError;
use crate::pending_acb::PendingAcb;
use crate::persistence::{TraderState, save_state, write_day_once};
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use crate::trader_core::TraderCore;
use dolphin_core::{DayFrame, Posture, UtcDate};
use dolphin_data::{DataError, read_day_file};
use dolphin_engine::McReport;
use dolphin_risk::CircuitBreakerManager;
use dolphin_store::SystemMemory;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The trader's name in heartbeats and `services.json`.
pub const TRADER: &str = "trader";

/// Where a resumed run stood, and whether the re-run reached the same state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResumeCheck {
    pub ts_ms: EventMs,
    pub capital: f64,
    pub trades: usize,
    pub position: Option<u32>,
    pub verified: bool,
}

/// What the trader did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TraderStats {
    pub stopped_by_signal: bool,
    pub stale_state_events: u64,
    pub acb_kept_previous: u64,
    pub mc_kept_previous: u64,
    pub pnl_written: u64,
    pub pnl_already_present: u64,
    pub state_writes: u64,
    pub store_errors: u64,
    pub resumed: Option<ResumeCheck>,
}

/// The replay trader.
pub struct ReplayTrader {
    pub core: TraderCore,
    store: Arc<dyn SystemMemory>,
    files: RunFiles,
    pending: PendingAcb,
    breaker: CircuitBreakerManager,
    can_open: bool,
    mc_enabled: bool,
    last_mc: Option<McReport>,
    acb_wait: Duration,
    day_timeout: Duration,
    load_retries: u32,
    run_id: String,
    resume: Option<TraderState>,
    speed: f64,
    day_posture_raw: Option<String>,
    day_posture: Posture,
    day_stale: bool,
    day_start_capital: f64,
    scan_json: String,
    /// Per asset column of the day: the last price written into the scan and its text.
    price_text: Vec<(u64, String)>,
    pub stats: TraderStats,
}

impl ReplayTrader {
    /// A trader over `core`, listening for ACB values; `resume` is the state a previous run of
    /// the same replay left (its position is re-reached and checked).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        core: TraderCore,
        sup: &Supervisor,
        mc_enabled: bool,
        run_id: String,
        resume: Option<TraderState>,
        speed: f64,
    ) -> Result<Self, ServiceError> {
        let ctx = &sup.ctx;
        let pending = PendingAcb::subscribe(ctx.store.clone())?;
        Ok(Self {
            store: ctx.store.clone(),
            files: ctx.files.clone(),
            pending,
            breaker: CircuitBreakerManager::new(ctx.cfg.circuit_breaker.clone())?,
            can_open: true,
            mc_enabled,
            last_mc: None,
            acb_wait: Duration::from_millis(ctx.cfg.acb_wait_ms),
            day_timeout: Duration::from_millis(ctx.cfg.trader.retry.timeout_ms),
            load_retries: ctx.cfg.trader.retry.retries,
            run_id,
            resume,
            speed,
            day_posture_raw: None,
            day_posture: Posture::Apex,
            day_stale: false,
            day_start_capital: core.engine.capital(),
            scan_json: String::with_capacity(1024),
            price_text: Vec::new(),
            core,
            stats: TraderStats::default(),
        })
    }

    /// Replays `files` in order; returns when done or when `stop` is set (after the bar).
    pub async fn run(
        &mut self,
        sup: &mut Supervisor,
        files: &[(UtcDate, PathBuf)],
        stop: Arc<AtomicBool>,
    ) -> Result<(), ServiceError> {
        let wall0 = Instant::now();
        let mut t_first: Option<EventMs> = None;
        let mut next = files.first().map(|(_, p)| spawn_read(p.clone()));
        for (i, (date, path)) in files.iter().enumerate() {
            let frame = self.load(sup, next.take(), path).await?;
            next = files.get(i + 1).map(|(_, p)| spawn_read(p.clone()));
            self.begin_day(sup, &frame, *date).await?;
            let day_wall = Instant::now();
            let mut since_metrics = 0u64;
            for r in 0..frame.len() {
                if stop.load(Ordering::Relaxed) {
                    self.stats.stopped_by_signal = true;
                    break;
                }
                let t = frame.timestamp[r];
                if self.speed > 0.0 {
                    let t0 = *t_first.get_or_insert(t);
                    let target =
                        wall0 + Duration::from_secs_f64((t - t0) as f64 / 1000.0 / self.speed);
                    tokio::time::sleep_until(target.into()).await;
                }
                since_metrics += 1;
                if sup.due(t) {
                    sup.tick(t).await?;
                    self.after_tick(sup).await;
                    metrics::counter!("dolphin_bars_processed_total").increment(since_metrics);
                    since_metrics = 0;
                    if day_wall.elapsed() > self.day_timeout {
                        return Err(ServiceError::Timeout {
                            service: format!("{TRADER} (day {date})"),
                            ms: self.day_timeout.as_millis() as u64,
                        });
                    }
                }
                self.step_bar(sup, &frame, r)?;
            }
            metrics::counter!("dolphin_bars_processed_total").increment(since_metrics);
            if self.stats.stopped_by_signal {
                // The day is not over: its result is not written; the state (with any open
                // position) is, so a restart continues from here.
                self.persist(frame.timestamp.last().copied().unwrap_or(0), *date)?;
                break;
            }
            self.end_day(sup, *date, path, i + 1 == files.len())?;
        }
        Ok(())
    }

    async fn load(
        &mut self,
        sup: &mut Supervisor,
        pending: Option<std::thread::JoinHandle<Result<DayFrame, DataError>>>,
        path: &std::path::Path,
    ) -> Result<DayFrame, ServiceError> {
        let mut res = match pending {
            Some(h) => h
                .join()
                .map_err(|_| ServiceError::service(TRADER, "day reader panicked"))?,
            None => read_day_file(path),
        };
        let mut attempt = 0;
        loop {
            match res {
                Ok(f) => return Ok(f),
                Err(e) if attempt < self.load_retries => {
                    attempt += 1;
                    sup.member_error(TRADER, true, &e.to_string());
                    tracing::warn!(file = %path.display(), error = %e, "day load failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    res = read_day_file(path);
                }
                Err(e) => {
                    sup.member_error(TRADER, false, &e.to_string());
                    return Err(e.into());
                }
            }
        }
    }

    /// Waits for every ACB publication made in the tick to reach the slot (lock-step).
    async fn after_tick(&mut self, sup: &mut Supervisor) {
        for ev in sup.take_events() {
            if let BusEvent::AcbPublished { seq, date } = ev
                && !self.pending.wait_for(seq, self.acb_wait).await
            {
                self.stats.store_errors += 1;
                tracing::warn!(seq, %date, "ACB publication did not reach the trader in time");
            }
        }
    }

    fn persist(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        let state = TraderState::of(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
        );
        self.stats.state_writes += 1;
        save_state(self.store.as_ref(), &state)
    }

    fn end_day(
        &mut self,
        sup: &mut Supervisor,
        date: UtcDate,
        path: &std::path::Path,
        last: bool,
    ) -> Result<(), ServiceError> {
        let day = self.core.end_day(last)?;
        if write_day_once(self.store.as_ref(), &day, self.day_stale)? {
            self.stats.pnl_written += 1;
        } else {
            self.stats.pnl_already_present += 1;
        }
        let t = date.succ().start_ms() - 1;
        self.persist(t, date)?;
        sup.notify(BusEvent::DayClosed {
            date,
            path: path.to_path_buf(),
        });
        self.files.flush()?;
        Ok(())
    }

    /// Marks the stored state finished (a later start of the same replay starts afresh).
    pub fn finish(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        let mut state = TraderState::of(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
        );
        state.finished = !self.stats.stopped_by_signal;
        save_state(self.store.as_ref(), &state)
    }
}

fn spawn_read(path: PathBuf) -> std::thread::JoinHandle<Result<DayFrame, DataError>> {
    std::thread::spawn(move || read_day_file(&path))
}
