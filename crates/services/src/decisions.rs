//! The trader's decisions (B §14.1 step 3, §14.2, §16.4; S §5.3 ⑧, §14; SPEC §8), shared by the
//! replay trader (`dolphin serve --replay`) and the live governor of the paper node
//! (`dolphin serve --live`, crate::live), so that both take every decision the same way and
//! record it the same way:
//!
//! - at a date change: the ACB value published for the date (else the previous one is kept),
//!   the MC-Forewarner status, the posture (fail-safe HIBERNATE when unreadable), each traced,
//!   and the circuit breaker's day begun;
//! - before a bar: a pending sub-day ACB value of the bar's date (traced) and the circuit
//!   breaker's entry gate (a change traced);
//! - after a bar: an exit recorded in the breaker, and the posture cell compared with the
//!   day's (a change during the day is stale state, S §5.3 ⑧).

use crate::error::ServiceError;
use crate::mc_flow::{KEY_MC_FOREWARNER, McPublication};
use crate::pending_acb::PendingAcb;
use crate::run_files::{RunFiles, Trace};
use crate::schedule::EventMs;
use crate::sensor_parse;
use crate::traces::{AcbDecision, AcbKind, CbDecision, McDecisionRecord, PostureDecision, Source};
use crate::trader::TraderStats;
use crate::trader_core::HEALTHY_MC;
use dolphin_core::{Posture, UtcDate};
use dolphin_engine::{AcbDay, DayContext, McReport, McStatus, NDAlphaEngine};
use dolphin_risk::CircuitBreakerManager;
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_FEATURES, POSTURE_CELL, read_safety};
use std::sync::Arc;
use std::time::Duration;

/// What a date change decided.
#[derive(Debug, Clone, Copy)]
pub struct DayDecision {
    pub acb: AcbDay,
    /// `None` when the MC-Forewarner is off.
    pub mc: Option<McReport>,
    pub ctx: DayContext,
}

/// The decision state of one trader.
pub struct TraderDecisions {
    store: Arc<dyn SystemMemory>,
    files: RunFiles,
    pub(crate) pending: PendingAcb,
    breaker: CircuitBreakerManager,
    can_open: bool,
    pub(crate) mc_enabled: bool,
    pub(crate) last_mc: Option<McReport>,
    pub(crate) acb_wait: Duration,
    pub(crate) day_posture_raw: Option<String>,
    pub(crate) day_posture: Posture,
    pub(crate) day_stale: bool,
}

impl TraderDecisions {
    /// Listens for ACB values in `store` and builds the circuit breaker from the services'
    /// config.
    pub fn new(
        store: Arc<dyn SystemMemory>,
        files: RunFiles,
        cfg: &crate::config::ServicesConfig,
        mc_enabled: bool,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            pending: PendingAcb::subscribe(store.clone())?,
            store,
            files,
            breaker: CircuitBreakerManager::new(cfg.circuit_breaker.clone())?,
            can_open: true,
            mc_enabled,
            last_mc: None,
            acb_wait: Duration::from_millis(cfg.acb_wait_ms),
            day_posture_raw: None,
            day_posture: Posture::Apex,
            day_stale: false,
        })
    }

    /// The date change of `date` whose first bar opens at `first_ts` and is the engine's bar
    /// number `bar`: take and trace the ACB value, the MC status and the posture, and begin
    /// the breaker's day at the engine's capital.
    pub fn begin_day(
        &mut self,
        date: UtcDate,
        first_ts: EventMs,
        bar: u64,
        engine: &NDAlphaEngine,
        stats: &mut TraderStats,
    ) -> Result<DayDecision, ServiceError> {
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
                stats.acb_kept_previous += 1;
                tracing::warn!(%date, "no ACB value for the date in time: keeping the previous one");
                AcbDay {
                    boost: engine.day_base_boost(),
                    beta: engine.day_beta(),
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
                    stats.mc_kept_previous += 1;
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
                    status: McStatus::classify(&report, engine.config()),
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
                stats.store_errors += 1;
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
        self.begin_breaker_day(engine.capital())?;
        Ok(DayDecision {
            acb,
            mc,
            ctx: DayContext { posture, rm },
        })
    }

    /// Begins the circuit breaker's day at `capital`.
    pub fn begin_breaker_day(&mut self, capital: f64) -> Result<(), ServiceError> {
        self.breaker.begin_day(capital)?;
        Ok(())
    }

    /// B §10.5: the pending sub-day ACB value of `date`, traced as applied to the bar at `t`
    /// (global number `bar`); `None` when nothing new for the date is parked.
    pub fn acb_update(
        &mut self,
        date: UtcDate,
        t: EventMs,
        bar: u64,
    ) -> Result<Option<AcbDay>, ServiceError> {
        let Some(p) = self
            .pending
            .take()
            .filter(|p| p.date().as_deref() == Some(date.to_string().as_str()))
        else {
            return Ok(None);
        };
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
        Ok(Some(AcbDay {
            boost: p.value.boost,
            beta: p.value.beta,
        }))
    }

    /// S §14: the circuit breaker's entry gate for the bar at `t`; a change is traced. With
    /// `recorded` (a resumed run's prior decision, already in the trace) that gate is taken
    /// as it is, untraced.
    pub fn entry_gate(
        &mut self,
        t: EventMs,
        bar: u64,
        recorded: Option<bool>,
    ) -> Result<bool, ServiceError> {
        if let Some(open) = recorded {
            self.can_open = open;
            return Ok(open);
        }
        let allowed = self.breaker.can_open();
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
        Ok(allowed)
    }

    /// A trade closed with `pnl`, leaving `capital`: the breaker counts it.
    pub fn record_exit(&mut self, pnl: f64, capital: f64) -> Result<(), ServiceError> {
        self.breaker.record_trade(pnl, capital)?;
        Ok(())
    }

    /// S §5.3 ⑧ after a bar: the posture cell compared (in place) with the day's posture; a
    /// change marks the day stale (once). Returns whether it became stale now.
    pub fn posture_check(&mut self, date: UtcDate, stats: &mut TraderStats) -> bool {
        if self.day_stale {
            return false;
        }
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
            stats.stale_state_events += 1;
            tracing::warn!(%date, ?posture_now, day = ?self.day_posture, "[STALE_STATE] posture changed during the day");
            return true;
        }
        false
    }
}
