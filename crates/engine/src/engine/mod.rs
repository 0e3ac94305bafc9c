//! NDAlphaEngine: the full bar loop (seeds B §13, S §8, SPEC §5–§6).
//!
//! `step_bar` is the primitive; `process_day` = `begin_day` + `step_bar` per row + `end_day`
//! (SPEC D6). The engine is pure: no I/O, no clock; the providers are injected.
//!
//! The engine holds state and sequences the bar; each formula lives in the file named for it:
//! the asset registry and price histories in [`crate::assets`], the once-a-day ACB/MC/posture
//! gates in [`crate::day_gates`], sizing, the leverage product and `vd_trend` in
//! [`crate::sizing`], IRP with OB-1 in [`crate::irp`], exit rules and the vel_div adverse-turn
//! counter in [`crate::exits`], settlement (slippage, SP refunds, OB edge, fees) in
//! [`crate::fees`]. This module's files: [`lifecycle`] (days and bars), `entry` (B §13.3
//! `_try_entry`), `exit` (position management), [`snapshot`] (exact resume).

mod entry;
mod exit;
pub mod lifecycle;
pub mod snapshot;

use crate::acb::AcbProvider;
use crate::assets::{AssetRegistry, DayColumns};
use crate::config::{ConfigError, EngineConfig};
pub use crate::day_gates::DayContext;
use crate::day_gates::DayGates;
use crate::fees::FeeModel;
use crate::irp::IrpGates;
use crate::mc::{McForewarner, McStatus};
use crate::ob::ObProvider;
use crate::position::{NDPosition, NDTradeRecord};
use crate::rng::Mt19937;
use crate::sizing::{AlphaStats, SizerParams};
use crate::volatility::VolatilityRegimeDetector;
use dolphin_core::{Direction, Posture, UtcDate};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

pub use snapshot::{EngineSnapshot, SnapshotError};

/// Engine errors: misuse of the day lifecycle or inconsistent inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("invalid engine config: {0}")]
    Config(#[from] ConfigError),
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
    #[error("cannot restore the engine: {0}")]
    Snapshot(#[from] SnapshotError),
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

/// The open day.
#[derive(Debug, Clone)]
pub(crate) struct DayState {
    pub(crate) date: UtcDate,
    pub(crate) cols: DayColumns,
    /// Day column of the volatility reference asset.
    pub(crate) ref_col: Option<usize>,
    pub(crate) ctx: DayContext,
    pub(crate) start_capital: f64,
    /// Trades closed this day.
    pub(crate) trades: u32,
    /// Rows stepped this day (= the row index of the next row).
    pub(crate) rows: u64,
}

/// The DOLPHIN alpha engine.
pub struct NDAlphaEngine {
    cfg: EngineConfig,
    // derived from the config
    fees: FeeModel,
    threshold: f64,
    extreme: f64,
    direction: Direction,
    irp_gates: IrpGates,
    sizer: SizerParams,
    // providers (not part of a snapshot)
    acb: Option<Arc<dyn AcbProvider>>,
    mc: Option<Arc<dyn McForewarner>>,
    ob: Option<Arc<dyn ObProvider>>,
    // state
    rng: Mt19937,
    assets: AssetRegistry,
    /// Bars processed since the engine was made: SPEC §5's `bar_count` after a bar, and the
    /// global `bar_idx` of the next bar (the two counters of the seeds are one number).
    bars: u64,
    last_exit_bar: Option<u64>,
    capital: f64,
    position: Option<NDPosition>,
    trade_history: Vec<NDTradeRecord>,
    alpha: AlphaStats,
    vel_div_history: VecDeque<f64>,
    day: Option<DayState>,
    day_gates: DayGates,
    regime_size_mult: f64,
    pending_subday_exit: bool,
    vol: VolatilityRegimeDetector,
}

impl std::fmt::Debug for NDAlphaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NDAlphaEngine")
            .field("capital", &self.capital)
            .field("global_bar_idx", &self.bars)
            .field("position", &self.position)
            .field("trades", &self.trade_history.len())
            .finish()
    }
}

impl NDAlphaEngine {
    /// Builds an engine from a validated config.
    pub fn new(cfg: EngineConfig) -> Result<Self, EngineError> {
        cfg.validate()?;
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
            irp_gates: IrpGates {
                max_noise: cfg.irp_max_noise,
                max_latency: cfg.irp_max_latency,
                min_alignment: cfg.irp_min_alignment_kernel,
            },
            sizer,
            acb: None,
            mc: None,
            ob: None,
            rng: Mt19937::new(cfg.seed),
            assets: AssetRegistry::default(),
            bars: 0,
            last_exit_bar: None,
            capital: cfg.initial_capital,
            position: None,
            trade_history: Vec::new(),
            alpha: AlphaStats::default(),
            vel_div_history: VecDeque::with_capacity(cfg.vel_div_history_max + 1),
            day: None,
            day_gates: DayGates::initial(&cfg),
            regime_size_mult: 1.0,
            pending_subday_exit: false,
            vol: VolatilityRegimeDetector::new(cfg.vol_window as usize, cfg.vol_threshold),
            cfg,
        })
    }

    // ----- setters (S §8.4) -----

    /// Wires an order-book provider (B §9): enables the five OB sub-systems and replaces the
    /// Monte-Carlo OB edge draw. Providers are shared (`Arc`): one provider value can be
    /// installed into any number of engines (`dolphin_runtime::providers::Providers`).
    pub fn set_ob_engine(&mut self, ob: Arc<dyn ObProvider>) {
        self.ob = Some(ob);
    }

    /// Wires the adaptive circuit breaker (daily boost and beta).
    pub fn set_acb(&mut self, acb: Arc<dyn AcbProvider>) {
        self.acb = Some(acb);
    }

    /// Wires the MC-Forewarner (daily envelope gate).
    pub fn set_mc_forewarner(&mut self, mc: Arc<dyn McForewarner>) {
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
        self.day_gates.base_boost
    }
    pub fn day_beta(&self) -> f64 {
        self.day_gates.beta
    }
    pub fn day_mc_scale(&self) -> f64 {
        self.day_gates.mc_scale
    }
    pub fn day_mc_status(&self) -> McStatus {
        self.day_gates.mc_status
    }
    /// The global 0-based index of the next bar (persists across days, SPEC §5).
    pub fn global_bar_idx(&self) -> u64 {
        self.bars
    }
    /// Bars processed since the engine was made (SPEC §5). The same number as
    /// [`Self::global_bar_idx`] between bars: one counter.
    pub fn bar_count(&self) -> u64 {
        self.bars
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
    /// No new entries today: MC RED or a halting posture (the seeds' `regime_dd_halt`).
    pub fn entries_halted(&self) -> bool {
        self.day_gates.entries_halted
    }
    pub fn abs_max_leverage_eff(&self) -> f64 {
        self.day_gates.abs_max_leverage_eff
    }
    pub fn current_date(&self) -> Option<UtcDate> {
        self.day.as_ref().map(|d| d.date)
    }
    pub fn posture(&self) -> Option<Posture> {
        self.day.as_ref().map(|d| d.ctx.posture)
    }
    /// The price history of an asset (≤ `price_history_max` values).
    pub fn price_history(&self, asset: &str) -> Option<&[f64]> {
        self.assets.id(asset).map(|id| self.assets.history(id))
    }
    /// The last `vel_div` values (≤ `vel_div_history_max`).
    pub fn vel_div_history(&self) -> impl Iterator<Item = f64> + '_ {
        self.vel_div_history.iter().copied()
    }
}
