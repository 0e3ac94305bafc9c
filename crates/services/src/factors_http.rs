//! The external-factor producer (B §10.2, SPEC §8 "known at D 00:00"): polls HTTP sources with
//! configurable URLs and publishes the date's factors to `DOLPHIN_FEATURES["external_factors"]`
//! for the ACB processor, which recomputes when they change.
//!
//! Every request is bounded by the event time, so a replay never sees the future:
//! * funding — Binance USD-M `GET fundingRate?symbol=BTCUSDT&endTime=<D 00:00:00.999>&limit=1`
//!   (`[{"fundingTime", "fundingRate"}]`): the newest settlement at most 24 h old;
//! * DVOL — Deribit `GET get_volatility_index_data?currency=BTC&resolution=1D&start_timestamp=
//!   <D−1 00:00>&end_timestamp=<D 00:00 − 1>` (`{"result":{"data":[[ts,o,h,l,c],…]}}`): the
//!   close of the candle dated D−1;
//! * Fear & Greed — alternative.me `GET fng/?limit=0` (`{"data":[{"value","timestamp"}]}`):
//!   the value dated D.
//!
//! The premium index has no time parameter (a live-only value) and is not an ACB factor: it is
//! not polled. Runs at start, at every date change and on its cadence (default hourly).

use crate::config::FactorUrls;
use crate::error::ServiceError;
use crate::schedule::{Cadence, EventMs};
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use dolphin_core::{ExternalFactors, UtcDate, date_of_ms};
use dolphin_store::schema::{DOLPHIN_FEATURES, to_json};
use std::time::Duration;

use crate::acb_processor::KEY_EXTERNAL_FACTORS;

const DAY_MS: i64 = 86_400_000;

pub struct FactorPoller {
    urls: FactorUrls,
    client: reqwest::Client,
    cadence: Cadence,
    midnight: Cadence,
    next: Option<EventMs>,
    next_day: Option<EventMs>,
    trigger: Option<EventMs>,
    last: Option<ExternalFactors>,
}

impl FactorPoller {
    pub const NAME: &'static str = "factors";

    pub fn start(ctx: &Ctx, t: EventMs, urls: &FactorUrls) -> Result<Self, ServiceError> {
        let cadence = Cadence::parse(&ctx.cfg.factors.cadence)?;
        let midnight = Cadence::parse("0 0 0 * * *")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(ctx.cfg.factors.retry.timeout_ms))
            .build()
            .map_err(|e| ServiceError::Http {
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(Self {
            urls: urls.clone(),
            client,
            next: cadence.next_after(t),
            next_day: midnight.next_after(t),
            cadence,
            midnight,
            trigger: Some(t),
            last: None,
        })
    }

    async fn get_json(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<serde_json::Value, ServiceError> {
        let err = |m: String| ServiceError::Http {
            url: url.to_string(),
            message: m,
        };
        let resp = self
            .client
            .get(url)
            .query(query)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("status {}", resp.status())));
        }
        resp.json().await.map_err(|e| err(e.to_string()))
    }

    /// The factors of `date` as known at its 00:00 (module doc).
    pub async fn poll(&self, date: UtcDate) -> Result<ExternalFactors, ServiceError> {
        let start = date.start_ms();
        let mut f = ExternalFactors::absent(date);
        if !self.urls.funding.is_empty() {
            let v = self
                .get_json(
                    &self.urls.funding,
                    &[
                        ("symbol", "BTCUSDT".into()),
                        ("endTime", (start + 999).to_string()),
                        ("limit", "1".into()),
                    ],
                )
                .await?;
            f.funding_btc = v.as_array().and_then(|a| a.last()).and_then(|e| {
                let t = e["fundingTime"].as_i64()?;
                let r = num(&e["fundingRate"])?;
                (t <= start + 999 && t >= start - DAY_MS).then_some(r)
            });
        }
        if !self.urls.dvol.is_empty() {
            let prev = start - DAY_MS;
            let v = self
                .get_json(
                    &self.urls.dvol,
                    &[
                        ("currency", "BTC".into()),
                        ("resolution", "1D".into()),
                        ("start_timestamp", prev.to_string()),
                        ("end_timestamp", (start - 1).to_string()),
                    ],
                )
                .await?;
            f.dvol_btc = v["result"]["data"].as_array().and_then(|rows| {
                rows.iter().find_map(|r| {
                    let a = r.as_array()?;
                    (a.first()?.as_i64()? == prev)
                        .then(|| num(a.get(4)?))
                        .flatten()
                })
            });
        }
        if !self.urls.fear_greed.is_empty() {
            let v = self
                .get_json(&self.urls.fear_greed, &[("limit", "0".into())])
                .await?;
            f.fng = v["data"].as_array().and_then(|rows| {
                rows.iter().find_map(|r| {
                    let ts = num(&r["timestamp"])? as i64 * 1000;
                    (date_of_ms(ts) == date).then(|| num(&r["value"])).flatten()
                })
            });
        }
        Ok(f)
    }
}

/// A JSON number or a numeric string.
fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|x: &f64| x.is_finite())
}

impl Service for FactorPoller {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn next_due(&self) -> Option<EventMs> {
        [self.trigger, self.next, self.next_day]
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
            let f = self.poll(date).await?;
            let mut events = Vec::new();
            if self.last != Some(f) {
                let json = to_json(DOLPHIN_FEATURES, KEY_EXTERNAL_FACTORS, &f)?;
                ctx.store
                    .put(DOLPHIN_FEATURES, KEY_EXTERNAL_FACTORS, &json)?;
                self.last = Some(f);
                events.push(BusEvent::FactorsChanged { date });
            }
            self.trigger = None;
            self.next = self.cadence.next_after(t);
            self.next_day = self.midnight.next_after(t);
            Ok(events)
        })
    }
    fn describe(&self) -> Vec<String> {
        vec![format!(
            "funding {}, dvol {}, fear&greed {}",
            self.urls.funding, self.urls.dvol, self.urls.fear_greed
        )]
    }
}
