//! The per-symbol OB feature dict written to `DOLPHIN_FEATURES_SHARD_00..09[SYMBOL]` (S §10,
//! §16; B §15.1 shard rule), and the book-health value for the watchdog
//! (`DOLPHIN_FEATURES["ob_health"]`). Field names are the feature names of
//! docs/OB_FEATURES.md; `prev_depth_1pct` is `null` when there was no previous sample.

use dolphin_orderbook::{AssetFeatures, FeatureRow, MacroFeatures};
use serde::{Deserialize, Serialize};

/// Key of the OB stream's book health in `DOLPHIN_FEATURES`.
pub const KEY_OB_HEALTH: &str = "ob_health";
/// Heartbeat name of the OB stream service in `DOLPHIN_HEARTBEAT`.
pub const HEARTBEAT_NAME: &str = "ob_stream";

/// One symbol's OB features at one sample (S §10 "JSON OB feature dict").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObFeatureValue {
    pub symbol: String,
    /// Sample time on the exchange clock, ms (a multiple of the 500 ms cadence).
    pub ts: i64,
    pub mid_price: f64,
    pub imbalance: f64,
    pub imbalance_ma5: f64,
    pub imbalance_persistence: f64,
    pub withdrawal_velocity: f64,
    pub depth_quality: f64,
    pub fill_probability: f64,
    pub fill_probability_bid: f64,
    pub fill_probability_ask: f64,
    pub spread_proxy_bps: f64,
    pub depth_1pct: f64,
    pub depth_median_1pct: f64,
    pub prev_depth_1pct: Option<f64>,
    pub bid_notional: [f64; 5],
    pub ask_notional: [f64; 5],
    pub bid_depth: [f64; 5],
    pub ask_depth: [f64; 5],
    /// Market-wide features of the same sample (B §9.2).
    pub market: MacroFeatures,
}

impl From<&FeatureRow> for ObFeatureValue {
    fn from(r: &FeatureRow) -> Self {
        let f = &r.features;
        ObFeatureValue {
            symbol: r.asset.clone(),
            ts: r.sample_ms,
            mid_price: f.mid_price,
            imbalance: f.imbalance,
            imbalance_ma5: f.imbalance_ma5,
            imbalance_persistence: f.imbalance_persistence,
            withdrawal_velocity: f.withdrawal_velocity,
            depth_quality: f.depth_quality,
            fill_probability: f.fill_probability,
            fill_probability_bid: f.fill_probability_bid,
            fill_probability_ask: f.fill_probability_ask,
            spread_proxy_bps: f.spread_proxy_bps,
            depth_1pct: f.depth_1pct,
            depth_median_1pct: f.depth_median_1pct,
            prev_depth_1pct: f.prev_depth_1pct.is_finite().then_some(f.prev_depth_1pct),
            bid_notional: f.bid_notional,
            ask_notional: f.ask_notional,
            bid_depth: f.bid_depth,
            ask_depth: f.ask_depth,
            market: r.market,
        }
    }
}

impl ObFeatureValue {
    /// Back to the feature engine's types.
    pub fn features(&self) -> AssetFeatures {
        AssetFeatures {
            mid_price: self.mid_price,
            imbalance: self.imbalance,
            imbalance_ma5: self.imbalance_ma5,
            imbalance_persistence: self.imbalance_persistence,
            withdrawal_velocity: self.withdrawal_velocity,
            depth_quality: self.depth_quality,
            fill_probability: self.fill_probability,
            fill_probability_bid: self.fill_probability_bid,
            fill_probability_ask: self.fill_probability_ask,
            spread_proxy_bps: self.spread_proxy_bps,
            depth_1pct: self.depth_1pct,
            depth_median_1pct: self.depth_median_1pct,
            prev_depth_1pct: self.prev_depth_1pct.unwrap_or(f64::NAN),
            bid_notional: self.bid_notional,
            ask_notional: self.ask_notional,
            bid_depth: self.bid_depth,
            ask_depth: self.ask_depth,
        }
    }
}

/// Book health of the OB stream service (`DOLPHIN_FEATURES["ob_health"]`), for the
/// watchdog's OB-quality sensor. Counts are totals since the service started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObHealthValue {
    /// Exchange event time of this report, ms.
    pub ts: i64,
    /// A websocket connection is open.
    pub connected: bool,
    /// Symbols configured.
    pub books_total: u32,
    /// Books in sync now.
    pub books_synced: u32,
    /// Books whose newest depth update is older than the staleness limit (or not synced).
    pub books_stale: u32,
    /// Sequence gaps detected (`pu` ≠ previous `u`).
    pub gaps: u64,
    /// Snapshots loaded after a symbol's first.
    pub resyncs: u64,
    /// Websocket (re)connections after the first.
    pub reconnects: u64,
    /// Frames that could not be used (malformed, truncated, unknown event, binary).
    pub bad_messages: u64,
    /// Depth updates older than the book (dropped).
    pub dropped_updates: u64,
    /// Feature samples suppressed because the book was stale.
    pub stale_samples: u64,
    /// Feature dicts written to the shard maps.
    pub published: u64,
    /// REST snapshot requests refused (429/418/5xx or transport errors).
    pub rest_errors: u64,
    /// Messages processed.
    pub messages: u64,
    /// Exchange-time seconds during which books were not synced (summed over symbols).
    pub stale_seconds: f64,
    /// Applied diffs checked against bookTicker (SPEC §7) and the mismatches among them.
    pub ticker_checked: u64,
    pub ticker_mismatches: u64,
    /// Wall clock (Unix ms) when this report was written: the service's own liveness (it
    /// writes at least once a second while it runs, also when no message arrives).
    #[serde(default)]
    pub wall_ms: i64,
    /// Wall clock (Unix ms) of the newest market message; 0 = none yet. `wall_ms −
    /// last_message_wall_ms` is how long the feed has been silent — a stalled feed sends no
    /// event time, so its staleness is measured on the wall clock (docs/SERVICES.md, Cat3).
    #[serde(default)]
    pub last_message_wall_ms: i64,
    /// Wall clock (Unix ms) of the newest feature dict written to a shard map; 0 = none yet.
    #[serde(default)]
    pub last_publish_wall_ms: i64,
    /// Wall time from losing the connection to the last reconnect, ms (0 = none yet).
    #[serde(default)]
    pub last_reconnect_wait_ms: u64,
}

/// Unix milliseconds of the wall clock now.
pub fn wall_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly_with_nan_as_null() {
        let mut f = AssetFeatures {
            mid_price: 61800.25,
            imbalance: 0.1 + 0.2,
            depth_quality: 1.0 / 3.0,
            prev_depth_1pct: f64::NAN,
            ..AssetFeatures::default()
        };
        f.bid_notional[2] = 1234567.891011;
        let row = FeatureRow {
            sample_ms: 1_723_161_257_000,
            asset: "BTCUSDT".into(),
            features: f,
            market: MacroFeatures {
                n_assets: 2,
                regime_signal: -1,
                macro_imbalance: -0.0625,
                ..MacroFeatures::default()
            },
        };
        let v = ObFeatureValue::from(&row);
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"prev_depth_1pct\":null"), "{json}");
        let back: ObFeatureValue = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        let g = back.features();
        assert_eq!(g.imbalance.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(g.depth_quality.to_bits(), (1.0f64 / 3.0).to_bits());
        assert!(g.prev_depth_1pct.is_nan());
        assert_eq!(back.market, row.market);
    }
}
