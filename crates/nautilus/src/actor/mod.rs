//! `DolphinActor` (B §14, S §5): the DOLPHIN engine as a NautilusTrader strategy. Each bar of
//! the driving bar type feeds one day-file row to `vol_regime_ok` + `step_bar` (SPEC D6); dates
//! come from `ts_event` (S §17); the store gives posture and sub-day ACB and receives the
//! per-date results.
//!
//! One job per file: [`store_io`] (posture, capital continuity, results to the store),
//! [`day_change`] (the date boundary and replay day loading), [`scan_intake`] (live scans from
//! the store), [`orders`] (order routing and sizing), [`stale_gate`] (after each step: orders
//! and the stale-state gate). This file holds the state, the Nautilus lifecycle and the bar.

mod day_change;
mod governed;
mod orders;
mod scan_intake;
mod stale_gate;
mod store_io;

pub use orders::{QuantityError, order_quantity};

use crate::actor_log::{ActorLog, ActorLogHandle, BarError, FillRecord, Leg, OrderProblem};
use crate::config::{ActorMode, DolphinActorConfig};
use crate::day_source::DaySource;
use crate::gate_snap::GateSnap;
use crate::pending_acb::PendingAcb;
use crate::scan_inbox::SCAN_SIGNAL;
use dolphin_core::{DayFrame, Posture, UtcDate, date_of_ms};
use dolphin_engine::NDAlphaEngine;
use dolphin_store::{SubscriptionId, SystemMemory};
use nautilus_common::actor::DataActor;
use nautilus_model::data::Bar;
use nautilus_model::events::{OrderDenied, OrderFilled, OrderRejected};
use nautilus_model::identifiers::StrategyId;
use nautilus_trading::nautilus_strategy;
use nautilus_trading::strategy::{StrategyConfig, StrategyCore};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

/// The DOLPHIN strategy on NautilusTrader (B §14.1 lifecycle, S §5).
pub struct DolphinActor {
    core: StrategyCore,
    cfg: DolphinActorConfig,
    days: Box<dyn DaySource>,
    log: ActorLogHandle,
    engine: Option<NDAlphaEngine>,
    store: Option<Arc<dyn SystemMemory>>,
    acb_subscription: Option<SubscriptionId>,
    pending_acb: PendingAcb,
    current_date: Option<UtcDate>,
    posture: Posture,
    rm: f64,
    processed_dates: BTreeSet<UtcDate>,
    stale_state_events: u64,
    day_stale: bool,
    day_data: Option<DayFrame>,
    bar_idx_today: usize,
    /// Live mode: scan number of the last scan stepped (S §5.1 `last_scan_number = -1`).
    last_scan_number: i64,
    /// Open time of the bar about to be stepped (a governor's date change needs it).
    next_bar_ts: i64,
    /// Live mode: bar open time of the last scan stepped (for [`crate::BarTimeGap`]s).
    last_scan_open_ms: Option<i64>,
}

nautilus_strategy!(DolphinActor, {
    fn on_order_rejected(&mut self, event: OrderRejected) {
        self.log.borrow_mut().order_problems.push(OrderProblem {
            client_order_id: event.client_order_id.to_string(),
            reason: format!("rejected: {}", event.reason),
        });
    }

    fn on_order_denied(&mut self, event: OrderDenied) {
        self.log.borrow_mut().order_problems.push(OrderProblem {
            client_order_id: event.client_order_id.to_string(),
            reason: format!("denied: {}", event.reason),
        });
    }
});

impl std::fmt::Debug for DolphinActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DolphinActor")
            .field("config", &self.cfg)
            .field("current_date", &self.current_date)
            .field("posture", &self.posture)
            .field("processed_dates", &self.processed_dates.len())
            .field("engine", &self.engine)
            .finish()
    }
}

impl DolphinActor {
    /// S §5.1 `__init__`: defaults only; the store and the engine come at `on_start`.
    /// `days` is the replay data (B §14.3).
    pub fn new(cfg: DolphinActorConfig, days: Box<dyn DaySource>) -> Self {
        let tag = cfg
            .strategy_id
            .rsplit('-')
            .next()
            .unwrap_or("001")
            .to_string();
        let core = StrategyCore::new(StrategyConfig {
            strategy_id: Some(StrategyId::from(cfg.strategy_id.as_str())),
            order_id_tag: Some(tag),
            ..Default::default()
        });
        Self {
            core,
            cfg,
            days,
            log: Rc::new(RefCell::new(ActorLog::default())),
            engine: None,
            store: None,
            acb_subscription: None,
            pending_acb: PendingAcb::new(),
            current_date: None,
            posture: Posture::Apex,
            rm: 1.0,
            processed_dates: BTreeSet::new(),
            stale_state_events: 0,
            day_stale: false,
            day_data: None,
            bar_idx_today: 0,
            last_scan_number: -1,
            next_bar_ts: 0,
            last_scan_open_ms: None,
        }
    }

    /// The shared record of what the actor did.
    pub fn log(&self) -> ActorLogHandle {
        self.log.clone()
    }
    /// The engine (created at `on_start`).
    pub fn engine(&self) -> Option<&NDAlphaEngine> {
        self.engine.as_ref()
    }
    /// The ACB slot the store listener writes to (S §5.4).
    pub fn pending_acb(&self) -> &PendingAcb {
        &self.pending_acb
    }
    /// The posture the current day was begun with.
    pub fn posture(&self) -> Posture {
        self.posture
    }
    /// Dates already ended (B §14.1 step 4 guard).
    pub fn processed_dates(&self) -> &BTreeSet<UtcDate> {
        &self.processed_dates
    }
    /// Stale-state events since start (S §5.3 ⑧; cleared by `on_stop`).
    pub fn stale_state_events(&self) -> u64 {
        self.stale_state_events
    }
    /// The date of the last bar seen.
    pub fn current_date(&self) -> Option<UtcDate> {
        self.current_date
    }
    /// Whether the store is connected.
    pub fn has_store(&self) -> bool {
        self.store.is_some()
    }
    /// The row of the current day the next bar feeds.
    pub fn bar_idx_today(&self) -> usize {
        self.bar_idx_today
    }

    /// S §5.2: connect the store (non-fatal), read the posture, listen for sub-day ACB, build
    /// the engine, restore capital when asked.
    fn start_dolphin(&mut self) -> anyhow::Result<()> {
        self.connect_store();
        let mut engine = NDAlphaEngine::new(self.cfg.engine.clone())
            .map_err(|e| anyhow::anyhow!("DolphinActor engine config: {e}"))?;
        self.cfg.providers.install(&mut engine);
        if self.cfg.restore_capital {
            self.restore_capital(&mut engine);
        }
        self.engine = Some(engine);
        Ok(())
    }

    fn bar_error(&mut self, date: UtcDate, row: usize, message: String) {
        log::error!("DolphinActor {date} row {row}: {message}");
        self.log
            .borrow_mut()
            .errors
            .push(BarError { date, row, message });
    }

    /// The body of `on_bar` (S §5.3 ①–⑨) for one bar at `ts_event_ns`.
    fn handle_row_bar(&mut self, ts_event_ns: u64) -> anyhow::Result<()> {
        self.log.borrow_mut().bars_received += 1;
        if self.engine.is_none() {
            return Ok(());
        }
        let ts_ms = (ts_event_ns / 1_000_000) as i64;
        if let ActorMode::Live { assets } = &self.cfg.mode {
            if self.cfg.live_feed.is_some() {
                return self.drain_inbox();
            }
            // ④ live, from the store: the date is the scan's bar time, not the bar's stamp.
            let assets = assets.clone();
            let Some(scan) = self.latest_scan(ts_ms, &assets) else {
                return Ok(());
            };
            self.next_bar_ts = scan.timestamp_ms;
            if !self.open_bar_day(date_of_ms(scan.timestamp_ms))? {
                return Ok(());
            }
            return self.step_live(date_of_ms(scan.timestamp_ms), &scan, assets.len() as u64);
        }
        let date = date_of_ms(ts_ms);
        if !self.open_bar_day(date)? {
            return Ok(());
        }
        let engine = self.engine.as_mut().expect("checked above");
        // ④ replay row.
        let Some(frame) = self.day_data.as_ref() else {
            return Ok(());
        };
        let row = self.bar_idx_today;
        if row >= frame.len() {
            return Ok(()); // past the end of the day file
        }
        if frame.timestamp[row].checked_mul(1_000_000) != Some(ts_event_ns as i64) {
            self.log.borrow_mut().ts_mismatches += 1;
        }
        // ⑤ gates before.
        let before = GateSnap::of(engine, self.posture);
        // ⑦ step: the volatility gate and `step_bar` for this row, as in `process_day`.
        let step = engine.step_row(frame, row);
        let n_assets = frame.n_assets() as u64;
        let rows = frame.len();
        let out = match step {
            Ok(o) => o,
            Err(e) => {
                self.bar_error(date, row, e.to_string());
                anyhow::bail!("DolphinActor {date} row {row}: {e}");
            }
        };
        self.after_step(date, row, before, out, n_assets);
        // End of data: the last row of the run's last date (SPEC §6).
        if self.cfg.end_of_data == Some(date) && self.bar_idx_today == rows {
            let closed = self.engine.as_mut().and_then(|e| e.close_end_of_data());
            if let Some(id) = closed {
                self.send_order(id, Leg::Exit);
            }
            self.finish_day(true)?;
        }
        Ok(())
    }

    /// ② the date boundary and ① the pending ACB for a bar of `date`; `false` = nothing to
    /// step (the date was processed, or it has no day file).
    fn open_bar_day(&mut self, date: UtcDate) -> anyhow::Result<bool> {
        if self.current_date != Some(date) {
            self.on_date_change(date)?;
        }
        if self.processed_dates.contains(&date) {
            self.log.borrow_mut().bars_dropped_processed += 1;
            return Ok(false);
        }
        let engine = self.engine.as_mut().expect("checked by the caller");
        if engine.current_date() != Some(date) {
            return Ok(false); // no day file for this date
        }
        // ① the pending ACB, taken under its lock and applied outside it, once the bar's day is
        // open (so begin_day's daily ACB read cannot overwrite it).
        if let Some(acb) = self.pending_acb.take() {
            engine.update_acb_boost(acb.boost, acb.beta);
            self.log.borrow_mut().acb_applied += 1;
        }
        Ok(true)
    }

    /// S §5.5: end an open day (its result is kept), copy the trade log, clear the processed
    /// dates and stale counter, drop the store.
    fn stop_dolphin(&mut self) -> anyhow::Result<()> {
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.current_date().is_some())
        {
            self.finish_day(false)?;
        }
        if let Some(engine) = &self.engine {
            self.log.borrow_mut().trades = engine.trade_history().to_vec();
        }
        self.governed_finish()?;
        self.processed_dates.clear();
        self.stale_state_events = 0;
        self.last_scan_number = -1;
        self.last_scan_open_ms = None;
        self.current_date = None;
        self.day_data = None;
        if let (Some(store), Some(id)) = (&self.store, self.acb_subscription.take()) {
            store.unsubscribe(id);
        }
        self.store = None;
        Ok(())
    }
}

impl DataActor for DolphinActor {
    fn on_start(&mut self) -> anyhow::Result<()> {
        self.start_dolphin()?;
        if let Some(feed) = &self.cfg.live_feed {
            feed.started
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if self.cfg.live_feed.is_some() {
            // Woken by the scanner's signal after each scan it queued (crate::scan_inbox).
            self.subscribe_signal(SCAN_SIGNAL, None);
        } else if let Some(bar_type) = self.cfg.bar_type {
            self.subscribe_bars(bar_type, None, None);
        }
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        self.handle_row_bar(bar.ts_event.as_u64())
    }

    fn on_signal(&mut self, signal: &nautilus_common::signal::Signal) -> anyhow::Result<()> {
        if signal.name.as_str() == SCAN_SIGNAL {
            self.drain_inbox()?;
        }
        Ok(())
    }

    fn on_order_filled(&mut self, event: &OrderFilled) -> anyhow::Result<()> {
        self.log.borrow_mut().fills.push(FillRecord {
            client_order_id: event.client_order_id.to_string(),
            instrument_id: event.instrument_id.to_string(),
            side: event.order_side.to_string(),
            quantity: event.last_qty.to_string(),
            price: event.last_px.as_f64(),
            ts_event_ns: event.ts_event.as_u64(),
        });
        Ok(())
    }

    fn on_stop(&mut self) -> anyhow::Result<()> {
        // Scans already published are stepped before the day ends (none is lost at a stop).
        self.drain_inbox()?;
        if self.cfg.live_feed.is_some() {
            self.unsubscribe_signal(SCAN_SIGNAL);
        } else if let Some(bar_type) = self.cfg.bar_type {
            self.unsubscribe_bars(bar_type, None, None);
        }
        self.stop_dolphin()
    }
}
