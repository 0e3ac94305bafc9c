//! Configuration of the OB stream service (B §16.2; issue 12 item 2), serde + YAML.

use dolphin_orderbook::FeatureConfig;
use serde::{Deserialize, Serialize};

/// How the OB stream service connects and when it calls a book stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObStreamConfig {
    /// REST base URL, e.g. `https://fapi.binance.com` or the local exchange `http://127.0.0.1:PORT`.
    pub rest_url: String,
    /// Websocket base URL, e.g. `wss://fstream.binance.com` or `ws://127.0.0.1:PORT`.
    pub ws_url: String,
    /// Binance USD-M symbols (upper case).
    pub symbols: Vec<String>,
    /// Depth stream suffix: `depth@100ms` (documented), `depth@0ms` (as recorded), `depth@250ms`, ...
    pub depth_stream: String,
    /// Trade stream suffix: `aggTrade` or `trade`.
    pub trade_stream: String,
    /// Also subscribe `bookTicker` (the SPEC §7 check of every applied diff).
    pub book_ticker: bool,
    /// Levels per REST snapshot (Binance: 5, 10, 20, 50, 100, 500, 1000).
    pub snapshot_limit: u32,
    /// A book whose newest depth update is older than this (event time) publishes nothing, ms.
    pub stale_after_ms: i64,
    /// No frame for this long (wall time) means the stream stalled: reconnect, ms.
    pub silence_timeout_ms: u64,
    /// First reconnect delay, ms; doubles per failed attempt ...
    pub backoff_initial_ms: u64,
    /// ... up to this bound, ms.
    pub backoff_max_ms: u64,
    /// Longest wait honoured from a `Retry-After` (429/418), ms.
    pub retry_after_max_ms: u64,
    /// A held snapshot is applied when the stream reaches its `E`, or after this wall time, ms.
    pub snapshot_hold_ms: u64,
    /// Hold (queue) the stream while a snapshot is in flight, at most `snapshot_hold_ms`.
    pub hold_stream_for_snapshot: bool,
    /// Heartbeat period of event time, ms (SPEC §8: 10 s).
    pub heartbeat_ms: i64,
    /// Feature engine settings (500 ms cadence etc.; docs/OB_FEATURES.md).
    pub features: FeatureConfig,
}

impl Default for ObStreamConfig {
    fn default() -> Self {
        ObStreamConfig {
            rest_url: "https://fapi.binance.com".into(),
            ws_url: "wss://fstream.binance.com".into(),
            symbols: Vec::new(),
            depth_stream: "depth@100ms".into(),
            trade_stream: "aggTrade".into(),
            book_ticker: true,
            snapshot_limit: 1000,
            stale_after_ms: 5_000,
            silence_timeout_ms: 10_000,
            backoff_initial_ms: 250,
            backoff_max_ms: 10_000,
            retry_after_max_ms: 60_000,
            snapshot_hold_ms: 2_000,
            hold_stream_for_snapshot: true,
            heartbeat_ms: 10_000,
            features: FeatureConfig::default(),
        }
    }
}

impl ObStreamConfig {
    /// The combined-stream URL `WS/stream?streams=a/b/c`.
    pub fn stream_url(&self) -> String {
        let mut streams = Vec::new();
        for s in &self.symbols {
            let l = s.to_ascii_lowercase();
            streams.push(format!("{l}@{}", self.depth_stream));
            if self.book_ticker {
                streams.push(format!("{l}@bookTicker"));
            }
            if !self.trade_stream.is_empty() {
                streams.push(format!("{l}@{}", self.trade_stream));
            }
        }
        format!(
            "{}/stream?streams={}",
            self.ws_url.trim_end_matches('/'),
            streams.join("/")
        )
    }

    /// The REST snapshot URL of `symbol`.
    pub fn depth_url(&self, symbol: &str) -> String {
        format!(
            "{}/fapi/v1/depth?symbol={symbol}&limit={}",
            self.rest_url.trim_end_matches('/'),
            self.snapshot_limit
        )
    }

    /// Reconnect delay before attempt `n` (0-based): `initial·2ⁿ`, at most `backoff_max_ms`.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        self.backoff_initial_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.backoff_max_ms)
    }

    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.symbols.is_empty() {
            return Err("symbols: at least one symbol is needed".into());
        }
        if let Some(s) = self.symbols.iter().find(|s| {
            s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        }) {
            return Err(format!(
                "symbols: `{s}` is not a Binance USD-M symbol (e.g. BTCUSDT)"
            ));
        }
        if ![5, 10, 20, 50, 100, 500, 1000].contains(&self.snapshot_limit) {
            return Err(format!(
                "snapshot_limit: {} is not one of 5, 10, 20, 50, 100, 500, 1000",
                self.snapshot_limit
            ));
        }
        if !self.depth_stream.starts_with("depth") {
            return Err(format!(
                "depth_stream: `{}` is not a depth stream",
                self.depth_stream
            ));
        }
        if self.backoff_initial_ms == 0 || self.backoff_max_ms < self.backoff_initial_ms {
            return Err("backoff_initial_ms must be > 0 and ≤ backoff_max_ms".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_backoff_and_validation() {
        let c = ObStreamConfig {
            ws_url: "ws://127.0.0.1:9/".into(),
            rest_url: "http://127.0.0.1:9".into(),
            symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
            depth_stream: "depth@0ms".into(),
            trade_stream: "trade".into(),
            ..ObStreamConfig::default()
        };
        assert_eq!(
            c.stream_url(),
            "ws://127.0.0.1:9/stream?streams=btcusdt@depth@0ms/btcusdt@bookTicker/btcusdt@trade/ethusdt@depth@0ms/ethusdt@bookTicker/ethusdt@trade"
        );
        assert_eq!(
            c.depth_url("BTCUSDT"),
            "http://127.0.0.1:9/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
        );
        let b: Vec<u64> = (0..8).map(|i| c.backoff_ms(i)).collect();
        assert_eq!(b, vec![250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        c.validate().unwrap();
        let mut bad = c.clone();
        bad.symbols.push("btc".into());
        assert!(bad.validate().unwrap_err().contains("`btc`"));
        let mut bad = c.clone();
        bad.snapshot_limit = 7;
        assert!(bad.validate().unwrap_err().contains("snapshot_limit"));
        let y: ObStreamConfig =
            serde_yaml::from_str("symbols: [BTCUSDT]\nstale_after_ms: 3000\n").unwrap();
        assert_eq!(
            (y.symbols.len(), y.stale_after_ms, y.depth_stream.as_str()),
            (1, 3000, "depth@100ms")
        );
        assert!(serde_yaml::from_str::<ObStreamConfig>("symbolz: [X]").is_err());
    }
}
