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
mod prior;

pub use prior::{PriorDay, PriorDecisions};

use crate::decisions::TraderDecisions;
use crate::error::ServiceError;
use crate::persistence::{TraderState, save_state, write_day_once};
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use crate::trader_core::TraderCore;
use dolphin_core::{DayFrame, UtcDate};
use dolphin_data::{DataError, read_day_file};
use dolphin_store::SystemMemory;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The stored state is written at least this often (event ms) while bars run.
const STATE_EVERY_MS: EventMs = 3_600_000;

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
    /// Decisions re-applied from the previous process's traces (a resumed run).
    pub prior_decisions: usize,
    /// Daily results missing from the store (lost with it) and written again.
    pub pnl_restored: u64,
}

/// The replay trader.
pub struct ReplayTrader {
    pub core: TraderCore,
    store: Arc<dyn SystemMemory>,
    files: RunFiles,
    decisions: TraderDecisions,
    day_timeout: Duration,
    load_retries: u32,
    run_id: String,
    /// `champion_hash` of the engine config (fixed for the run), for every state write.
    param_hash: String,
    resume: Option<TraderState>,
    prior: Option<PriorDecisions>,
    speed: f64,
    /// Event time of the last state write.
    last_persist_ms: EventMs,
    /// Dates whose result was flagged stale (to write a lost one again as it was).
    stale_days: Vec<UtcDate>,
    day_start_capital: f64,
    /// The latest scan (reused every bar) and the date of its asset columns.
    scan: crate::typed_values::ScanValue,
    scan_date: Option<UtcDate>,
    /// `DOLPHIN_FEATURES["latest_eigen_scan"]`, resolved once.
    scan_key: dolphin_store::KeyRef,
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
        prior: Option<PriorDecisions>,
        speed: f64,
    ) -> Result<Self, ServiceError> {
        let ctx = &sup.ctx;
        Ok(Self {
            store: ctx.store.clone(),
            files: ctx.files.clone(),
            decisions: TraderDecisions::new(
                ctx.store.clone(),
                ctx.files.clone(),
                &ctx.cfg,
                mc_enabled,
            )?,
            day_timeout: Duration::from_millis(ctx.cfg.trader.retry.timeout_ms),
            load_retries: ctx.cfg.trader.retry.retries,
            run_id,
            param_hash: dolphin_engine::champion::champion_hash(core.engine.config()),
            resume,
            stats: TraderStats {
                prior_decisions: prior.as_ref().map_or(0, PriorDecisions::len),
                ..TraderStats::default()
            },
            prior,
            speed,
            stale_days: Vec::new(),
            last_persist_ms: EventMs::MIN / 2,
            day_start_capital: core.engine.capital(),
            scan: Default::default(),
            scan_date: None,
            scan_key: dolphin_store::KeyRef::new(
                dolphin_store::schema::DOLPHIN_FEATURES,
                dolphin_store::schema::KEY_LATEST_EIGEN_SCAN,
            )?,
            core,
        })
    }

    /// Replays `files` in order; returns when done or when `stop` is set (after the bar).
    pub async fn run(
        &mut self,
        sup: &mut Supervisor,
        files: &[(UtcDate, PathBuf)],
        stop: Arc<AtomicBool>,
    ) -> Result<(), ServiceError> {
        // Pacing starts at the first bar after a resumed run's re-run (which runs as fast as
        // possible: its hours were already lived once).
        let mut anchor: Option<(Instant, EventMs)> = None;
        let mut next = files.first().map(|(_, p)| spawn_read(p.clone()));
        for (i, (date, path)) in files.iter().enumerate() {
            let frame = self.load(sup, next.take(), path).await?;
            next = files.get(i + 1).map(|(_, p)| spawn_read(p.clone()));
            self.begin_day(sup, &frame, *date).await?;
            let mut day_wall = DayWall::start();
            let mut since_metrics = 0u64;
            for r in 0..frame.len() {
                if stop.load(Ordering::Relaxed) {
                    self.stats.stopped_by_signal = true;
                    break;
                }
                let t = frame.timestamp[r];
                if self.speed > 0.0 && self.resume.is_none() {
                    let (wall0, t0) = *anchor.get_or_insert((Instant::now(), t));
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
                    if day_wall.over(self.day_timeout) {
                        return Err(ServiceError::Timeout {
                            service: format!("{TRADER} (day {date})"),
                            ms: self.day_timeout.as_millis() as u64,
                        });
                    }
                }
                self.step_bar(sup, &frame, r)?;
                if t - self.last_persist_ms >= STATE_EVERY_MS {
                    // Hourly, besides every entry, exit and day end: a restart re-runs at most
                    // an hour of event time at the replay's pace. Not fatal: the next write
                    // carries the same information.
                    if let Err(e) = self.persist(t, *date) {
                        self.stats.store_errors += 1;
                        tracing::warn!(error = %e, "hourly state write failed");
                    }
                }
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
        // A state stored after the last bar is re-reached only here.
        self.check_resume()
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
                && !self
                    .decisions
                    .pending
                    .wait_for(seq, self.decisions.acb_wait)
                    .await
            {
                self.stats.store_errors += 1;
                tracing::warn!(seq, %date, "ACB publication did not reach the trader in time");
            }
        }
    }

    fn persist(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        self.last_persist_ms = t;
        if self.resume.is_some() {
            // Still re-running: the stored state is ahead of this one.
            return Ok(());
        }
        let state = TraderState::of_hashed(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
            &self.param_hash,
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
        if self.decisions.day_stale {
            self.stale_days.push(date);
        }
        // With the store down at a day's end the run goes on (the next date then begins
        // fail-safe, docs/CHAOS.md): the result is in `days.jsonl` and in memory, and the next
        // date change writes it (`restore_lost_days`); a process killed before that re-runs
        // the day and writes it. The last day's writes stay fatal: nothing comes after them
        // but a restart.
        let written = write_day_once(self.store.as_ref(), &day, self.decisions.day_stale)
            .and_then(|w| self.restore_lost_days().map(|()| w));
        let t = date.succ().start_ms() - 1;
        let persisted = self.persist(t, date);
        match (written, persisted) {
            (Ok(w), Ok(())) => {
                if w {
                    self.stats.pnl_written += 1;
                } else {
                    self.stats.pnl_already_present += 1;
                }
            }
            (Err(e), _) | (_, Err(e)) if !last => {
                self.stats.store_errors += 1;
                tracing::warn!(%date, error = %e, "day-end store write failed: written again at the next date change");
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        }
        sup.notify(BusEvent::DayClosed {
            date,
            path: path.to_path_buf(),
        });
        self.files.flush()?;
        Ok(())
    }

    /// Writes again every earlier daily result the store no longer has (a Redis restarted
    /// from a file that predates them, SIGKILLed within its last fsync second): a daily result
    /// is never lost (S §17.6). One read of the map per date.
    fn restore_lost_days(&mut self) -> Result<(), ServiceError> {
        let stored = self
            .store
            .get_all(dolphin_store::schema::DOLPHIN_PNL_BLUE)?;
        let n = self.core.days.len().saturating_sub(1);
        for i in 0..n {
            let day = &self.core.days[i];
            if !stored.contains_key(&day.date.to_string()) {
                let stale = self.stale_days.contains(&day.date);
                if write_day_once(self.store.as_ref(), day, stale)? {
                    self.stats.pnl_restored += 1;
                    tracing::warn!(date = %day.date, "daily result missing from the store: written again");
                }
            }
        }
        Ok(())
    }

    /// Checks a resumed run at the stored state's bar: capital, trade count and the open
    /// position must be the stored ones bit for bit; from here on the run is live.
    fn check_resume(&mut self) -> Result<(), ServiceError> {
        let Some(s) = &self.resume else {
            return Ok(());
        };
        let e = &self.core.engine;
        if e.global_bar_idx() != s.bar_idx {
            return Ok(());
        }
        let verified = e.capital().to_bits() == s.capital.to_bits()
            && e.trade_history().len() == s.trades
            && e.position().map(|p| p.trade_id) == s.position.as_ref().map(|p| p.trade_id);
        self.stats.resumed = Some(ResumeCheck {
            ts_ms: s.ts_ms,
            capital: s.capital,
            trades: s.trades,
            position: s.position.as_ref().map(|p| p.trade_id),
            verified,
        });
        if !verified {
            return Err(ServiceError::Resume(format!(
                "at {} the re-run has capital {} and {} trades, the stored state {} and {}",
                crate::schedule::iso(s.ts_ms),
                e.capital(),
                e.trade_history().len(),
                s.capital,
                s.trades
            )));
        }
        tracing::info!(at = %crate::schedule::iso(s.ts_ms), "resumed: the stored position and capital were re-reached");
        self.resume = None;
        self.prior = None;
        Ok(())
    }

    /// Marks the stored state finished (a later start of the same replay starts afresh).
    pub fn finish(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        let mut state = TraderState::of_hashed(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
            &self.param_hash,
        );
        state.finished = !self.stats.stopped_by_signal;
        save_state(self.store.as_ref(), &state)
    }
}

/// The wall time a day has taken, against the trader's run timeout (S §11). The clock is read
/// at every 64th check: a day runs for seconds to hours, and a clock read costs a tenth of a
/// fast replay's bar.
struct DayWall {
    start: Instant,
    checks: u32,
}

impl DayWall {
    fn start() -> Self {
        Self {
            start: Instant::now(),
            checks: 0,
        }
    }

    /// Whether the day has run longer than `limit` (looked at every 64th call).
    fn over(&mut self, limit: Duration) -> bool {
        self.checks = self.checks.wrapping_add(1);
        self.checks.is_multiple_of(64) && self.start.elapsed() > limit
    }
}

fn spawn_read(path: PathBuf) -> std::thread::JoinHandle<Result<DayFrame, DataError>> {
    std::thread::spawn(move || read_day_file(&path))
}
