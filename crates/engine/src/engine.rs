//! NDAlphaEngine: the full bar loop (seeds B §13, S §8, SPEC §5–§6).
//!
//! `step_bar` is the primitive; `process_day` = `begin_day` + `step_bar` per row + `end_day`
//! (SPEC D6). The engine is pure: no I/O, no clock; the providers are injected.

use crate::acb::{AcbDay, AcbProvider};
use crate::config::EngineConfig;
use crate::direction_confirm::{DcVerdict, direction_confirm};
use crate::exits::{ExitParams, ExitReason, evaluate, ob_dynamic_exit};
use crate::fees::{FeeModel, exit_fill_price, pnl_pct, slip_for};
use crate::irp::{IrpGates, rank_tradable};
use crate::mc::{McForewarner, McStatus};
use crate::ob::{ObPlacement, ObProvider};
use crate::position::{NDPosition, NDTradeRecord, ObRules};
use crate::rng::Mt19937;
use crate::signal::{ObConfirm, ob_confirm, passes_gate};
use crate::sizing::{
    AlphaState, SizerParams, calculate_size, clamp_leverage, leverage_ceiling, regime_size_mult,
};
use crate::volatility::VolatilityRegimeDetector;
use dolphin_core::{DayFrame, Direction, Posture, UtcDate, is_valid_price};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// Engine errors: misuse of the day lifecycle or inconsistent inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("invalid engine config: {0}")]
    Config(String),
    #[error("step_bar called outside a day (call begin_day first)")]
    NoDay,
    #[error("begin_day({date}) called while day {open} is still open")]
    DayOpen { date: UtcDate, open: UtcDate },
    #[error("bar has {got} prices but day {date} has {expected} assets")]
    PriceCount {
        date: UtcDate,
        got: usize,
        expected: usize,
    },
    #[error(
        "day {date}: the volatility filter's reference asset `{asset}` is not in the data \
         (set `vol_reference_asset` to an asset of the data, or `use_vol_filter: false`)"
    )]
    MissingReferenceAsset { date: UtcDate, asset: String },
    #[error("day {date}: asset `{asset}` appears twice")]
    DuplicateAsset { date: UtcDate, asset: String },
}

/// The governance context of a day: survival-stack posture and its risk multiplier Rm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayContext {
    pub posture: Posture,
    pub rm: f64,
}

impl Default for DayContext {
    fn default() -> Self {
        Self {
            posture: Posture::Apex,
            rm: 1.0,
        }
    }
}

/// One bar's inputs to [`NDAlphaEngine::step_bar`].
#[derive(Debug, Clone, Copy)]
pub struct Bar<'a> {
    /// Open time, ms since the epoch (used for OB look-ups).
    pub timestamp_ms: i64,
    pub vel_div: f64,
    pub v50_vel: f64,
    pub v750_vel: f64,
    /// One price per asset of the day, in the day's column order.
    pub prices: &'a [f64],
    pub vol_regime_ok: bool,
}

/// What happened on one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepOutcome {
    /// Trade id of a position closed on this bar.
    pub exited: Option<u32>,
    /// Trade id of a position opened on this bar.
    pub entered: Option<u32>,
}

/// The per-day result (`end_day`, S §8.2; `days.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayResult {
    pub date: UtcDate,
    /// Capital change from trades closed this day.
    pub pnl: f64,
    /// Capital at the end of the day.
    pub capital: f64,
    pub boost: f64,
    pub beta: f64,
    pub mc_status: McStatus,
    /// Trades closed this day.
    pub trades: u32,
    pub posture: Posture,
    /// Rows processed this day.
    #[serde(skip)]
    pub bars: u64,
    /// Capital at the start of the day.
    #[serde(skip)]
    pub start_capital: f64,
}

#[derive(Debug, Clone)]
struct DayState {
    date: UtcDate,
    /// Day column → global asset id.
    cols: Vec<usize>,
    /// Global asset id → day column.
    col_of: Vec<Option<usize>>,
    ref_col: Option<usize>,
    ctx: DayContext,
    start_capital: f64,
    trades: u32,
    bars: u64,
    row: usize,
}

/// The DOLPHIN alpha engine.
pub struct NDAlphaEngine {
    cfg: EngineConfig,
    fees: FeeModel,
    threshold: f64,
    extreme: f64,
    direction: Direction,
    gates: IrpGates,
    sizer: SizerParams,
    rng: Mt19937,
    acb: Option<Box<dyn AcbProvider>>,
    mc: Option<Box<dyn McForewarner>>,
    ob: Option<Box<dyn ObProvider>>,
    // asset registry: global ids in order of first appearance
    asset_names: Vec<String>,
    asset_ids: HashMap<String, usize>,
    excluded: Vec<bool>,
    price_histories: Vec<Vec<f64>>,
    // counters
    global_bar_idx: u64,
    bar_count: u64,
    last_exit_bar: Option<u64>,
    // capital and trades
    capital: f64,
    position: Option<NDPosition>,
    trade_history: Vec<NDTradeRecord>,
    bucket_wins: [u32; 4],
    bucket_trades: [u32; 4],
    recent_losses: VecDeque<bool>,
    vel_div_history: VecDeque<f64>,
    // day-level regime state
    day: Option<DayState>,
    day_base_boost: f64,
    day_beta: f64,
    day_mc_scale: f64,
    day_mc_status: McStatus,
    regime_size_mult: f64,
    regime_dd_halt: bool,
    abs_max_leverage_eff: f64,
    pending_subday_exit: bool,
    vol: VolatilityRegimeDetector,
    last_ts: i64,
}

impl std::fmt::Debug for NDAlphaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NDAlphaEngine")
            .field("capital", &self.capital)
            .field("global_bar_idx", &self.global_bar_idx)
            .field("position", &self.position)
            .field("trades", &self.trade_history.len())
            .finish()
    }
}

impl NDAlphaEngine {
    /// Builds an engine from a validated config.
    pub fn new(cfg: EngineConfig) -> Result<Self, EngineError> {
        cfg.validate().map_err(EngineError::Config)?;
        let (threshold, extreme) = cfg.thresholds();
        let sizer = SizerParams {
            threshold,
            extreme,
            direction: cfg.direction,
            min_leverage: cfg.min_leverage,
            max_leverage: cfg.max_leverage,
            convexity: cfg.leverage_convexity,
            base_fraction: cfg.fraction,
            use_dynamic_leverage: cfg.use_dynamic_leverage,
            use_alpha_layers: cfg.use_alpha_layers,
        };
        Ok(Self {
            fees: FeeModel::from_config(&cfg),
            threshold,
            extreme,
            direction: cfg.direction,
            gates: IrpGates {
                max_noise: cfg.irp_max_noise,
                max_latency: cfg.irp_max_latency,
                min_alignment: cfg.irp_min_alignment_kernel,
            },
            sizer,
            rng: Mt19937::new(cfg.seed),
            acb: None,
            mc: None,
            ob: None,
            asset_names: Vec::new(),
            asset_ids: HashMap::new(),
            excluded: Vec::new(),
            price_histories: Vec::new(),
            global_bar_idx: 0,
            bar_count: 0,
            last_exit_bar: None,
            capital: cfg.initial_capital,
            position: None,
            trade_history: Vec::new(),
            bucket_wins: [0; 4],
            bucket_trades: [0; 4],
            recent_losses: VecDeque::with_capacity(6),
            vel_div_history: VecDeque::with_capacity(cfg.vel_div_history_max + 1),
            day: None,
            day_base_boost: 1.0,
            day_beta: 0.0,
            day_mc_scale: 1.0,
            day_mc_status: McStatus::Ok,
            regime_size_mult: 1.0,
            regime_dd_halt: false,
            abs_max_leverage_eff: cfg.abs_max_leverage,
            pending_subday_exit: false,
            vol: VolatilityRegimeDetector::new(cfg.vol_window as usize, cfg.vol_threshold),
            last_ts: 0,
            cfg,
        })
    }

    // ----- setters (S §8.4) -----

    /// Wires an order-book provider (B §9): enables the five OB sub-systems and replaces the
    /// Monte-Carlo OB edge draw.
    pub fn set_ob_engine(&mut self, ob: Box<dyn ObProvider>) {
        self.ob = Some(ob);
    }

    /// Wires the adaptive circuit breaker (daily boost and beta).
    pub fn set_acb(&mut self, acb: Box<dyn AcbProvider>) {
        self.acb = Some(acb);
    }

    /// Wires the MC-Forewarner (daily envelope gate).
    pub fn set_mc_forewarner(&mut self, mc: Box<dyn McForewarner>) {
        self.mc = Some(mc);
    }

    /// Sets capital (capital continuity from a store, S §17.6).
    pub fn set_capital(&mut self, capital: f64) {
        self.capital = capital;
    }

    // ----- state (S §8.3) -----

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }
    pub fn capital(&self) -> f64 {
        self.capital
    }
    pub fn day_base_boost(&self) -> f64 {
        self.day_base_boost
    }
    pub fn day_beta(&self) -> f64 {
        self.day_beta
    }
    pub fn day_mc_scale(&self) -> f64 {
        self.day_mc_scale
    }
    pub fn day_mc_status(&self) -> McStatus {
        self.day_mc_status
    }
    pub fn global_bar_idx(&self) -> u64 {
        self.global_bar_idx
    }
    pub fn bar_count(&self) -> u64 {
        self.bar_count
    }
    pub fn position(&self) -> Option<&NDPosition> {
        self.position.as_ref()
    }
    pub fn trade_history(&self) -> &[NDTradeRecord] {
        &self.trade_history
    }
    pub fn regime_size_mult(&self) -> f64 {
        self.regime_size_mult
    }
    pub fn regime_dd_halt(&self) -> bool {
        self.regime_dd_halt
    }
    pub fn abs_max_leverage_eff(&self) -> f64 {
        self.abs_max_leverage_eff
    }
    pub fn current_date(&self) -> Option<UtcDate> {
        self.day.as_ref().map(|d| d.date)
    }
    pub fn posture(&self) -> Option<Posture> {
        self.day.as_ref().map(|d| d.ctx.posture)
    }
    /// The price history of an asset (≤ `price_history_max` values).
    pub fn price_history(&self, asset: &str) -> Option<&[f64]> {
        self.asset_ids
            .get(asset)
            .map(|&id| self.price_histories[id].as_slice())
    }
    /// The last `vel_div` values (≤ `vel_div_history_max`).
    pub fn vel_div_history(&self) -> impl Iterator<Item = f64> + '_ {
        self.vel_div_history.iter().copied()
    }

    // ----- day lifecycle -----

    /// Starts a day: reads the ACB and MC gates once, applies the posture (SPEC D4/D5) and
    /// maps the day's asset columns. `assets` is the day file's asset column order.
    pub fn begin_day(
        &mut self,
        date: UtcDate,
        assets: &[String],
        ctx: DayContext,
    ) -> Result<(), EngineError> {
        if let Some(d) = &self.day {
            return Err(EngineError::DayOpen { date, open: d.date });
        }
        let mut cols = Vec::with_capacity(assets.len());
        for a in assets {
            let id = match self.asset_ids.get(a) {
                Some(&id) => id,
                None => {
                    let id = self.asset_names.len();
                    self.asset_names.push(a.clone());
                    self.asset_ids.insert(a.clone(), id);
                    self.excluded
                        .push(self.cfg.excluded_assets.iter().any(|e| e == a));
                    self.price_histories.push(Vec::new());
                    id
                }
            };
            if cols.contains(&id) {
                return Err(EngineError::DuplicateAsset {
                    date,
                    asset: a.clone(),
                });
            }
            cols.push(id);
        }
        let mut col_of = vec![None; self.asset_names.len()];
        for (c, &id) in cols.iter().enumerate() {
            col_of[id] = Some(c);
        }
        let ref_col = assets
            .iter()
            .position(|a| *a == self.cfg.vol_reference_asset);
        if self.cfg.use_vol_filter && ref_col.is_none() {
            return Err(EngineError::MissingReferenceAsset {
                date,
                asset: self.cfg.vol_reference_asset.clone(),
            });
        }

        self.regime_dd_halt = false;
        let rm = if ctx.rm.is_finite() {
            ctx.rm.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.abs_max_leverage_eff = (self.cfg.abs_max_leverage * rm).max(1.0);

        let acb_day = match &self.acb {
            Some(acb) => acb.day(date, self.ob.as_deref()),
            None => AcbDay::NEUTRAL,
        };
        self.day_base_boost = acb_day.boost;
        self.day_beta = acb_day.beta;

        self.day_mc_status = McStatus::Ok;
        self.day_mc_scale = 1.0;
        if let Some(mc) = &self.mc {
            let mut mc_cfg = self.cfg.clone();
            mc_cfg.max_leverage = self.cfg.max_leverage * self.day_base_boost;
            let report = mc.assess(&mc_cfg);
            self.day_mc_status = McStatus::classify(&report, &self.cfg);
            if self.day_mc_status == McStatus::Orange {
                self.day_mc_scale = self.cfg.mc_orange_scale;
            }
        }
        if self.day_mc_status == McStatus::Red || ctx.posture.halts_entries() {
            self.regime_dd_halt = true;
        }
        self.day = Some(DayState {
            date,
            cols,
            col_of,
            ref_col,
            ctx,
            start_capital: self.capital,
            trades: 0,
            bars: 0,
            row: 0,
        });
        Ok(())
    }

    /// The replay volatility gate for the next row of the day (SPEC §5 "Entry gates"):
    /// `row_in_day ≥ day_warmup_bars` AND the volatility detector (when on). Feeds the
    /// detector with the reference asset's price, so call it once per row, before `step_bar`.
    pub fn vol_regime_ok(&mut self, prices: &[f64]) -> bool {
        let (row, ref_col) = match &self.day {
            Some(d) => (d.row, d.ref_col),
            None => return false,
        };
        let warm = row >= self.cfg.day_warmup_bars as usize;
        if !self.cfg.use_vol_filter {
            return warm;
        }
        let p = ref_col
            .and_then(|c| prices.get(c).copied())
            .unwrap_or(f64::NAN);
        let high = self.vol.update(p);
        warm && high
    }

    /// Processes one bar (B §13.1 loop body + §13.2 `process_bar`).
    pub fn step_bar(&mut self, bar: &Bar<'_>) -> Result<StepOutcome, EngineError> {
        let day = self.day.as_mut().ok_or(EngineError::NoDay)?;
        if bar.prices.len() != day.cols.len() {
            return Err(EngineError::PriceCount {
                date: day.date,
                got: bar.prices.len(),
                expected: day.cols.len(),
            });
        }
        day.row += 1;
        day.bars += 1;
        let bar_idx = self.global_bar_idx;
        self.last_ts = bar.timestamp_ms;

        // Price histories (SPEC D10): only finite positive prices; > max → keep the last `keep`.
        let (max, keep) = (self.cfg.price_history_max, self.cfg.price_history_keep);
        for (&p, &id) in bar.prices.iter().zip(day.cols.iter()) {
            if is_valid_price(p) {
                let h = &mut self.price_histories[id];
                h.push(p);
                if h.len() > max {
                    h.drain(..h.len() - keep);
                }
            }
        }

        // ACB scale 2: regime_size_mult every bar.
        self.regime_size_mult = regime_size_mult(
            bar.vel_div,
            self.threshold,
            self.extreme,
            self.cfg.leverage_convexity,
            self.day_base_boost,
            self.day_beta,
            self.day_mc_scale,
        );

        self.bar_count += 1;
        self.vel_div_history.push_back(bar.vel_div);
        if self.vel_div_history.len() > self.cfg.vel_div_history_max {
            self.vel_div_history.pop_front();
        }

        let mut out = StepOutcome::default();
        if self.position.is_some() {
            out.exited = self.manage_position(bar_idx, bar);
        }
        if self.position.is_none()
            && self.last_exit_bar.is_none_or(|l| bar_idx > l)
            && !self.regime_dd_halt
            && self.bar_count >= u64::from(self.cfg.lookback)
            && bar.vol_regime_ok
        {
            out.entered = self.try_entry(bar_idx, bar);
        }
        self.global_bar_idx += 1;
        Ok(out)
    }

    /// Ends the day and returns its result.
    pub fn end_day(&mut self) -> Result<DayResult, EngineError> {
        let d = self.day.take().ok_or(EngineError::NoDay)?;
        Ok(DayResult {
            date: d.date,
            pnl: self.capital - d.start_capital,
            capital: self.capital,
            boost: self.day_base_boost,
            beta: self.day_beta,
            mc_status: self.day_mc_status,
            trades: d.trades,
            posture: d.ctx.posture,
            bars: d.bars,
            start_capital: d.start_capital,
        })
    }

    /// `process_day` (B §13.1, SPEC D6): `begin_day`, then per row the volatility gate and
    /// `step_bar`, then (with `close_at_end`, for the last day of a run) the END_OF_DATA exit,
    /// then `end_day`.
    pub fn process_day(
        &mut self,
        frame: &DayFrame,
        ctx: DayContext,
        close_at_end: bool,
    ) -> Result<DayResult, EngineError> {
        self.begin_day(frame.date, &frame.assets, ctx)?;
        for r in 0..frame.len() {
            self.step_row(frame, r)?;
        }
        if close_at_end {
            self.close_end_of_data();
        }
        self.end_day()
    }

    /// Feeds row `r` of the day's frame: the replay volatility gate, then `step_bar`. Every
    /// replay path (`process_day`, the Nautilus actor) feeds rows through this one function.
    pub fn step_row(&mut self, frame: &DayFrame, r: usize) -> Result<StepOutcome, EngineError> {
        let prices = frame.row_prices(r);
        let vol_regime_ok = self.vol_regime_ok(prices);
        self.step_bar(&Bar {
            timestamp_ms: frame.timestamp[r],
            vel_div: frame.vel_div[r],
            v50_vel: frame.v50_vel[r],
            v750_vel: frame.v750_vel[r],
            prices,
            vol_regime_ok,
        })
    }

    /// Closes an open position at the end of a run (SPEC §6): reason END_OF_DATA, at the
    /// asset's last history price, exit bar = the last processed bar.
    pub fn close_end_of_data(&mut self) -> Option<u32> {
        let pos = self.position.as_ref()?;
        let price = *self.price_histories[pos.asset_id].last()?;
        let bar = self.global_bar_idx.saturating_sub(1);
        Some(self.execute_exit(ExitReason::EndOfData, price, bar))
    }

    /// Sub-day ACB update (B §7.3, §10.5): replaces the day's boost and beta; a fall from
    /// ≥ `subday_high` to < `subday_low` with an open position closes it on the next bar
    /// (SUBDAY_ACB_NORMALIZATION).
    pub fn update_acb_boost(&mut self, boost: f64, beta: f64) {
        let old = self.day_base_boost;
        self.day_base_boost = boost;
        self.day_beta = beta;
        if self.cfg.subday_acb_exit
            && old >= self.cfg.subday_high
            && boost < self.cfg.subday_low
            && self.position.is_some()
        {
            self.pending_subday_exit = true;
        }
    }

    // ----- exits -----

    fn manage_position(&mut self, bar_idx: u64, bar: &Bar<'_>) -> Option<u32> {
        let day = self.day.as_ref()?;
        let pos = self.position.as_ref()?;
        let price = day.col_of[pos.asset_id]
            .map(|c| bar.prices[c])
            .filter(|&p| is_valid_price(p));
        let last_price = self.price_histories[pos.asset_id]
            .last()
            .copied()
            .unwrap_or(pos.entry_price);
        let posture = day.ctx.posture;

        if posture == Posture::Hibernate {
            return Some(self.execute_exit(
                ExitReason::HibernateHalt,
                price.unwrap_or(last_price),
                bar_idx,
            ));
        }
        if self.pending_subday_exit {
            return Some(self.execute_exit(
                ExitReason::SubdayAcbNormalization,
                price.unwrap_or(last_price),
                bar_idx,
            ));
        }

        let dir = pos.direction;
        let vd_adverse = if self.cfg.vd_enabled {
            let adverse = match dir {
                Direction::Short => bar.vel_div > self.cfg.vd_exit_threshold,
                Direction::Long => bar.vel_div < -self.cfg.vd_exit_threshold,
            };
            let pos = self.position.as_mut()?;
            pos.vd_adverse_bars = if adverse { pos.vd_adverse_bars + 1 } else { 0 };
            pos.vd_adverse_bars >= self.cfg.vd_confirm_bars
        } else {
            false
        };
        let pos = self.position.as_ref()?;
        let bars_held = bar_idx - pos.entry_bar;
        let pnl_now = price.map(|p| pnl_pct(pos.entry_price, p, dir));
        let base = ExitParams {
            tp_pct: self.cfg.fixed_tp_pct,
            sl_pct: self.cfg.stop_pct,
            max_hold: self.cfg.max_hold_bars,
        };
        let params = match &self.ob {
            Some(ob) => {
                let asset = &self.asset_names[pos.asset_id];
                let m = ob.macro_state(bar.timestamp_ms);
                let s = ob.signal(asset, bar.timestamp_ms);
                let pnl_ref = pnl_now.unwrap_or_else(|| pnl_pct(pos.entry_price, last_price, dir));
                let (p, rules) = ob_dynamic_exit(base, m.as_ref(), s.as_ref(), pnl_ref, dir);
                if let Some(pos) = self.position.as_mut() {
                    pos.ob_rules.merge_exit(rules);
                }
                p
            }
            None => base,
        };
        let reason = evaluate(&params, pnl_now, bars_held, vd_adverse)?;
        Some(self.execute_exit(reason, price.unwrap_or(last_price), bar_idx))
    }

    /// `_execute_exit` (B §7.4, §8): slippage, SP refunds, OB edge, fees; RNG draws in the
    /// order of SPEC D11.
    fn execute_exit(&mut self, reason: ExitReason, price: f64, bar_idx: u64) -> u32 {
        let mut pos = self
            .position
            .take()
            .expect("execute_exit without a position");
        let dir = pos.direction;
        let exit_price = exit_fill_price(price, slip_for(reason, &self.cfg), dir);
        let mut pnl_raw = pnl_pct(pos.entry_price, exit_price, dir);
        if self.rng.random() < self.cfg.sp_maker_entry_rate {
            pnl_raw += self.cfg.sp_refund;
        }
        if reason != ExitReason::StopLoss && self.rng.random() < self.cfg.sp_maker_exit_rate {
            pnl_raw += self.cfg.sp_refund;
        }
        if self.ob.is_some() {
            if let Some(pl) = pos.placement
                && pl.depth_quality > 0.5
            {
                pnl_raw += pl.fill_probability * self.cfg.ob_edge_bps * 1e-4;
                pos.ob_rules.edge = true;
            }
        } else if self.rng.random() < self.cfg.ob_confirm_rate {
            pnl_raw += self.cfg.ob_edge_bps * 1e-4;
        }
        let entry_fee = self.fees.entry_rate * pos.notional;
        let exit_fee = self.fees.exit_rate_for(reason) * pos.notional;
        let net = pnl_raw * pos.notional - entry_fee - exit_fee;
        self.capital += net;

        let b = pos.bucket as usize;
        self.bucket_trades[b] += 1;
        if net > 0.0 {
            self.bucket_wins[b] += 1;
        }
        self.recent_losses.push_back(net <= 0.0);
        if self.recent_losses.len() > 5 {
            self.recent_losses.pop_front();
        }
        self.last_exit_bar = Some(bar_idx);
        self.pending_subday_exit = false;
        if let Some(d) = self.day.as_mut() {
            d.trades += 1;
        }
        let id = pos.trade_id;
        self.trade_history.push(NDTradeRecord {
            trade_id: id,
            date: pos.entry_date,
            asset: pos.asset,
            direction: dir,
            entry_bar: pos.entry_bar,
            exit_bar: bar_idx,
            entry_price: pos.entry_price,
            exit_price,
            leverage: pos.leverage,
            notional: pos.notional,
            pnl: net,
            reason,
            ob_rules: pos.ob_rules.names().into_iter().map(String::from).collect(),
            bucket: pos.bucket,
            pnl_pct: pnl_raw,
        });
        id
    }

    // ----- entries -----

    /// `_try_entry` (B §13.3). The vel_div gate is checked first: IRP has no side effects,
    /// so the order does not change any result.
    fn try_entry(&mut self, bar_idx: u64, bar: &Bar<'_>) -> Option<u32> {
        if self.capital <= 0.0 || !passes_gate(bar.vel_div, self.threshold, self.direction) {
            return None;
        }
        let ts = bar.timestamp_ms;
        let mut rules = ObRules::default();
        let (col, placement) = if self.cfg.use_asset_selection {
            self.select_asset(bar.prices, ts, &mut rules)?
        } else {
            let day = self.day.as_ref()?;
            let col = day
                .cols
                .iter()
                .position(|&id| self.asset_names[id] == self.cfg.fallback_asset)?;
            if !is_valid_price(bar.prices[col]) {
                return None;
            }
            let placement = self
                .ob
                .as_ref()
                .and_then(|ob| ob.placement(&self.cfg.fallback_asset, ts));
            (col, placement)
        };
        let day = self.day.as_ref()?;
        let asset_id = day.cols[col];
        let asset = &self.asset_names[asset_id];

        // Direction confirmation on the selected asset (SPEC D9).
        let dc = if self.cfg.use_direction_confirm {
            direction_confirm(
                &self.price_histories[asset_id],
                self.cfg.dc_lookback_bars as usize,
                self.cfg.dc_min_magnitude_bps,
                self.direction,
            )
        } else {
            DcVerdict::Neutral
        };
        if dc == DcVerdict::Contradict && self.cfg.dc_skip_contradicts {
            return None;
        }
        let dc_lev_mult = if dc == DcVerdict::Confirm {
            self.cfg.dc_leverage_boost
        } else {
            1.0
        };

        // OB-2: imbalance confirmation; a strong persistent contradiction vetoes.
        if let Some(ob) = &self.ob
            && let Some(sig) = ob.signal(asset, ts)
        {
            match ob_confirm(&sig, self.direction) {
                ObConfirm::Veto => return None,
                ObConfirm::Boost(_) => rules.confirm_boost = true,
                ObConfirm::Dampen(_) => rules.confirm_dampen = true,
                ObConfirm::Neutral => {}
            }
        }

        // Sizing (B §6) with the alpha layers.
        let n = self.vel_div_history.len();
        let vd_trend = if n >= 10 {
            self.vel_div_history[n - 1] - self.vel_div_history[n - 10]
        } else {
            f64::NAN
        };
        let alpha = AlphaState {
            bucket_wins: self.bucket_wins,
            bucket_trades: self.bucket_trades,
            losses_in_last_5: self.recent_losses.iter().filter(|&&l| l).count() as u32,
            closed_trades: self.trade_history.len(),
            vd_trend,
        };
        let size = calculate_size(bar.vel_div, &self.sizer, &alpha);

        // OB-3 and the ACB leverage ceiling (B §6.5, SPEC D4/D12).
        let market_ob_mult = match &self.ob {
            Some(ob) => ob.market_multiplier(self.direction, ts),
            None => 1.0,
        };
        if market_ob_mult != 1.0 {
            rules.market_mult = true;
        }
        let stalker =
            (day.ctx.posture == Posture::Stalker).then_some(self.cfg.stalker_leverage_cap);
        let ceiling = leverage_ceiling(
            self.cfg.max_leverage,
            self.regime_size_mult,
            market_ob_mult,
            self.abs_max_leverage_eff,
            stalker,
        );
        let raw = size.leverage * dc_lev_mult * self.regime_size_mult * market_ob_mult;
        let leverage = clamp_leverage(raw, self.cfg.min_leverage, ceiling);
        let notional = self.capital * size.fraction * leverage;
        let entry_price = bar.prices[col];
        let trade_id = self.trade_history.len() as u32 + 1;
        self.position = Some(NDPosition {
            trade_id,
            asset: asset.clone(),
            asset_id,
            direction: self.direction,
            entry_price,
            notional,
            leverage,
            fraction: size.fraction,
            entry_bar: bar_idx,
            entry_date: day.date,
            entry_vel_div: bar.vel_div,
            bucket: size.bucket,
            vd_adverse_bars: 0,
            placement,
            ob_rules: rules,
        });
        Some(trade_id)
    }

    /// IRP selection (B §5.4–5.5, SPEC §5–6): among candidates (≥ `irp_window` history
    /// prices, not excluded, a valid price on this bar) in the day's column order, the
    /// highest ARS that passes the kernel gates, the alignment gate, the direction gate and
    /// (with an OB provider) the depth gate; ties go to the earlier column — the same as a
    /// stable descending sort followed by a walk.
    fn select_asset(
        &self,
        prices: &[f64],
        ts: i64,
        rules: &mut ObRules,
    ) -> Option<(usize, Option<ObPlacement>)> {
        let day = self.day.as_ref()?;
        let w = self.cfg.irp_window as usize;
        let mut best: Option<(f64, usize, Option<ObPlacement>, bool)> = None;
        for (col, &p) in prices.iter().enumerate() {
            if !is_valid_price(p) {
                continue;
            }
            let id = day.cols[col];
            if self.excluded[id] {
                continue;
            }
            let h = &self.price_histories[id];
            if h.len() < w {
                continue;
            }
            // Kernel gates, alignment gate and direction gate (inverse winners are never
            // traded) in one pass; bit-identical to ranking all assets and walking the list.
            let Some(r) = rank_tradable(
                col,
                &h[h.len() - w..],
                self.direction,
                &self.gates,
                self.cfg.min_irp_alignment,
            ) else {
                continue;
            };
            let mut score = r.ars;
            let mut placement = None;
            let mut adjusted = false;
            if let Some(ob) = &self.ob {
                placement = ob.placement(&self.asset_names[id], ts);
                if let Some(pl) = &placement {
                    let adj = ob_ars_adjustment(pl.depth_quality);
                    if adj != 0.0 {
                        score += score.abs() * adj;
                        adjusted = true;
                    }
                }
            }
            if placement.is_some_and(|pl| pl.depth_quality < 0.20) {
                continue;
            }
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, col, placement, adjusted));
            }
        }
        let (_, col, placement, adjusted) = best?;
        rules.ars_adjusted = adjusted;
        Some((col, placement))
    }
}

/// OB-1 (B §5.5, §9.4 "ARS adjusted ±5 %/10 % by depth quality"): depth_quality > 1.5 → +10 %,
/// > 1.2 → +5 %, < 0.5 → −10 %, < 0.8 → −5 %, else 0 (applied as `ars + |ars| × adj`).
pub fn ob_ars_adjustment(depth_quality: f64) -> f64 {
    if depth_quality > 1.5 {
        0.10
    } else if depth_quality > 1.2 {
        0.05
    } else if depth_quality < 0.5 {
        -0.10
    } else if depth_quality < 0.8 {
        -0.05
    } else {
        0.0
    }
}
