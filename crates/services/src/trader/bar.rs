//! One bar of the replay trader (B §14.1, §14.2; S §5.3, §10, §14): apply a pending sub-day
//! ACB value, consult the circuit breaker before any entry, step the core, publish the scan,
//! persist state on a position change, flag a posture change during the day as stale state,
//! and check a resumed run's re-reached position.

use super::ReplayTrader;
use crate::error::ServiceError;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use dolphin_core::DayFrame;

impl ReplayTrader {
    pub(super) fn step_bar(
        &mut self,
        sup: &mut Supervisor,
        frame: &DayFrame,
        r: usize,
    ) -> Result<(), ServiceError> {
        self.check_resume()?;
        let t = frame.timestamp[r];
        let date = frame.date;
        let bar = self.core.engine.global_bar_idx();
        if let Some(prior) = self.prior.as_mut() {
            // Re-running: the previous process's decisions, not the services' new ones.
            let _ = self.decisions.pending.take();
            if let Some(d) = prior.acb_update(bar) {
                self.core.apply_acb_update(d.boost, d.beta);
            }
        } else if let Some(acb) = self.decisions.acb_update(date, t, bar)? {
            self.core.apply_acb_update(acb.boost, acb.beta);
        }
        let recorded = self.prior.as_mut().map(|prior| prior.gate_at(bar));
        let allowed = self.decisions.entry_gate(t, bar, recorded)?;
        let out = self.core.step(frame, r, allowed)?;
        self.publish_scan(frame, r);
        sup.notify(BusEvent::Scan {
            ts: t,
            date,
            v750: frame.v750_vel[r],
        });
        if let Some(id) = out.exited
            && let Some(tr) = self
                .core
                .engine
                .trade_history()
                .iter()
                .rev()
                .find(|x| x.trade_id == id)
        {
            self.decisions
                .record_exit(tr.pnl, self.core.engine.capital())?;
            metrics::counter!("dolphin_exits_total", "reason" => tr.reason.as_str()).increment(1);
        }
        if out.entered.is_some() {
            metrics::counter!("dolphin_entries_total").increment(1);
        }
        if out.entered.is_some() || out.exited.is_some() {
            self.persist(t, date)?;
            sup.notify(BusEvent::PositionChanged);
        }
        // S §5.3 ⑧: the posture changed while the day runs (it applies at the next date).
        self.decisions.posture_check(date, &mut self.stats);
        Ok(())
    }

    /// `DOLPHIN_FEATURES["latest_eigen_scan"]` (S §10) for the bar just stepped, as a typed
    /// value (crate::typed_values: text only for text readers).
    fn publish_scan(&mut self, frame: &DayFrame, r: usize) {
        let scan = &mut self.scan;
        if self.scan_date != Some(frame.date) {
            scan.assets = frame.assets.clone().into();
            self.scan_date = Some(frame.date);
        }
        scan.vel_div = frame.vel_div[r];
        scan.scan_number = frame.scan_number[r];
        scan.timestamp = frame.timestamp[r];
        scan.prices.clear();
        scan.prices.extend_from_slice(frame.row_prices(r));
        if self.store.put_typed_at(&self.scan_key, &self.scan).is_err() {
            self.stats.store_errors += 1;
        }
    }
}
