//! The actor under a governor (`dolphin serve --live`, [`dolphin_runtime::Governor`]): at a
//! date change the services give the posture (and have set the day's ACB and MC values in the
//! providers), before each bar a sub-day ACB update and the circuit breaker's entry gate, after
//! it they hear what happened; every day's end and the stop are reported. Without a governor
//! each call is a no-op and the actor reads the store itself (S §5.2, §5.4).

use super::DolphinActor;
use crate::config::ActorMode;
use crate::live_scan::LiveScan;
use dolphin_core::UtcDate;
use dolphin_engine::{DayContext, DayResult, StepOutcome};
use dolphin_runtime::{BarGate, BarRecord};

impl DolphinActor {
    /// Whether a governor decides around the engine.
    pub(super) fn governed(&self) -> bool {
        self.cfg.governor.is_some()
    }

    fn with_governor<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(
            &mut dyn dolphin_runtime::Governor,
            &dolphin_engine::NDAlphaEngine,
        ) -> Result<T, dolphin_runtime::GovernorError>,
    ) -> anyhow::Result<Option<T>> {
        let (Some(g), Some(engine)) = (self.cfg.governor.clone(), self.engine.as_ref()) else {
            return Ok(None);
        };
        let mut g = g
            .lock()
            .map_err(|_| anyhow::anyhow!("DolphinActor: governor lock poisoned"))?;
        f(g.as_mut(), engine)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("DolphinActor: governor {what}: {e}"))
    }

    /// The day's posture context from the governor (`None` without one).
    pub(super) fn governed_day(&mut self, date: UtcDate) -> anyhow::Result<Option<DayContext>> {
        let ts = self.next_bar_ts;
        self.with_governor("begin_day", |g, e| g.begin_day(date, ts, e))
    }

    /// Before the bar at `ts`: the sub-day ACB update is applied here; returns whether new
    /// entries are allowed (always, without a governor).
    pub(super) fn governed_bar(&mut self, date: UtcDate, ts: i64) -> anyhow::Result<bool> {
        let gate = self
            .with_governor("before_bar", |g, e| g.before_bar(date, ts, e))?
            .unwrap_or(BarGate {
                acb_update: None,
                entries_allowed: true,
            });
        if let (Some(acb), Some(engine)) = (gate.acb_update, self.engine.as_mut()) {
            engine.update_acb_boost(acb.boost, acb.beta);
            self.log.borrow_mut().acb_applied += 1;
        }
        Ok(gate.entries_allowed)
    }

    /// After the step of `scan`: the governor hears the outcome (and publishes the scan); a
    /// posture change during the day it reports marks the day stale (S §5.3 ⑧).
    pub(super) fn governed_after_bar(
        &mut self,
        date: UtcDate,
        scan: &LiveScan,
        out: &StepOutcome,
    ) -> anyhow::Result<()> {
        let (Some(g), Some(engine)) = (self.cfg.governor.as_ref(), self.engine.as_ref()) else {
            return Ok(());
        };
        let assets: &[String] = match &self.cfg.mode {
            ActorMode::Live { assets } => assets,
            ActorMode::Replay => &[],
        };
        let bar = BarRecord {
            date,
            ts: scan.timestamp_ms,
            scan_number: scan.scan_number,
            vel_div: scan.vel_div,
            v750_vel: scan.v750_vel,
            assets,
            prices: &scan.prices,
        };
        let stale = g
            .lock()
            .map_err(|_| anyhow::anyhow!("DolphinActor: governor lock poisoned"))?
            .after_bar(&bar, out, engine)
            .map_err(|e| anyhow::anyhow!("DolphinActor: governor after_bar: {e}"))?;
        if stale {
            self.stale_state_events += 1;
            self.day_stale = true;
            self.log.borrow_mut().stale_state_events += 1;
            log::warn!("[STALE_STATE] {date}: the posture changed during the day");
        }
        Ok(())
    }

    /// Day `result` ended.
    pub(super) fn governed_end_day(
        &mut self,
        result: &DayResult,
        last: bool,
    ) -> anyhow::Result<()> {
        self.with_governor("end_day", |g, e| g.end_day(result, e, last))?;
        Ok(())
    }

    /// The actor stops.
    pub(super) fn governed_finish(&mut self) -> anyhow::Result<()> {
        self.with_governor("finish", |g, e| g.finish(e))?;
        Ok(())
    }
}
