//! The MC-Forewarner flow (B §16.4, §12): once a day at 00:00 UTC event time it assesses the
//! running configuration — `max_leverage = base × the day's ACB boost`, as the engine's own
//! gate does (B §12) — against the envelope and publishes OK / ORANGE / RED with the report to
//! `DOLPHIN_FEATURES["mc_forewarner"]`. The trader applies it at `begin_day` (ORANGE → size
//! × 0.5, RED → no new entries).
//!
//! The envelope: the model given with `--mc`, or, with `mc_refresh_days: N`, a fresh Monte
//! Carlo (`dolphin_risk::simulate`, `mc_refresh_paths` paths) over the most recent N closed day
//! files, redone every day before the assessment (until N days have closed, the `--mc` model,
//! if any, answers; without one the status is OK by an empty envelope = not installed).

use crate::error::ServiceError;
use crate::schedule::{Cadence, EventMs};
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use dolphin_core::{UtcDate, date_of_ms};
use dolphin_engine::{McForewarner, McReport, McStatus};
use dolphin_risk::{DolphinForewarner, EnvelopeModel, McConfig, simulate};
use dolphin_store::schema::{AcbBoostValue, DOLPHIN_FEATURES, KEY_ACB_BOOST, to_json};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;

/// Key of the MC status in DOLPHIN_FEATURES.
pub const KEY_MC_FOREWARNER: &str = "mc_forewarner";

/// What the flow publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McPublication {
    pub date: UtcDate,
    pub status: McStatus,
    pub catastrophic_probability: f64,
    pub envelope_score: f64,
    /// `max_leverage` of the assessed config.
    pub max_leverage: f64,
    pub ts_ms: EventMs,
    /// `file` or `refresh:<N> days`.
    pub envelope: String,
}

impl McPublication {
    pub fn report(&self) -> McReport {
        McReport {
            catastrophic_probability: self.catastrophic_probability,
            envelope_score: self.envelope_score,
        }
    }
}

pub struct McFlow {
    cadence: Cadence,
    next: Option<EventMs>,
    model: Option<DolphinForewarner>,
    model_path: Option<PathBuf>,
    recent: VecDeque<PathBuf>,
    refreshed: Option<DolphinForewarner>,
}

impl McFlow {
    pub const NAME: &'static str = "mc";

    pub fn start(ctx: &Ctx, t: EventMs, model: Option<&PathBuf>) -> Result<Self, ServiceError> {
        let cadence = Cadence::parse(&ctx.cfg.mc.cadence)?;
        let fw = model.map(|p| DolphinForewarner::load(p)).transpose()?;
        Ok(Self {
            next: cadence.at_or_after(t),
            cadence,
            model: fw,
            model_path: model.cloned(),
            recent: VecDeque::new(),
            refreshed: None,
        })
    }

    fn refresh(&mut self, ctx: &Ctx) -> Result<(), ServiceError> {
        let n = ctx.cfg.mc_refresh_days;
        if n == 0 || self.recent.len() < n {
            return Ok(());
        }
        let mut frames = Vec::with_capacity(n);
        for p in self.recent.iter().skip(self.recent.len() - n) {
            frames.push(dolphin_data::read_day_file(p)?);
        }
        let mc = McConfig {
            paths: ctx.cfg.mc_refresh_paths,
            ..McConfig::default()
        };
        let run = simulate(&frames, &ctx.engine, &mc)?;
        self.refreshed = Some(DolphinForewarner::new(EnvelopeModel::from_run(&run))?);
        Ok(())
    }
}

impl Service for McFlow {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn next_due(&self) -> Option<EventMs> {
        self.next
    }
    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move {
            let date = date_of_ms(t);
            self.refresh(ctx)?;
            // The day's boost as the ACB processor published it in this tick (it runs first).
            let boost = match ctx.store.get(DOLPHIN_FEATURES, KEY_ACB_BOOST)? {
                Some(j) => {
                    let v: AcbBoostValue =
                        dolphin_store::schema::from_json(DOLPHIN_FEATURES, KEY_ACB_BOOST, &j)?;
                    let same_day = v.extra.get("date").and_then(|d| d.as_str())
                        == Some(date.to_string().as_str());
                    if same_day { v.boost } else { 1.0 }
                }
                None => 1.0,
            };
            let mut cfg = (*ctx.engine).clone();
            cfg.max_leverage = ctx.engine.max_leverage * boost;
            let (report, envelope) = match (&self.refreshed, &self.model) {
                (Some(r), _) => (
                    r.assess(&cfg),
                    format!("refresh:{} days", ctx.cfg.mc_refresh_days),
                ),
                (None, Some(m)) => (m.assess(&cfg), "file".to_string()),
                (None, None) => (crate::trader_core::HEALTHY_MC, "none".to_string()),
            };
            let status = McStatus::classify(&report, &ctx.engine);
            let publication = McPublication {
                date,
                status,
                catastrophic_probability: report.catastrophic_probability,
                envelope_score: report.envelope_score,
                max_leverage: cfg.max_leverage,
                ts_ms: t,
                envelope,
            };
            let json = to_json(DOLPHIN_FEATURES, KEY_MC_FOREWARNER, &publication)?;
            ctx.store.put(DOLPHIN_FEATURES, KEY_MC_FOREWARNER, &json)?;
            tracing::info!(service = Self::NAME, %date, status = status.as_str(), "published");
            self.next = self.cadence.next_after(t);
            Ok(vec![BusEvent::McPublished { date }])
        })
    }
    fn on_event(&mut self, ev: &BusEvent, _t: EventMs) {
        if let BusEvent::DayClosed { path, .. } = ev {
            self.recent.push_back(path.clone());
            while self.recent.len() > 64 {
                self.recent.pop_front();
            }
        }
    }
    fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "envelope: {}",
                self.model_path
                    .as_ref()
                    .map_or("none (status OK, not installed)".into(), |p| p
                        .display()
                        .to_string())
            ),
            format!(
                "{}; writes DOLPHIN_FEATURES[\"mc_forewarner\"]",
                self.cadence.describe()
            ),
        ]
    }
}
