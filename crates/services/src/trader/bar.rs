//! One bar of the replay trader (B §14.1, §14.2; S §5.3, §10, §14): apply a pending sub-day
//! ACB value, consult the circuit breaker before any entry, step the core, publish the scan,
//! persist state on a position change, flag a posture change during the day as stale state,
//! and check a resumed run's re-reached position.

use super::ReplayTrader;
use crate::error::ServiceError;
use crate::run_files::Trace;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use crate::traces::{AcbDecision, AcbKind, CbDecision, Source};
use dolphin_core::{DayFrame, Posture};
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, POSTURE_CELL};
use std::fmt::Write as _;

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
        if !self.day_stale
            && let Ok(now) = self.store.cell_get(POSTURE_CELL)
            && now != self.day_posture_raw
        {
            let posture_now = now
                .as_deref()
                .and_then(|j| serde_json::from_str::<dolphin_store::schema::SafetyValue>(j).ok())
                .map_or(Posture::Apex, |v| v.posture);
            if posture_now != self.day_posture {
                self.day_stale = true;
                self.stats.stale_state_events += 1;
                tracing::warn!(%date, ?posture_now, day = ?self.day_posture, "[STALE_STATE] posture changed during the day");
            }
            self.day_posture_raw = now;
        }
        Ok(())
    }

    /// `DOLPHIN_FEATURES["latest_eigen_scan"]` (S §10) for the bar just stepped.
    fn publish_scan(&mut self, frame: &DayFrame, r: usize) {
        let s = &mut self.scan_json;
        s.clear();
        s.push_str("{\"vel_div\":");
        push_f64(s, frame.vel_div[r]);
        let _ = write!(
            s,
            ",\"scan_number\":{},\"timestamp\":{},\"asset_prices\":{{",
            frame.scan_number[r], frame.timestamp[r]
        );
        let mut first = true;
        for (a, p) in frame.assets.iter().zip(frame.row_prices(r)) {
            if p.is_finite() && *p > 0.0 {
                if !first {
                    s.push(',');
                }
                first = false;
                s.push('"');
                s.push_str(a);
                s.push_str("\":");
                push_f64(s, *p);
            }
        }
        s.push_str("}}");
        if self
            .store
            .put(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &self.scan_json)
            .is_err()
        {
            self.stats.store_errors += 1;
        }
    }
}

/// A JSON number as serde_json writes it (shortest round-trip digits by `ryu`, ≈ 4× cheaper
/// than `{}` of an f64 — this runs for every price of every bar), or `null`.
fn push_f64(s: &mut String, v: f64) {
    if v.is_finite() {
        s.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        s.push_str("null");
    }
}

#[cfg(test)]
mod tests {
    use super::push_f64;

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for (v, text) in [
            (104523.1, "104523.1"),
            (2511.07, "2511.07"),
            (-0.0123456789, "-0.0123456789"),
            (1.0, "1.0"),
            (3.5e-7, "3.5e-7"),
        ] {
            let mut s = String::new();
            push_f64(&mut s, v);
            assert_eq!(s, text);
            assert_eq!(s, serde_json::to_string(&v).unwrap());
            assert_eq!(
                serde_json::from_str::<f64>(&s).unwrap().to_bits(),
                v.to_bits()
            );
        }
        let mut s = String::new();
        push_f64(&mut s, f64::NAN);
        push_f64(&mut s, f64::INFINITY);
        assert_eq!(s, "nullnull");
    }
}
