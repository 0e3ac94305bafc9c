//! The date boundary (S §5.3 ②, B §14.1 steps 3–4, §14.3): end the previous day, re-read the
//! posture, load the replay day file (or, live, take the panel) and begin the day; at the end,
//! the day's result to the log and the store.

use super::DolphinActor;
use crate::config::ActorMode;
use dolphin_core::UtcDate;
use dolphin_engine::DayContext;

impl DolphinActor {
    /// S §5.3 ②: end the previous day, then (unless the date was processed) re-read the
    /// posture, load the day file and begin the day.
    pub(super) fn on_date_change(&mut self, date: UtcDate) -> anyhow::Result<()> {
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.current_date().is_some())
        {
            self.finish_day(false)?;
        }
        self.current_date = Some(date);
        if self.processed_dates.contains(&date) {
            return Ok(());
        }
        if let Some(ctx) = self.governed_day(date)? {
            (self.posture, self.rm) = (ctx.posture, ctx.rm);
        } else if let Some(p) = self.read_posture() {
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
    /// marked processed; `last` = the end of the data (told to a governor).
    pub(super) fn finish_day(&mut self, last: bool) -> anyhow::Result<()> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(());
        };
        let result = engine.end_day()?;
        let trades = engine.trade_history().to_vec();
        let capital = engine.capital();
        self.processed_dates.insert(result.date);
        self.day_data = None;
        self.write_result(&result, capital);
        self.governed_end_day(&result, last)?;
        let mut log = self.log.borrow_mut();
        log.days.push(result);
        log.trades = trades;
        Ok(())
    }
}
