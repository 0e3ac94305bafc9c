//! The trader's date change (B §14.1 step 3, §14.4, §16.4; SPEC §8): tick the supervisor at
//! D 00:00, take the ACB value published for the date (else keep the previous one), read the
//! MC-Forewarner status and the posture, trace each decision, and begin the day in the core
//! and in the circuit breaker.

use super::ReplayTrader;
use crate::error::ServiceError;
use crate::mc_flow::{KEY_MC_FOREWARNER, McPublication};
use crate::run_files::Trace;
use crate::supervisor::Supervisor;
use crate::traces::{AcbDecision, AcbKind, McDecisionRecord, PostureDecision, Source};
use crate::trader_core::HEALTHY_MC;
use dolphin_core::{DayFrame, Posture, UtcDate};
use dolphin_engine::{AcbDay, DayContext, McStatus};
use dolphin_store::schema::{DOLPHIN_FEATURES, POSTURE_CELL, read_safety};

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

        // ACB (SPEC §8): the value published for this date, else the previous one.
        let published = self
            .pending
            .take()
            .filter(|p| p.date().as_deref() == Some(date.to_string().as_str()));
        let acb = match &published {
            Some(p) => AcbDay {
                boost: p.value.boost,
                beta: p.value.beta,
            },
            None => {
                self.stats.acb_kept_previous += 1;
                tracing::warn!(%date, "no ACB value for the date in time: keeping the previous one");
                AcbDay {
                    boost: self.core.engine.day_base_boost(),
                    beta: self.core.engine.day_beta(),
                }
            }
        };
        self.files.append(
            Trace::Acb,
            &AcbDecision {
                kind: AcbKind::Day,
                date,
                boost: acb.boost,
                beta: acb.beta,
                published_ms: published.as_ref().and_then(|p| p.ts_ms()),
                applied_ts: first_ts,
                applied_bar: bar,
                source: if published.is_some() {
                    Source::Store
                } else {
                    Source::KeptPrevious
                },
                seq: published.as_ref().map_or(0, |p| p.seq),
                explain: published
                    .as_ref()
                    .map(|p| serde_json::to_value(&p.value.extra).unwrap_or_default())
                    .unwrap_or_default(),
            },
        )?;

        // MC status (B §16.4).
        let mc = if self.mc_enabled {
            let publication = self
                .store
                .get(DOLPHIN_FEATURES, KEY_MC_FOREWARNER)
                .ok()
                .flatten()
                .and_then(|j| serde_json::from_str::<McPublication>(&j).ok())
                .filter(|p| p.date == date);
            let (report, source, published_ms) = match &publication {
                Some(p) => (p.report(), Source::Store, Some(p.ts_ms)),
                None => {
                    self.stats.mc_kept_previous += 1;
                    (
                        self.last_mc.unwrap_or(HEALTHY_MC),
                        Source::KeptPrevious,
                        None,
                    )
                }
            };
            self.last_mc = Some(report);
            self.files.append(
                Trace::Mc,
                &McDecisionRecord {
                    date,
                    status: McStatus::classify(&report, self.core.engine.config()),
                    catastrophic_probability: report.catastrophic_probability,
                    envelope_score: report.envelope_score,
                    published_ms,
                    applied_ts: first_ts,
                    applied_bar: bar,
                    source,
                },
            )?;
            Some(report)
        } else {
            None
        };

        // Posture (B §14.1 step 3): the CAS cell, else the map; APEX when none was ever
        // written; HIBERNATE (fail-safe, counted and logged) when it cannot be read.
        let raw = self.store.cell_get(POSTURE_CELL).ok().flatten();
        let (posture, rm, source) = match read_safety(self.store.as_ref()) {
            Ok(Some(s)) => (s.posture, s.rm, Source::Store),
            Ok(None) => (Posture::Apex, 1.0, Source::KeptPrevious),
            Err(e) => {
                self.stats.store_errors += 1;
                tracing::warn!(%date, error = %e, "posture unreadable: HIBERNATE for the day (fail-safe)");
                (Posture::Hibernate, 0.0, Source::FailSafe)
            }
        };
        self.day_posture_raw = raw;
        self.day_posture = posture;
        self.day_stale = false;
        self.files.append(
            Trace::Posture,
            &PostureDecision {
                date,
                posture,
                rm,
                applied_ts: first_ts,
                applied_bar: bar,
                source,
            },
        )?;

        self.day_start_capital = self.core.engine.capital();
        self.breaker.begin_day(self.day_start_capital)?;
        self.core
            .begin_day(frame, Some(acb), mc, DayContext { posture, rm })?;
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
        let _ = self.pending.take();
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
        let mc = if self.mc_enabled {
            let report = day
                .mc
                .as_ref()
                .map_or(self.last_mc.unwrap_or(HEALTHY_MC), |m| m.report());
            self.last_mc = Some(report);
            Some(report)
        } else {
            None
        };
        self.day_posture_raw = self.store.cell_get(POSTURE_CELL).ok().flatten();
        self.day_posture = day.posture.posture;
        self.day_stale = false;
        self.day_start_capital = self.core.engine.capital();
        self.breaker.begin_day(self.day_start_capital)?;
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
