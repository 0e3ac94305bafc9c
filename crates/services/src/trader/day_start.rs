//! The trader's date change (B §14.1 step 3, §14.4, §16.4; SPEC §8): tick the supervisor at
//! D 00:00, take the ACB value published for the date (else keep the previous one), read the
//! MC-Forewarner status and the posture, trace each decision, and begin the day in the core
//! and in the circuit breaker.

use super::ReplayTrader;
use crate::error::ServiceError;
use crate::supervisor::Supervisor;
use crate::trader_core::HEALTHY_MC;
use dolphin_core::{DayFrame, UtcDate};
use dolphin_engine::{AcbDay, DayContext};
use dolphin_store::schema::POSTURE_CELL;

impl ReplayTrader {
    pub(super) async fn begin_day(
        &mut self,
        sup: &mut Supervisor,
        frame: &DayFrame,
        date: UtcDate,
    ) -> Result<(), ServiceError> {
        let t = date.start_ms();
        sup.tick(t).await?;
        self.after_tick(sup).await;
        let first_ts = frame.timestamp.first().copied().unwrap_or(t);
        let bar = self.core.engine.global_bar_idx();
        if let Some(prior) = self.prior.as_mut()
            && let Some(day) = prior.day(date, bar)?
        {
            return self.begin_day_as_before(frame, day);
        }

        let d =
            self.decisions
                .begin_day(date, first_ts, bar, &self.core.engine, &mut self.stats)?;
        self.day_start_capital = self.core.engine.capital();
        self.core.begin_day(frame, Some(d.acb), d.mc, d.ctx)?;
        Ok(())
    }
}

impl ReplayTrader {
    /// A resumed run's re-run: the day begins with the decisions the previous process took
    /// (already in the trace files, not written again).
    fn begin_day_as_before(
        &mut self,
        frame: &DayFrame,
        day: super::PriorDay,
    ) -> Result<(), ServiceError> {
        let dec = &mut self.decisions;
        let _ = dec.pending.take();
        let acb = match &day.acb {
            Some(a) => AcbDay {
                boost: a.boost,
                beta: a.beta,
            },
            None => AcbDay {
                boost: self.core.engine.day_base_boost(),
                beta: self.core.engine.day_beta(),
            },
        };
        let mc = if dec.mc_enabled {
            let report = day
                .mc
                .as_ref()
                .map_or(dec.last_mc.unwrap_or(HEALTHY_MC), |m| m.report());
            dec.last_mc = Some(report);
            Some(report)
        } else {
            None
        };
        dec.day_posture_raw = self.store.cell_get(POSTURE_CELL).ok().flatten();
        dec.day_posture = day.posture.posture;
        dec.day_stale = false;
        self.day_start_capital = self.core.engine.capital();
        dec.begin_breaker_day(self.day_start_capital)?;
        self.core.begin_day(
            frame,
            Some(acb),
            mc,
            DayContext {
                posture: day.posture.posture,
                rm: day.posture.rm,
            },
        )?;
        Ok(())
    }
}
