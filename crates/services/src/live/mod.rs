//! `dolphin serve --live` (issue 11 item 5; SPEC §8): the services around the paper node.
//!
//! The node's DolphinActor steps the engine; the [`LiveGovernor`] it is given makes every
//! decision around the step with the replay trader's own code ([`TraderDecisions`]) and
//! traces it the same way. The services run on the serve process's runtime and are ticked in
//! lock-step by the actor: at each date change (at D 00:00, unconditionally, then the bounded
//! wait for the ACB publication, SPEC §8) and before every bar (at its open time, when anything
//! is due). Event time is therefore the node's: the bars' `ts_event`, exactly as in a replay
//! it is the day files' timestamps, and a live run records traces that `dolphin backtest` on
//! the scans of the same bars replays to byte-identical trade logs.
//!
//! The actor blocks on each round trip (bounded by the trader's timeout). The supervisor starts
//! at the first event time the node delivers (its first date, 00:00).

mod run;

pub use run::{LiveLink, LiveLinkServices, LiveReport, live_link, serve_live_services};

use crate::decisions::TraderDecisions;
use crate::error::ServiceError;
use crate::persistence::{TraderState, save_state, write_day_once};
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use crate::service::BusEvent;
use crate::trader::TraderStats;
use crate::trader_core::{AcbCell, McCell};
use dolphin_core::UtcDate;
use dolphin_engine::{DayContext, DayResult, NDAlphaEngine, StepOutcome};
use dolphin_runtime::{BarGate, BarRecord, Governor, GovernorError, Providers};
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// The stored state is written at least this often (event ms) while bars run.
const STATE_EVERY_MS: EventMs = 3_600_000;

/// What the actor's governor asks of the services.
#[derive(Debug)]
pub enum LiveMsg {
    /// Deliver `events`, then tick the supervisor at `t` when `force` or anything is due; the
    /// reply carries the events the tick caused (ACB publications to wait for).
    Tick {
        t: EventMs,
        force: bool,
        events: Vec<BusEvent>,
        reply: SyncSender<Result<Vec<BusEvent>, String>>,
    },
    /// The actor stopped; `t` = event time of its last bar.
    Finished { t: EventMs, events: Vec<BusEvent> },
}

/// The services' side of the live trader: decisions, traces, state, and the link to the
/// supervisor.
pub struct LiveGovernor {
    tx: UnboundedSender<LiveMsg>,
    decisions: TraderDecisions,
    acb: AcbCell,
    mc: Option<McCell>,
    store: Arc<dyn SystemMemory>,
    files: RunFiles,
    events: Vec<BusEvent>,
    stats: Arc<Mutex<TraderStats>>,
    reply_timeout: Duration,
    run_id: String,
    param_hash: String,
    start_capital: Option<f64>,
    day_start_capital: f64,
    last_persist_ms: EventMs,
    last_ts: EventMs,
    last_date: Option<UtcDate>,
    /// Event end of the last day when the data ended there (the services' final heartbeat
    /// time, as a replay's); a stop mid-day beats at the last bar.
    last_day_end: Option<EventMs>,
    finished: bool,
    scan: crate::typed_values::ScanValue,
}

impl LiveGovernor {
    fn stats(&self) -> std::sync::MutexGuard<'_, TraderStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One lock-step round trip; then waits (bounded) for every ACB publication the tick made
    /// to reach the pending slot.
    fn tick(&mut self, t: EventMs, force: bool) -> Result<(), GovernorError> {
        let (reply, rx) = sync_channel(1);
        let events = std::mem::take(&mut self.events);
        self.tx
            .send(LiveMsg::Tick {
                t,
                force,
                events,
                reply,
            })
            .map_err(|_| "the services have stopped")?;
        let caused = rx
            .recv_timeout(self.reply_timeout)
            .map_err(|e| {
                format!(
                    "no answer from the services within {:?}: {e}",
                    self.reply_timeout
                )
            })?
            .map_err(|e| format!("services: {e}"))?;
        for ev in caused {
            if let BusEvent::AcbPublished { seq, date } = ev
                && !self
                    .decisions
                    .pending
                    .wait_for_blocking(seq, self.decisions.acb_wait)
            {
                self.stats().store_errors += 1;
                tracing::warn!(seq, %date, "ACB publication did not reach the trader in time");
            }
        }
        Ok(())
    }

    fn persist(
        &mut self,
        t: EventMs,
        date: UtcDate,
        engine: &NDAlphaEngine,
    ) -> Result<(), ServiceError> {
        self.last_persist_ms = t;
        let state = TraderState::of_hashed(
            engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.start_capital.unwrap_or(engine.capital()),
            &self.param_hash,
        );
        self.stats().state_writes += 1;
        save_state(self.store.as_ref(), &state)
    }
}

impl LiveGovernor {
    /// `DOLPHIN_FEATURES["latest_eigen_scan"]` (S §10) for the bar just stepped, typed, as the
    /// replay trader writes it (the node's scanner leaves this write to the governor).
    fn publish_scan(&mut self, bar: &BarRecord<'_>) {
        let scan = &mut self.scan;
        if scan.assets.len() != bar.assets.len()
            || scan.assets.iter().zip(bar.assets).any(|(a, b)| a != b)
        {
            scan.assets = bar.assets.to_vec().into();
        }
        scan.vel_div = bar.vel_div;
        scan.scan_number = bar.scan_number;
        scan.timestamp = bar.ts;
        scan.prices.clear();
        scan.prices.extend_from_slice(bar.prices);
        if self
            .store
            .put_typed(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &self.scan)
            .is_err()
        {
            self.stats().store_errors += 1;
        }
    }
}

impl Governor for LiveGovernor {
    fn providers(&self) -> Providers {
        let p = Providers::none().with_shared_acb(Arc::new(self.acb.clone()));
        match &self.mc {
            Some(mc) => p.with_shared_mc(Arc::new(mc.clone())),
            None => p,
        }
    }

    fn begin_day(
        &mut self,
        date: UtcDate,
        first_ts: i64,
        engine: &NDAlphaEngine,
    ) -> Result<DayContext, GovernorError> {
        self.start_capital.get_or_insert(engine.capital());
        self.tick(date.start_ms(), true)?;
        let stats = self.stats.clone();
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        let d = self.decisions.begin_day(
            date,
            first_ts,
            engine.global_bar_idx(),
            engine,
            &mut stats,
        )?;
        self.acb.set(d.acb);
        if let (Some(cell), Some(report)) = (&self.mc, d.mc) {
            cell.set(report);
        }
        self.day_start_capital = engine.capital();
        Ok(d.ctx)
    }

    fn before_bar(
        &mut self,
        date: UtcDate,
        ts: i64,
        engine: &NDAlphaEngine,
    ) -> Result<BarGate, GovernorError> {
        self.tick(ts, false)?;
        let bar = engine.global_bar_idx();
        let acb_update = self.decisions.acb_update(date, ts, bar)?;
        let entries_allowed = self.decisions.entry_gate(ts, bar, None)?;
        Ok(BarGate {
            acb_update,
            entries_allowed,
        })
    }

    fn after_bar(
        &mut self,
        bar: &BarRecord<'_>,
        out: &StepOutcome,
        engine: &NDAlphaEngine,
    ) -> Result<bool, GovernorError> {
        let (date, ts, v750_vel) = (bar.date, bar.ts, bar.v750_vel);
        self.last_ts = ts;
        self.last_date = Some(date);
        self.publish_scan(bar);
        self.events.push(BusEvent::Scan {
            ts,
            date,
            v750: v750_vel,
        });
        if let Some(id) = out.exited
            && let Some(tr) = engine
                .trade_history()
                .iter()
                .rev()
                .find(|x| x.trade_id == id)
        {
            self.decisions.record_exit(tr.pnl, engine.capital())?;
            metrics::counter!("dolphin_exits_total", "reason" => tr.reason.as_str()).increment(1);
        }
        if out.entered.is_some() {
            metrics::counter!("dolphin_entries_total").increment(1);
        }
        metrics::counter!("dolphin_bars_processed_total").increment(1);
        if out.entered.is_some() || out.exited.is_some() {
            self.persist(ts, date, engine)?;
            self.events.push(BusEvent::PositionChanged);
        } else if ts - self.last_persist_ms >= STATE_EVERY_MS
            && let Err(e) = self.persist(ts, date, engine)
        {
            self.stats().store_errors += 1;
            tracing::warn!(error = %e, "hourly state write failed");
        }
        let stats = self.stats.clone();
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(self.decisions.posture_check(date, &mut stats))
    }

    fn end_day(
        &mut self,
        result: &DayResult,
        engine: &NDAlphaEngine,
        last: bool,
    ) -> Result<(), GovernorError> {
        if last {
            // The end of the data: the services' last beat is at the day's end, as a replay's.
            self.last_day_end = Some(result.date.succ().start_ms() - 1);
        }
        let written = write_day_once(self.store.as_ref(), result, self.decisions.day_stale);
        let persisted = self.persist(result.date.succ().start_ms() - 1, result.date, engine);
        match (written, persisted) {
            (Ok(w), Ok(())) => {
                let mut s = self.stats();
                if w {
                    s.pnl_written += 1;
                } else {
                    s.pnl_already_present += 1;
                }
            }
            (Err(e), _) | (_, Err(e)) if !last => {
                self.stats().store_errors += 1;
                tracing::warn!(date = %result.date, error = %e, "day-end store write failed");
            }
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        }
        // No day file exists live: the MC flow's refresh from recent days needs the scans
        // archived (docs/SERVICES.md, "Live mode"); the day's close is still an event.
        self.files.flush()?;
        Ok(())
    }

    fn finish(&mut self, engine: &NDAlphaEngine) -> Result<(), GovernorError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if let Some(date) = self.last_date {
            let mut state = TraderState::of_hashed(
                engine,
                date,
                self.day_start_capital,
                self.last_ts,
                &self.run_id,
                self.start_capital.unwrap_or(engine.capital()),
                &self.param_hash,
            );
            state.finished = true;
            save_state(self.store.as_ref(), &state)?;
        }
        self.files.flush()?;
        let events = std::mem::take(&mut self.events);
        let _ = self.tx.send(LiveMsg::Finished {
            t: self.last_day_end.unwrap_or(self.last_ts),
            events,
        });
        Ok(())
    }
}
