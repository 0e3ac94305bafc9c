//! The ACB processor service (B §16.1, SPEC §8): computes ACBv6's `{boost, beta}` for the
//! current date and publishes it to `DOLPHIN_FEATURES["acb_boost"]` behind the store's fenced
//! lock (single writer, B §15.4).
//!
//! When it runs (event time): at every date change (so the day's value is in the store before
//! the trader steps the first bar of the day), at its fixed recompute (08:00 UTC), when new
//! external factors for the date arrive (the factor producer's `FactorsChanged`), and when the
//! date's w750 becomes known (after its first 10 scans). It publishes at a date change and
//! whenever the value changed.
//!
//! Inputs, no look-ahead: factors "known at D 00:00" (SPEC §8) from the indicator/funding
//! tables and the polled `DOLPHIN_FEATURES["external_factors"]` (a polled field overrides the
//! table's); w750 of D = median of the first 10 finite `v750_lambda_max_velocity` of D's scans
//! as they arrive, so at 00:00 beta is 0 (unknown, SPEC §5) until the 10th scan; the threshold
//! is the 60th percentile of every date's w750 known by then. The w750 history is kept in
//! `DOLPHIN_FEATURES["acb_w750"]` with the time each became known, so a restarted processor
//! picks up exactly what it knew; dates the store lost (a restore from an older snapshot) are
//! rebuilt from the replay's day files (`crate::w750_rebuild`).

use crate::error::ServiceError;
use crate::schedule::{Cadence, EventMs};
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use dolphin_core::{ExternalFactors, UtcDate, date_of_ms};
use dolphin_risk::{AcbConfig, base_boost, dynamic_beta, factor_signals, percentile_linear};
use dolphin_store::schema::{AcbBoostValue, DOLPHIN_FEATURES, KEY_ACB_BOOST, to_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Key of the polled external factors in DOLPHIN_FEATURES (written by the factor producer).
pub const KEY_EXTERNAL_FACTORS: &str = "external_factors";
/// Key of the ACB processor's w750 history in DOLPHIN_FEATURES.
pub const KEY_ACB_W750: &str = "acb_w750";

/// One date's w750 and the event time it became known.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct W750Known {
    pub w750: Option<f64>,
    pub known_ms: EventMs,
}

/// Where the processor reads factor tables (the `--indicators` / `--funding` folders).
#[derive(Debug, Clone, Default)]
pub struct AcbInputs {
    pub indicators: Option<PathBuf>,
    pub funding: Option<PathBuf>,
    /// The replay's day files: a w750 the store lost is rebuilt from them (w750_rebuild.rs).
    pub days: Vec<(UtcDate, PathBuf)>,
}

pub struct AcbProcessor {
    cfg: AcbConfig,
    tables: BTreeMap<UtcDate, ExternalFactors>,
    inputs: AcbInputs,
    fixed: Cadence,
    midnight: Cadence,
    date: Option<UtcDate>,
    scans_today: Vec<f64>,
    w750: BTreeMap<UtcDate, W750Known>,
    trigger: Option<EventMs>,
    next_fixed: Option<EventMs>,
    next_day: Option<EventMs>,
    last: Option<(UtcDate, u64, u64)>,
    seq: u64,
    w750_dirty: bool,
}

impl AcbProcessor {
    pub const NAME: &'static str = "acb";

    /// Loads the tables, restores what the store says was known at `t` and schedules an
    /// immediate first publication (B §16.6: the boost is there before the trader starts).
    pub fn start(ctx: &Ctx, t: EventMs, inputs: &AcbInputs) -> Result<Self, ServiceError> {
        let tables = dolphin_data::load_external_factors(
            inputs.indicators.as_deref(),
            inputs.funding.as_deref(),
        )?;
        let fixed = Cadence::parse(&ctx.cfg.acb.cadence)?;
        let midnight = Cadence::parse("0 0 0 * * *")?;
        let mut w750 = BTreeMap::new();
        if let Some(json) = ctx.store.get(DOLPHIN_FEATURES, KEY_ACB_W750)? {
            let all: BTreeMap<UtcDate, W750Known> =
                dolphin_store::schema::from_json(DOLPHIN_FEATURES, KEY_ACB_W750, &json)?;
            w750 = all.into_iter().filter(|(_, k)| k.known_ms <= t).collect();
        }
        let rebuilt = crate::w750_rebuild::rebuild_missing(&mut w750, &inputs.days, t);
        if !rebuilt.is_empty() {
            tracing::warn!(dates = ?rebuilt, "w750 history missing from the store: rebuilt from the day files");
        }
        let seq = match ctx.store.get(DOLPHIN_FEATURES, KEY_ACB_BOOST)? {
            Some(json) => match serde_json::from_str::<AcbBoostValue>(&json)
                .ok()
                .and_then(|v| v.extra.get("seq").and_then(|s| s.as_u64()))
            {
                Some(seq) => seq,
                None => {
                    // Not silent: the next publication overwrites the value, counting from 0.
                    tracing::warn!(
                        map = DOLPHIN_FEATURES,
                        key = KEY_ACB_BOOST,
                        "stored ACB value unreadable or without `seq`: publications count from 0"
                    );
                    0
                }
            },
            None => 0,
        };
        Ok(Self {
            cfg: AcbConfig::default(),
            tables,
            inputs: inputs.clone(),
            next_fixed: fixed.at_or_after(t),
            next_day: midnight.next_after(t),
            fixed,
            midnight,
            date: None,
            scans_today: Vec::new(),
            w750,
            trigger: Some(t),
            last: None,
            seq,
            w750_dirty: !rebuilt.is_empty(),
        })
    }

    fn factors(&self, ctx: &Ctx, date: UtcDate) -> Result<ExternalFactors, ServiceError> {
        let mut f = self
            .tables
            .get(&date)
            .copied()
            .unwrap_or(ExternalFactors::absent(date));
        if let Some(json) = ctx.store.get(DOLPHIN_FEATURES, KEY_EXTERNAL_FACTORS)? {
            let p: ExternalFactors =
                dolphin_store::schema::from_json(DOLPHIN_FEATURES, KEY_EXTERNAL_FACTORS, &json)?;
            if p.date == date {
                f.funding_btc = p.funding_btc.or(f.funding_btc);
                f.dvol_btc = p.dvol_btc.or(f.dvol_btc);
                f.fng = p.fng.or(f.fng);
                f.taker = p.taker.or(f.taker);
            }
        }
        Ok(f)
    }

    fn publish(
        &mut self,
        ctx: &Ctx,
        t: EventMs,
        date: UtcDate,
        value: AcbBoostValue,
    ) -> Result<(), ServiceError> {
        let json = to_json(DOLPHIN_FEATURES, KEY_ACB_BOOST, &value)?;
        let store = ctx.store.clone();
        let token = store
            .lock(
                DOLPHIN_FEATURES,
                Duration::from_secs(30),
                Duration::from_secs(5),
            )?
            .ok_or_else(|| {
                ServiceError::service(Self::NAME, "the DOLPHIN_FEATURES lock stayed held for 5 s")
            })?;
        let res = store.put_fenced(&token, KEY_ACB_BOOST, &json);
        let _ = store.unlock(&token);
        res?;
        tracing::info!(service = Self::NAME, %date, at = %crate::schedule::iso(t), boost = value.boost, beta = value.beta, seq = self.seq, "published");
        metrics::gauge!("dolphin_acb_boost").set(value.boost);
        metrics::gauge!("dolphin_acb_beta").set(value.beta);
        Ok(())
    }
}

impl Service for AcbProcessor {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn next_due(&self) -> Option<EventMs> {
        [self.trigger, self.next_fixed, self.next_day]
            .into_iter()
            .flatten()
            .min()
    }

    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move {
            let date = date_of_ms(t);
            let new_day = self.date != Some(date);
            if new_day {
                self.date = Some(date);
                self.scans_today.clear();
            }
            if self.w750_dirty {
                save_w750(ctx, &self.w750)?;
                self.w750_dirty = false;
            }
            let f = self.factors(ctx, date)?;
            let signals = factor_signals(&f, &self.cfg);
            let boost = base_boost(signals.total(), &self.cfg);
            let w = self.w750.get(&date).and_then(|k| k.w750);
            let known: Vec<f64> = self.w750.values().filter_map(|k| k.w750).collect();
            let threshold = percentile_linear(&known, self.cfg.w750_threshold_pct);
            let beta = dynamic_beta(w, threshold, &self.cfg);
            let key = (date, boost.to_bits(), beta.to_bits());
            let mut events = Vec::new();
            if new_day || self.last.is_none_or(|l| l != key) {
                self.seq += 1;
                let mut extra = dolphin_store::schema::Extra::new();
                extra.insert("date".into(), serde_json::json!(date));
                extra.insert("seq".into(), serde_json::json!(self.seq));
                extra.insert("ts_ms".into(), serde_json::json!(t));
                extra.insert("signals".into(), serde_json::json!(signals.total()));
                extra.insert(
                    "factors".into(),
                    serde_json::to_value(f).unwrap_or_default(),
                );
                extra.insert("w750".into(), serde_json::json!(w));
                extra.insert("w750_threshold".into(), serde_json::json!(threshold));
                let value = AcbBoostValue { boost, beta, extra };
                self.publish(ctx, t, date, value)?;
                self.last = Some(key);
                events.push(BusEvent::AcbPublished {
                    seq: self.seq,
                    date,
                });
            }
            self.trigger = None;
            self.next_fixed = self.fixed.next_after(t);
            self.next_day = self.midnight.next_after(t);
            Ok(events)
        })
    }

    fn on_event(&mut self, ev: &BusEvent, t: EventMs) {
        match ev {
            BusEvent::Scan { ts, date, v750 } if self.date == Some(*date) => {
                let rows = self.cfg.w750_first_rows;
                if self.scans_today.len() < rows {
                    self.scans_today.push(*v750);
                    if self.scans_today.len() == rows {
                        let w = dolphin_risk::w750_of_first_rows(&self.scans_today, rows);
                        self.w750.insert(
                            *date,
                            W750Known {
                                w750: w,
                                known_ms: *ts,
                            },
                        );
                        self.w750_dirty = true;
                        self.trigger = Some(*ts);
                    }
                }
            }
            BusEvent::FactorsChanged { date } if self.date == Some(*date) => {
                self.trigger = Some(t);
            }
            _ => {}
        }
    }

    fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "factor tables: indicators {}, funding {} ({} dates)",
                self.inputs
                    .indicators
                    .as_ref()
                    .map_or("none".into(), |p| p.display().to_string()),
                self.inputs
                    .funding
                    .as_ref()
                    .map_or("none".into(), |p| p.display().to_string()),
                self.tables.len()
            ),
            format!(
                "at every date change, {}, on new factors and on the 10th scan of a date",
                self.fixed.describe()
            ),
            "writes DOLPHIN_FEATURES[\"acb_boost\"] under the fenced lock".into(),
        ]
    }
}

/// Persists the w750 history (called by the processor after a new w750; kept separate so the
/// run path stays readable).
pub fn save_w750(ctx: &Ctx, w750: &BTreeMap<UtcDate, W750Known>) -> Result<(), ServiceError> {
    let json = to_json(DOLPHIN_FEATURES, KEY_ACB_W750, w750)?;
    ctx.store.put(DOLPHIN_FEATURES, KEY_ACB_W750, &json)?;
    Ok(())
}
