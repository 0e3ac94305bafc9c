//! One bar of the replay trader (B §14.1, §14.2; S §5.3, §10, §14): apply a pending sub-day
//! ACB value, consult the circuit breaker before any entry, step the core, publish the scan,
//! persist state on a position change, flag a posture change during the day as stale state,
//! and check a resumed run's re-reached position.

use super::ReplayTrader;
use crate::error::ServiceError;
use crate::run_files::Trace;
use crate::sensor_parse;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use crate::traces::{AcbDecision, AcbKind, CbDecision, Source};
use dolphin_core::{DayFrame, Posture};
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, POSTURE_CELL};

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
            let _ = self.pending.take();
            if let Some(d) = prior.acb_update(bar) {
                self.core.apply_acb_update(d.boost, d.beta);
            }
        } else if let Some(p) = self.pending.take()
            && p.date().as_deref() == Some(date.to_string().as_str())
        {
            self.core.apply_acb_update(p.value.boost, p.value.beta);
            self.files.append(
                Trace::Acb,
                &AcbDecision {
                    kind: AcbKind::Update,
                    date,
                    boost: p.value.boost,
                    beta: p.value.beta,
                    published_ms: p.ts_ms(),
                    applied_ts: t,
                    applied_bar: bar,
                    source: Source::Store,
                    seq: p.seq,
                    explain: serde_json::to_value(&p.value.extra).unwrap_or_default(),
                },
            )?;
        }
        let allowed = match self.prior.as_mut() {
            Some(prior) => {
                self.can_open = prior.gate_at(bar);
                self.can_open
            }
            None => self.breaker.can_open(),
        };
        if allowed != self.can_open {
            self.can_open = allowed;
            let status = self.breaker.status();
            self.files.append(
                Trace::Cb,
                &CbDecision {
                    can_open: allowed,
                    reasons: status.reasons,
                    applied_ts: t,
                    applied_bar: bar,
                },
            )?;
        }
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
            self.breaker
                .record_trade(tr.pnl, self.core.engine.capital())?;
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
        if !self.day_stale {
            // Read in place: the cell is compared every bar (its `Rm` moves most minutes) and
            // only the posture is read out of a changed value.
            let mut posture_now = None;
            let raw = &mut self.day_posture_raw;
            let read = self.store.cell_read_with(POSTURE_CELL, &mut |v| {
                if v != raw.as_deref() {
                    posture_now = Some(v.and_then(sensor_parse::posture).unwrap_or(Posture::Apex));
                    match (raw.as_mut(), v) {
                        (Some(buf), Some(v)) => {
                            buf.clear();
                            buf.push_str(v);
                        }
                        (_, v) => *raw = v.map(str::to_string),
                    }
                }
            });
            if let (Ok(()), Some(posture_now)) = (read, posture_now)
                && posture_now != self.day_posture
            {
                self.day_stale = true;
                self.stats.stale_state_events += 1;
                tracing::warn!(%date, ?posture_now, day = ?self.day_posture, "[STALE_STATE] posture changed during the day");
            }
        }
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
        if self
            .store
            .put_typed(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &self.scan)
            .is_err()
        {
            self.stats.store_errors += 1;
        }
    }
}
