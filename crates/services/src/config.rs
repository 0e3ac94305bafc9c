//! The services configuration (`configs/services.yml`, optional): cadences, retry policies
//! and timeouts of every service. Defaults are the seeds' figures (S §11: store probe 3 retries
//! with a 30 s timeout, day load 2 retries, store write 3 retries, engine run timeout 600 s;
//! B §16: ACB at 08:00, watchdog ~60 s, OB 500 ms; SPEC §8: heartbeats every 10 s of event time).

use crate::error::ServiceError;
use crate::schedule::Cadence;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Retries, backoff and timeout of one kind of work (S §11).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay (wall clock), doubled per retry up to `backoff_max_ms`.
    pub backoff_ms: u64,
    pub backoff_max_ms: u64,
    /// Wall-clock limit of one attempt.
    pub timeout_ms: u64,
}

impl RetryPolicy {
    pub const fn new(retries: u32, backoff_ms: u64, timeout_ms: u64) -> Self {
        Self {
            retries,
            backoff_ms,
            backoff_max_ms: 5_000,
            timeout_ms,
        }
    }
}

/// One service's schedule and policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Off = not started (shown as `disabled` in the plan and `services.json`).
    pub enabled: bool,
    /// `10s`, `60s`, a cron expression with seconds (UTC event time), or `never`.
    pub cadence: String,
    pub retry: RetryPolicy,
    /// Restarts allowed before the service is left down.
    pub max_restarts: u32,
}

impl ServiceSpec {
    fn new(cadence: &str, retry: RetryPolicy) -> Self {
        Self {
            enabled: true,
            cadence: cadence.into(),
            retry,
            max_restarts: 5,
        }
    }
}

/// HTTP sources of the external-factor producer (B §10.2). Empty URL = source off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FactorUrls {
    /// Binance USD-M `GET /fapi/v1/fundingRate` (BTCUSDT settlements).
    pub funding: String,
    /// Binance USD-M `GET /fapi/v1/premiumIndex` (recorded, not an ACB factor).
    pub premium_index: String,
    /// Deribit `GET /api/v2/public/get_volatility_index_data` (BTC DVOL, daily candles).
    pub dvol: String,
    /// alternative.me `GET /fng/` (Crypto Fear & Greed).
    pub fear_greed: String,
}

impl Default for FactorUrls {
    fn default() -> Self {
        Self {
            funding: "https://fapi.binance.com/fapi/v1/fundingRate".into(),
            premium_index: "https://fapi.binance.com/fapi/v1/premiumIndex".into(),
            dvol: "https://www.deribit.com/api/v2/public/get_volatility_index_data".into(),
            fear_greed: "https://api.alternative.me/fng/".into(),
        }
    }
}

/// The whole services configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// Heartbeat period of every service, event time (SPEC §8: 10 s).
    pub heartbeat: String,
    /// A heartbeat line goes to `heartbeats.jsonl` on a phase change and at most this often
    /// per service (event time); every heartbeat still goes to the store.
    pub heartbeat_log: String,
    pub store_probe: ServiceSpec,
    pub factors: ServiceSpec,
    /// ACB processor: the cadence is its fixed recompute (B §16.1: 08:00 UTC); it also runs at
    /// every date change and on new factor or scan data.
    pub acb: ServiceSpec,
    pub ob_stream: ServiceSpec,
    pub watchdog: ServiceSpec,
    pub mc: ServiceSpec,
    /// The trader's own policy: `retry` applies to day loads (S §11: 2 retries) and
    /// `timeout_ms` to one day's engine run (S §11: 600 s).
    pub trader: ServiceSpec,
    /// Retries of a store write (S §11 `write_hz_state`: 3).
    pub store_write: RetryPolicy,
    /// Wall-clock wait of the trader for the day's ACB value at a date change (SPEC §8).
    pub acb_wait_ms: u64,
    /// Wall-clock wait for the day's MC status at a date change.
    pub mc_wait_ms: u64,
    /// Polled external factors instead of (or, when both are given, before) the tables.
    pub factor_urls: FactorUrls,
    /// MC flow: refresh the envelope every day from the most recent `mc_refresh_days` days
    /// (0 = keep the model given with `--mc`).
    pub mc_refresh_days: usize,
    /// Paths of a daily refresh.
    pub mc_refresh_paths: usize,
    /// The watchdog's Cat3: read OB health from the shard maps (off when no OB stream runs;
    /// the sensor then counts as not installed, see docs/SERVICES.md).
    pub ob_required: bool,
    /// With the OB stream running (`dolphin serve --exchange-url`): the book is stale for the
    /// watchdog's Cat3 when its newest message (or the service's health) is older than this,
    /// wall ms (a stalled feed has no event time; docs/SERVICES.md, Watchdog).
    pub ob_stale_wall_ms: u64,
    /// The OB stream's first run waits at most this long (wall ms) for every book to be in
    /// sync before the watchdog's first reading.
    pub ob_ready_wait_ms: u64,
    /// With the OB stream running: Cat3 takes depth quality and fill probability from the
    /// shard maps (B §11.2). `false` reads only the book's health (fresh = 1.0, stale = 0.5):
    /// for a feed that is not the replayed market's (the chaos run's 2024 captures).
    pub ob_quality: bool,
    /// How long one Redis call retries on its own before it fails, ms (0 = the store's
    /// default, 2 s). The chaos run shortens it so that an outage costs the trader less
    /// wall time per call.
    pub store_retry_budget_ms: u64,
    /// Circuit-breaker limits (S §14); all off by default, as in the champion.
    pub circuit_breaker: dolphin_risk::CircuitBreakerConfig,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        let mut factors = ServiceSpec::new("0 0 * * * *", RetryPolicy::new(2, 200, 10_000));
        factors.enabled = false;
        let mut ob = ServiceSpec::new("500ms", RetryPolicy::new(3, 100, 5_000));
        ob.enabled = false;
        Self {
            heartbeat: "10s".into(),
            heartbeat_log: "1h".into(),
            store_probe: ServiceSpec::new("30s", RetryPolicy::new(3, 500, 30_000)),
            factors,
            acb: ServiceSpec::new("0 0 8 * * *", RetryPolicy::new(3, 100, 30_000)),
            ob_stream: ob,
            watchdog: ServiceSpec::new("60s", RetryPolicy::new(2, 100, 10_000)),
            mc: ServiceSpec::new("0 0 0 * * *", RetryPolicy::new(2, 100, 120_000)),
            trader: ServiceSpec::new("never", RetryPolicy::new(2, 200, 600_000)),
            store_write: RetryPolicy::new(3, 50, 10_000),
            acb_wait_ms: 5_000,
            mc_wait_ms: 5_000,
            factor_urls: FactorUrls::default(),
            mc_refresh_days: 0,
            mc_refresh_paths: 200,
            ob_required: false,
            ob_stale_wall_ms: 5_000,
            ob_ready_wait_ms: 4_000,
            ob_quality: true,
            store_retry_budget_ms: 0,
            circuit_breaker: dolphin_risk::CircuitBreakerConfig::default(),
        }
    }
}

impl ServicesConfig {
    /// Reads a YAML file (missing fields take the defaults) and checks every schedule.
    pub fn load(path: &Path) -> Result<Self, ServiceError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServiceError::io("read", path, e))?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// Parses YAML text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ServiceError> {
        let cfg: Self = serde_norway::from_str(text).map_err(|e| ServiceError::ServicesConfig {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        cfg.validate().map_err(|e| ServiceError::ServicesConfig {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Checks that every cadence parses and the breaker limits are valid.
    pub fn validate(&self) -> Result<(), ServiceError> {
        Cadence::parse(&self.heartbeat)?;
        Cadence::parse(&self.heartbeat_log)?;
        for s in [
            &self.store_probe,
            &self.factors,
            &self.acb,
            &self.ob_stream,
            &self.watchdog,
            &self.mc,
            &self.trader,
        ] {
            Cadence::parse(&s.cadence)?;
        }
        self.circuit_breaker.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_figures_and_yaml_overrides_fields() {
        let d = ServicesConfig::default();
        assert_eq!(d.store_probe.retry.retries, 3);
        assert_eq!(d.store_probe.retry.timeout_ms, 30_000);
        assert_eq!(d.trader.retry.retries, 2);
        assert_eq!(d.trader.retry.timeout_ms, 600_000);
        assert_eq!(d.store_write.retries, 3);
        assert_eq!(d.acb.cadence, "0 0 8 * * *");
        d.validate().unwrap();
        let c = ServicesConfig::from_yaml("watchdog:\n  enabled: true\n  cadence: 30s\n  retry: {retries: 1, backoff_ms: 10, backoff_max_ms: 20, timeout_ms: 100}\n  max_restarts: 1\n", "t").unwrap();
        assert_eq!(c.watchdog.cadence, "30s");
        assert_eq!(c.acb, d.acb);
        let e = ServicesConfig::from_yaml("heartbeat: 10q\n", "t.yml").unwrap_err();
        assert!(
            e.to_string().contains("t.yml") && e.to_string().contains("10q"),
            "{e}"
        );
        // Issue 14 item 1, configs: an unknown key or a bad value is refused, file and key named.
        let e = ServicesConfig::from_yaml("nope: 1\n", "t.yml").unwrap_err();
        assert!(
            e.to_string().contains("t.yml") && e.to_string().contains("`nope`"),
            "{e}"
        );
        let e = ServicesConfig::from_yaml("trader:\n  cadence: 1m\n  colour: red\n", "t.yml")
            .unwrap_err();
        assert!(e.to_string().contains("`colour`"), "{e}");
        let e = ServicesConfig::from_yaml("acb_wait_ms: soon\n", "t.yml").unwrap_err();
        assert!(e.to_string().contains("acb_wait_ms"), "{e}");
    }

    /// The shipped `configs/services.yml` documents the defaults: it must be them, field for
    /// field (a default changed in the code and not in the file, or the reverse, fails here).
    #[test]
    fn shipped_services_yml_is_the_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/services.yml");
        let shipped = ServicesConfig::load(&path).unwrap();
        assert_eq!(shipped, ServicesConfig::default());
        // The benchmark's floor configuration (crates/dolphin/examples/serve_bench.sh FLOOR=1)
        // loads and switches off exactly the per-bar work.
        let floor =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../dolphin/examples/serve_floor.yml");
        let floor = ServicesConfig::load(&floor).unwrap();
        assert!(!floor.watchdog.enabled);
        assert_eq!(
            (floor.heartbeat.as_str(), floor.store_probe.cadence.as_str()),
            ("24h", "0 0 0 * * *")
        );
        assert_eq!(floor.acb, ServicesConfig::default().acb);
    }
}
