//! The day lifecycle and the bar loop (seeds B §13.1–13.2, S §8.2; SPEC D6, §5 "Entry gates").

use super::{Bar, DayContext, DayResult, DayState, EngineError, NDAlphaEngine, StepOutcome};
use crate::assets::duplicate_error;
use crate::day_gates::DayGates;
use crate::sizing::regime_size_mult;
use dolphin_core::{DayFrame, UtcDate};

impl NDAlphaEngine {
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
        let cols = self
            .assets
            .map_day(assets, &self.cfg.excluded_assets)
            .map_err(|e| duplicate_error(date, e))?;
        let ref_col = assets
            .iter()
            .position(|a| *a == self.cfg.vol_reference_asset);
        if self.cfg.use_vol_filter && ref_col.is_none() {
            return Err(EngineError::MissingReferenceAsset {
                date,
                asset: self.cfg.vol_reference_asset.clone(),
            });
        }
        self.day_gates = DayGates::open(
            &self.cfg,
            date,
            ctx,
            self.acb.as_deref(),
            self.mc.as_deref(),
            self.ob.as_deref(),
        );
        self.day = Some(DayState {
            date,
            cols,
            ref_col,
            ctx,
            start_capital: self.capital,
            trades: 0,
            rows: 0,
        });
        Ok(())
    }

    /// The replay volatility gate for the next row of the day (SPEC §5 "Entry gates"):
    /// `row_in_day ≥ day_warmup_bars` AND the volatility detector (when on). Feeds the
    /// detector with the reference asset's price, so call it once per row, before `step_bar`.
    pub fn vol_regime_ok(&mut self, prices: &[f64]) -> bool {
        let (row, ref_col) = match &self.day {
            Some(d) => (d.rows, d.ref_col),
            None => return false,
        };
        let warm = row >= u64::from(self.cfg.day_warmup_bars);
        if !self.cfg.use_vol_filter {
            return warm;
        }
        let p = ref_col
            .and_then(|c| prices.get(c).copied())
            .unwrap_or(f64::NAN);
        let high = self.vol.update(p);
        warm && high
    }

    /// Processes one bar (B §13.1 loop body + §13.2 `process_bar`): price histories, ACB scale
    /// 2, the vel_div history, exits of an open position, then (flat, SPEC §5) the entry
    /// gates `bar_idx > last_exit_bar`, no halt, `bar_count ≥ lookback`, `vol_regime_ok`.
    pub fn step_bar(&mut self, bar: &Bar<'_>) -> Result<StepOutcome, EngineError> {
        let day = self.day.as_mut().ok_or(EngineError::NoDay)?;
        if bar.prices.len() != day.cols.cols.len() {
            return Err(EngineError::PriceCount {
                date: day.date,
                got: bar.prices.len(),
                expected: day.cols.cols.len(),
            });
        }
        day.rows += 1;
        let bar_idx = self.bars;
        self.assets.push_prices(
            &day.cols.cols,
            bar.prices,
            self.cfg.price_history_max,
            self.cfg.price_history_keep,
        );

        // ACB scale 2: regime_size_mult every bar.
        let g = &self.day_gates;
        self.regime_size_mult = regime_size_mult(
            bar.vel_div,
            self.threshold,
            self.extreme,
            self.cfg.leverage_convexity,
            g.base_boost,
            g.beta,
            g.mc_scale,
        );

        self.vel_div_history.push_back(bar.vel_div);
        if self.vel_div_history.len() > self.cfg.vel_div_history_max {
            self.vel_div_history.pop_front();
        }

        let mut out = StepOutcome::default();
        if self.position.is_some() {
            out.exited = self.manage_position(bar_idx, bar);
        }
        // `bar_count` counts this bar: bar_idx + 1.
        if self.position.is_none()
            && self.last_exit_bar.is_none_or(|l| bar_idx > l)
            && !self.day_gates.entries_halted
            && bar_idx + 1 >= u64::from(self.cfg.lookback)
            && bar.vol_regime_ok
        {
            out.entered = self.try_entry(bar_idx, bar);
        }
        self.bars += 1;
        Ok(out)
    }

    /// Ends the day and returns its result.
    pub fn end_day(&mut self) -> Result<DayResult, EngineError> {
        let d = self.day.take().ok_or(EngineError::NoDay)?;
        Ok(DayResult {
            date: d.date,
            pnl: self.capital - d.start_capital,
            capital: self.capital,
            boost: self.day_gates.base_boost,
            beta: self.day_gates.beta,
            mc_status: self.day_gates.mc_status,
            trades: d.trades,
            posture: d.ctx.posture,
            bars: d.rows,
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
}
