//! After each step (S §5.3 ⑦–⑧): count the bar, send the orders, and the stale-state gate —
//! re-read the posture and compare the gates with the snapshot taken before the bar
//! ([`GateSnap`]); a difference is a `[STALE_STATE]` event, marked on the day's result.

use super::DolphinActor;
use crate::actor_log::Leg;
use crate::gate_snap::GateSnap;
use dolphin_core::UtcDate;

impl DolphinActor {
    /// After `step_bar` (S §5.3 ⑦–⑧): count the bar, send the orders, re-read the posture
    /// and compare the gates with the snapshot taken before.
    pub(super) fn after_step(
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
        // Under a governor the posture check is the governor's (after_bar).
        let posture_now = if self.governed() {
            self.posture
        } else {
            self.read_posture().map_or(self.posture, |p| p.0)
        };
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
}
