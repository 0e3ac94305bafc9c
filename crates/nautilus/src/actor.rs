//! `DolphinActor` (B §14, S §5): the DOLPHIN engine as a NautilusTrader strategy. Each bar of
//! the driving bar type feeds one day-file row to `vol_regime_ok` + `step_bar` (SPEC D6); dates
//! come from `ts_event` (S §17); the store gives posture and sub-day ACB and receives the
//! per-date results.

use crate::actor_log::{
    ActorLog, ActorLogHandle, BarError, FillRecord, Leg, OrderIntent, OrderProblem,
};
use crate::config::{ActorMode, DolphinActorConfig, OrderRoute};
use crate::day_source::DaySource;
use crate::gate_snap::GateSnap;
use crate::live_scan::LiveScan;
use crate::pending_acb::PendingAcb;
use dolphin_core::{DayFrame, Direction, Posture, UtcDate, date_of_ms};
use dolphin_engine::champion::champion_hash;
use dolphin_engine::{DayContext, DayResult, NDAlphaEngine};
use dolphin_store::schema::{
    DOLPHIN_FEATURES, DailyResultValue, EigenScanValue, Extra, KEY_LATEST_EIGEN_SCAN,
    KEY_LATEST_NAUTILUS, NautilusStateValue, from_json, read_safety, to_json,
};
use dolphin_store::{SubscriptionId, SystemMemory};
use nautilus_common::actor::DataActor;
use nautilus_model::data::Bar;
use nautilus_model::enums::OrderSide;
use nautilus_model::events::{OrderDenied, OrderFilled, OrderRejected};
use nautilus_model::identifiers::StrategyId;
use nautilus_model::orders::Order;
use nautilus_model::types::Quantity;
use nautilus_trading::nautilus_strategy;
use nautilus_trading::strategy::{Strategy, StrategyConfig, StrategyCore};
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
        match (self.cfg.store)() {
            Ok(store) => self.store = Some(store),
            Err(e) => self.store_error(format!("store unavailable, running on local state: {e}")),
        }
        let (posture, rm) = self.read_posture().unwrap_or((Posture::Apex, 1.0));
        self.posture = posture;
        self.rm = rm;
        if let Some(store) = &self.store {
            let pending = self.pending_acb.clone();
            // B §14.2: the listener runs on the store's delivery thread and only parks the value.
            let listener = Arc::new(move |e: &dolphin_store::ChangeEvent| {
                if let Err(err) = pending.on_event(e) {
                    log::warn!("DolphinActor: ignored ACB update: {err}");
                }
            });
            match store.subscribe(DOLPHIN_FEATURES, listener) {
                Ok(id) => self.acb_subscription = Some(id),
                Err(e) => self.store_error(format!("cannot listen to {DOLPHIN_FEATURES}: {e}")),
            }
        }
        let mut engine = NDAlphaEngine::new(self.cfg.engine.clone())
            .map_err(|e| anyhow::anyhow!("DolphinActor engine config: {e}"))?;
        if let Some(setup) = self
            .cfg
            .engine_setup
            .as_ref()
            .and_then(|s| s.borrow_mut().take())
        {
            setup(&mut engine);
        }
        if self.cfg.restore_capital {
            self.restore_capital(&mut engine);
        }
        self.engine = Some(engine);
        Ok(())
    }

    /// S §17 "Capital continuity": capital from `latest_nautilus` when its param hash matches.
    fn restore_capital(&mut self, engine: &mut NDAlphaEngine) {
        let (Some(store), Some(map)) = (&self.store, &self.cfg.state_map) else {
            return;
        };
        let state = match store.get(map, KEY_LATEST_NAUTILUS) {
            Ok(Some(json)) => from_json::<NautilusStateValue>(map, KEY_LATEST_NAUTILUS, &json),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        match state {
            Ok(s) if s.param_hash == champion_hash(&self.cfg.engine) && s.capital.is_finite() => {
                engine.set_capital(s.capital);
            }
            Ok(s) => self.store_error(format!(
                "{map}[{KEY_LATEST_NAUTILUS}]: param_hash {} does not match this config; \
                 starting from initial capital",
                s.param_hash
            )),
            Err(e) => self.store_error(e.to_string()),
        }
    }

    /// B §14.4: the posture from the CAS cell, else the map; `None` without a store or on a
    /// read error (recorded).
    fn read_posture(&mut self) -> Option<(Posture, f64)> {
        if let Some(ctx) = &self.cfg.day_context {
            let c = self
                .current_date
                .map_or_else(DayContext::default, |d| ctx(d));
            return Some((c.posture, c.rm));
        }
        let store = self.store.as_ref()?;
        match read_safety(store.as_ref()) {
            Ok(Some(s)) => Some((s.posture, if s.rm.is_finite() { s.rm } else { 1.0 })),
            Ok(None) => Some((Posture::Apex, 1.0)),
            Err(e) => {
                self.store_error(format!("posture read failed: {e}"));
                None
            }
        }
    }

    fn store_error(&mut self, message: String) {
        log::warn!("DolphinActor: {message}");
        self.log.borrow_mut().store_errors.push(message);
    }

    /// S §5.3 ②: end the previous day, then (unless the date was processed) re-read the
    /// posture, load the day file and begin the day.
    fn on_date_change(&mut self, date: UtcDate) -> anyhow::Result<()> {
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.current_date().is_some())
        {
            self.finish_day()?;
        }
        self.current_date = Some(date);
        if self.processed_dates.contains(&date) {
            return Ok(());
        }
        if let Some(p) = self.read_posture() {
            (self.posture, self.rm) = p;
        }
        self.bar_idx_today = 0;
        self.day_stale = false;
        let ctx = DayContext {
            posture: self.posture,
            rm: self.rm,
        };
        if let ActorMode::Live { assets } = &self.cfg.mode {
            let engine = self.engine.as_mut().expect("checked by on_bar");
            if let Err(e) = engine.begin_day(date, assets, ctx) {
                self.bar_error(date, 0, e.to_string());
                anyhow::bail!("DolphinActor: {e}");
            }
            self.log.borrow_mut().days_begun += 1;
            return Ok(());
        }
        let frame = match self.days.day(date) {
            Ok(Some(f)) => f,
            Ok(None) => {
                log::warn!("DolphinActor: no day file for {date}");
                self.log.borrow_mut().missing_days.push(date);
                self.day_data = None;
                return Ok(());
            }
            Err(e) => {
                self.bar_error(date, 0, e.to_string());
                anyhow::bail!("DolphinActor: {e}");
            }
        };
        let engine = self.engine.as_mut().expect("checked by on_bar");
        if let Err(e) = engine.begin_day(date, &frame.assets, ctx) {
            self.bar_error(date, 0, e.to_string());
            anyhow::bail!("DolphinActor: {e}");
        }
        self.log.borrow_mut().days_begun += 1;
        self.day_data = Some(frame);
        Ok(())
    }

    /// Ends the open day: result to the log and to the store (B §14.5, S §5.3 ⑨), the date
    /// marked processed.
    fn finish_day(&mut self) -> anyhow::Result<()> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(());
        };
        let result = engine.end_day()?;
        let trades = engine.trade_history().to_vec();
        let capital = engine.capital();
        self.processed_dates.insert(result.date);
        self.day_data = None;
        self.write_result(&result, capital);
        let mut log = self.log.borrow_mut();
        log.days.push(result);
        log.trades = trades;
        Ok(())
    }

    /// B §14.5 `_write_result_to_hz` plus the capital state of S §17.6; failures are recorded,
    /// not fatal (S §17.5 writes wait in the outbox).
    fn write_result(&mut self, r: &DayResult, capital: f64) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let date = r.date.to_string();
        let value = DailyResultValue {
            date: date.clone(),
            pnl: r.pnl,
            capital: r.capital,
            boost: r.boost,
            beta: r.beta,
            mc_status: r.mc_status.as_str().to_string(),
            trades: u64::from(r.trades),
            stale_state: self.day_stale.then_some(true),
            extra: Extra::new(),
        };
        let map = self.cfg.pnl_map.clone();
        if let Err(e) =
            to_json(&map, &date, &value).and_then(|j| store.put_or_defer(&map, &date, &j))
        {
            self.store_error(e.to_string());
        }
        if let Some(state_map) = self.cfg.state_map.clone() {
            let mut extra = Extra::new();
            extra.insert("date".into(), date.clone().into());
            extra.insert("pnl".into(), serde_json::json!(r.pnl));
            let state = NautilusStateValue {
                capital,
                param_hash: champion_hash(&self.cfg.engine),
                extra,
            };
            if let Err(e) = to_json(&state_map, KEY_LATEST_NAUTILUS, &state)
                .and_then(|j| store.put_or_defer(&state_map, KEY_LATEST_NAUTILUS, &j))
            {
                self.store_error(e.to_string());
            }
        }
    }

    fn bar_error(&mut self, date: UtcDate, row: usize, message: String) {
        log::error!("DolphinActor {date} row {row}: {message}");
        self.log
            .borrow_mut()
            .errors
            .push(BarError { date, row, message });
    }

    /// Sends the market order of an engine entry (`Leg::Entry`) or exit (`Leg::Exit`).
    fn send_order(&mut self, trade_id: u32, leg: Leg) {
        if self.cfg.routes.is_empty() {
            return;
        }
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let found = match leg {
            Leg::Entry => engine
                .position()
                .filter(|p| p.trade_id == trade_id)
                .map(|p| (p.asset.clone(), p.direction, p.notional, p.entry_price)),
            Leg::Exit => engine
                .trade_history()
                .iter()
                .rev()
                .find(|t| t.trade_id == trade_id)
                .map(|t| (t.asset.clone(), t.direction, t.notional, t.entry_price)),
        };
        let Some((asset, direction, notional, entry_price)) = found else {
            return;
        };
        let side = match (direction, leg) {
            (Direction::Short, Leg::Entry) | (Direction::Long, Leg::Exit) => OrderSide::Sell,
            (Direction::Long, Leg::Entry) | (Direction::Short, Leg::Exit) => OrderSide::Buy,
        };
        let mut intent = OrderIntent {
            trade_id,
            leg,
            asset: asset.clone(),
            instrument_id: String::new(),
            side: side.to_string(),
            quantity: String::new(),
            client_order_id: None,
            note: None,
        };
        let Some(route) = self.route(&asset) else {
            intent.note = Some(format!("no instrument for {asset}"));
            self.log.borrow_mut().orders.push(intent);
            return;
        };
        intent.instrument_id = route.instrument_id.to_string();
        match order_quantity(notional, entry_price, route.size_precision) {
            Ok(qty) => {
                intent.quantity = qty.to_string();
                let order = self.core.order_factory().market(
                    route.instrument_id,
                    side,
                    qty,
                    None,
                    Some(leg == Leg::Exit),
                    None,
                    None,
                    None,
                    None,
                    None,
                );
                let coid = order.client_order_id();
                match self.submit_order(order, None, None, None) {
                    Ok(()) => intent.client_order_id = Some(coid.to_string()),
                    Err(e) => intent.note = Some(format!("submit failed: {e}")),
                }
            }
            Err(note) => intent.note = Some(note),
        }
        self.log.borrow_mut().orders.push(intent);
    }

    /// The order route of `asset`: the configured one, else (live) the venue's perpetual with
    /// its size precision from the cache.
    fn route(&self, asset: &str) -> Option<OrderRoute> {
        if let Some(r) = self.cfg.routes.get(asset) {
            return Some(*r);
        }
        let venue = self.cfg.route_venue.as_ref()?;
        let id = nautilus_model::identifiers::InstrumentId::from(
            format!("{asset}-PERP.{venue}").as_str(),
        );
        let precision =
            nautilus_model::instruments::Instrument::size_precision(self.cache().instrument(&id)?);
        Some(OrderRoute {
            instrument_id: id,
            size_precision: precision,
        })
    }

    /// Live mode ④ (S §5.3): the latest scan from the store; `None` = nothing to step on this
    /// bar (no store, no scan, a duplicate, or a malformed value — each counted or recorded).
    fn latest_scan(&mut self, now_ms: i64, assets: &[String]) -> Option<LiveScan> {
        let store = self.store.clone()?;
        let json = match store.get(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN) {
            Ok(Some(j)) => j,
            Ok(None) => {
                self.log.borrow_mut().scans_missing += 1;
                return None;
            }
            Err(e) => {
                self.store_error(format!("latest_eigen_scan read failed: {e}"));
                return None;
            }
        };
        let scan = from_json::<EigenScanValue>(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &json)
            .map_err(|e| e.to_string())
            .and_then(|v| LiveScan::from_value(&v, assets));
        let scan = match scan {
            Ok(s) => s,
            Err(e) => {
                self.store_error(e);
                return None;
            }
        };
        if scan.scan_number == self.last_scan_number {
            self.log.borrow_mut().scans_duplicate += 1;
            return None;
        }
        if scan.is_stale(now_ms) {
            self.log.borrow_mut().scans_stale += 1;
            log::warn!(
                "DolphinActor: scan {} is {} ms from the bar",
                scan.scan_number,
                now_ms - scan.timestamp_ms
            );
        }
        if self.last_scan_number >= 0 && scan.scan_number > self.last_scan_number + 1 {
            self.log.borrow_mut().scans_skipped +=
                (scan.scan_number - self.last_scan_number - 1) as u64;
        }
        self.last_scan_number = scan.scan_number;
        Some(scan)
    }

    /// The body of `on_bar` (S §5.3 ①–⑨) for one bar at `ts_event_ns`.
    fn handle_row_bar(&mut self, ts_event_ns: u64) -> anyhow::Result<()> {
        self.log.borrow_mut().bars_received += 1;
        if self.engine.is_none() {
            return Ok(());
        }
        let ts_ms = (ts_event_ns / 1_000_000) as i64;
        let live_assets = match &self.cfg.mode {
            ActorMode::Live { assets } => Some(assets.clone()),
            ActorMode::Replay => None,
        };
        // Live ④ first: the date is the scan's bar time, not the bar's close stamp.
        let (date, scan) = match &live_assets {
            Some(assets) => match self.latest_scan(ts_ms, assets) {
                Some(scan) => (date_of_ms(scan.timestamp_ms), Some(scan)),
                None => return Ok(()),
            },
            None => (date_of_ms(ts_ms), None),
        };
        // ② date boundary.
        if self.current_date != Some(date) {
            self.on_date_change(date)?;
        }
        if self.processed_dates.contains(&date) {
            self.log.borrow_mut().bars_dropped_processed += 1;
            return Ok(());
        }
        let engine = self.engine.as_mut().expect("checked above");
        if engine.current_date() != Some(date) {
            return Ok(()); // no day file for this date
        }
        // ① the pending ACB, taken under its lock and applied outside it, once the bar's day is
        // open (so begin_day's daily ACB read cannot overwrite it).
        if let Some(acb) = self.pending_acb.take() {
            engine.update_acb_boost(acb.boost, acb.beta);
            self.log.borrow_mut().acb_applied += 1;
        }
        if let (Some(scan), Some(assets)) = (scan, live_assets) {
            return self.step_live(date, &scan, assets.len() as u64);
        }
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
            self.finish_day()?;
        }
        Ok(())
    }

    /// Live mode ⑤–⑧: step one scan (S §5.3, §9.1).
    fn step_live(&mut self, date: UtcDate, scan: &LiveScan, n_assets: u64) -> anyhow::Result<()> {
        let engine = self.engine.as_mut().expect("checked by the caller");
        let before = GateSnap::of(engine, self.posture);
        let vol_regime_ok = engine.vol_regime_ok(&scan.prices);
        let step = engine.step_bar(&dolphin_engine::Bar {
            timestamp_ms: scan.timestamp_ms,
            vel_div: scan.vel_div,
            v50_vel: scan.v50_vel,
            v750_vel: scan.v750_vel,
            prices: &scan.prices,
            vol_regime_ok,
        });
        let row = self.bar_idx_today;
        let out = match step {
            Ok(o) => o,
            Err(e) => {
                self.bar_error(date, row, e.to_string());
                anyhow::bail!("DolphinActor {date} scan {}: {e}", scan.scan_number);
            }
        };
        self.after_step(date, row, before, out, n_assets);
        Ok(())
    }

    /// After `step_bar` (S §5.3 ⑦–⑧): count the bar, send the orders, re-read the posture
    /// and compare the gates with the snapshot taken before.
    fn after_step(
        &mut self,
        date: UtcDate,
        row: usize,
        before: GateSnap,
        out: dolphin_engine::StepOutcome,
        n_assets: u64,
    ) {
        self.bar_idx_today += 1;
        {
            let mut log = self.log.borrow_mut();
            log.bars += 1;
            log.asset_bars += n_assets;
        }
        if let Some(id) = out.exited {
            self.send_order(id, Leg::Exit);
        }
        if let Some(id) = out.entered {
            self.send_order(id, Leg::Entry);
        }
        let posture_now = self.read_posture().map_or(self.posture, |p| p.0);
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let after = GateSnap::of(engine, posture_now);
        if before.is_stale(&after) {
            self.stale_state_events += 1;
            self.day_stale = true;
            self.log.borrow_mut().stale_state_events += 1;
            log::warn!("[STALE_STATE] {date} row {row}: {before:?} -> {after:?}");
        }
    }

    /// S §5.5: end an open day (its result is kept), copy the trade log, clear the processed
    /// dates and stale counter, drop the store.
    fn stop_dolphin(&mut self) -> anyhow::Result<()> {
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.current_date().is_some())
        {
            self.finish_day()?;
        }
        if let Some(engine) = &self.engine {
            self.log.borrow_mut().trades = engine.trade_history().to_vec();
        }
        self.processed_dates.clear();
        self.stale_state_events = 0;
        self.last_scan_number = -1;
        self.current_date = None;
        self.day_data = None;
        if let (Some(store), Some(id)) = (&self.store, self.acb_subscription.take()) {
            store.unsubscribe(id);
        }
        self.store = None;
        Ok(())
    }
}

/// The order quantity of a trade: `notional / entry_price` base units at `precision`.
pub fn order_quantity(notional: f64, entry_price: f64, precision: u8) -> Result<Quantity, String> {
    let qty = notional / entry_price;
    if !qty.is_finite() || qty <= 0.0 {
        return Err(format!(
            "quantity {notional} / {entry_price} is not positive"
        ));
    }
    let q = Quantity::new_checked(qty, precision).map_err(|e| e.to_string())?;
    if q.is_zero() {
        return Err(format!(
            "quantity {qty} rounds to zero at precision {precision}"
        ));
    }
    Ok(q)
}

impl DataActor for DolphinActor {
    fn on_start(&mut self) -> anyhow::Result<()> {
        self.start_dolphin()?;
        if let Some(bar_type) = self.cfg.bar_type {
            self.subscribe_bars(bar_type, None, None);
        }
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        self.handle_row_bar(bar.ts_event.as_u64())
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
        if let Some(bar_type) = self.cfg.bar_type {
            self.unsubscribe_bars(bar_type, None, None);
        }
        self.stop_dolphin()
    }
}
