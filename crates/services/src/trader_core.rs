//! The trader's stepping machine, shared by `dolphin serve` and by `dolphin backtest` given
//! decision traces, so that the system and the backtest are the same machine (SPEC §8):
//! `begin_day` with the day's ACB value, MC report and posture; per bar the sub-day ACB update
//! (B §10.5 pending-flag: applied before the bar), the circuit breaker's entry gate (S §14),
//! the replay volatility gate and `step_bar` (the same calls as `NDAlphaEngine::step_row`).

use crate::error::ServiceError;
use dolphin_core::DayFrame;
use dolphin_engine::{
    AcbDay, AcbProvider, Bar, DayContext, DayResult, EngineConfig, McForewarner, McReport,
    NDAlphaEngine, ObProvider, StepOutcome, Summary,
};
use dolphin_runtime::BacktestResult;
use std::sync::{Arc, Mutex, PoisonError};

/// The day's ACB value as the trader received it, handed to the engine at `begin_day`.
#[derive(Debug, Clone, Default)]
pub struct AcbCell(Arc<Mutex<Option<AcbDay>>>);

impl AcbCell {
    pub fn set(&self, v: AcbDay) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(v);
    }
    pub fn get(&self) -> Option<AcbDay> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AcbProvider for AcbCell {
    fn day(&self, _date: dolphin_core::UtcDate, _ob: Option<&dyn ObProvider>) -> AcbDay {
        self.get().unwrap_or(AcbDay::NEUTRAL)
    }
}

/// The report of an envelope that is not installed: status OK. (`f64::MAX`, not infinity,
/// so that it survives JSON.)
pub const HEALTHY_MC: McReport = McReport {
    catastrophic_probability: 0.0,
    envelope_score: f64::MAX,
};

/// The day's MC report as published by the MC flow, answered to the engine's `assess`.
#[derive(Debug, Clone, Default)]
pub struct McCell(Arc<Mutex<Option<McReport>>>);

impl McCell {
    pub fn set(&self, v: McReport) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(v);
    }
    pub fn get(&self) -> Option<McReport> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl McForewarner for McCell {
    fn assess(&self, _cfg: &EngineConfig) -> McReport {
        // No report yet = a healthy envelope (status OK); the trader records where it kept one.
        self.get().unwrap_or(HEALTHY_MC)
    }
}

/// One engine and its day lifecycle, with the results collected as `dolphin backtest` does.
pub struct TraderCore {
    pub engine: NDAlphaEngine,
    acb: Option<AcbCell>,
    mc: Option<McCell>,
    pub days: Vec<DayResult>,
    pub bars: u64,
    pub asset_bars: u64,
    start_capital: f64,
}

impl TraderCore {
    /// An engine from `cfg`, starting at `start_capital` (capital continuity, S §17.6) or the
    /// configured initial capital, with the ACB / MC cells wired when asked for. `setup` wires
    /// further providers (an OB provider).
    pub fn new(
        cfg: &EngineConfig,
        with_acb: bool,
        with_mc: bool,
        start_capital: Option<f64>,
        setup: impl FnOnce(&mut NDAlphaEngine),
    ) -> Result<Self, ServiceError> {
        let mut engine = NDAlphaEngine::new(cfg.clone())?;
        let acb = with_acb.then(AcbCell::default);
        let mc = with_mc.then(McCell::default);
        if let Some(a) = &acb {
            engine.set_acb(Box::new(a.clone()));
        }
        if let Some(m) = &mc {
            engine.set_mc_forewarner(Box::new(m.clone()));
        }
        if let Some(c) = start_capital {
            engine.set_capital(c);
        }
        setup(&mut engine);
        let start_capital = engine.capital();
        Ok(Self {
            engine,
            acb,
            mc,
            days: Vec::new(),
            bars: 0,
            asset_bars: 0,
            start_capital,
        })
    }

    /// The capital the run started with (reports are computed from it, S §17.6).
    pub fn start_capital(&self) -> f64 {
        self.start_capital
    }

    /// Begins `frame`'s day with the given ACB value and MC report (ignored when the cell is
    /// not wired) and the posture context.
    pub fn begin_day(
        &mut self,
        frame: &DayFrame,
        acb: Option<AcbDay>,
        mc: Option<McReport>,
        ctx: DayContext,
    ) -> Result<(), ServiceError> {
        if let (Some(cell), Some(v)) = (&self.acb, acb) {
            cell.set(v);
        }
        if let (Some(cell), Some(v)) = (&self.mc, mc) {
            cell.set(v);
        }
        self.engine.begin_day(frame.date, &frame.assets, ctx)?;
        Ok(())
    }

    /// B §10.5: a sub-day ACB value, applied before the next bar.
    pub fn apply_acb_update(&mut self, boost: f64, beta: f64) {
        self.engine.update_acb_boost(boost, beta);
    }

    /// Steps row `r`: the replay volatility gate (fed every row, as `step_row` does), with new
    /// entries allowed only when `entries_allowed` (circuit breaker, shutdown).
    pub fn step(
        &mut self,
        frame: &DayFrame,
        r: usize,
        entries_allowed: bool,
    ) -> Result<StepOutcome, ServiceError> {
        let prices = frame.row_prices(r);
        let vol_ok = self.engine.vol_regime_ok(prices);
        let out = self.engine.step_bar(&Bar {
            timestamp_ms: frame.timestamp[r],
            vel_div: frame.vel_div[r],
            v50_vel: frame.v50_vel[r],
            v750_vel: frame.v750_vel[r],
            prices,
            vol_regime_ok: vol_ok && entries_allowed,
        })?;
        self.bars += 1;
        self.asset_bars += frame.n_assets() as u64;
        Ok(out)
    }

    /// Ends the day (closing an open position first when `close_at_end`, the last day of a
    /// run) and keeps its result.
    pub fn end_day(&mut self, close_at_end: bool) -> Result<DayResult, ServiceError> {
        if close_at_end {
            self.engine.close_end_of_data();
        }
        let d = self.engine.end_day()?;
        self.days.push(d.clone());
        Ok(d)
    }

    /// The run's result, with the summary computed from the capital the run started with.
    pub fn result(&self) -> BacktestResult {
        let trades = self.engine.trade_history().to_vec();
        BacktestResult {
            summary: Summary::compute(self.start_capital, &trades, &self.days),
            trades,
            days: self.days.clone(),
            bars: self.bars,
            asset_bars: self.asset_bars,
        }
    }
}
