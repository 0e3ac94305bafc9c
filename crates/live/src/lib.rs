//! Live market data over the wire (issue 12; B §16.2, §16.5; S §9.1, §10, §16; SPEC §7, §8).
//!
//! * [`service`] — the OB stream service: a tokio-tungstenite client of Binance USD-M combined
//!   streams that keeps local books by the futures sync procedure, computes the OB features
//!   every 500 ms of event time with the project's feature engine and writes them to the
//!   shard maps `DOLPHIN_FEATURES_SHARD_00..09`, with book health for the watchdog.
//! * [`store_provider`] — the engine's `ObProvider` read back from those maps.
//! * [`LiveBarBuilder`] (in `dolphin-orderbook`, re-exported) — live bars (default 5 s, SPEC
//!   D1) from the trade stream.
//! * [`wire`] — decoding frames and classifying bad wire input.
//!
//! Decisions: docs/LIVE.md. Metrics (`metrics` facade): `dolphin_ob_messages_total`,
//! `dolphin_ob_bad_messages_total{kind}`, `dolphin_ob_gaps_total`, `dolphin_ob_resyncs_total`,
//! `dolphin_ob_reconnects_total`, `dolphin_ob_stalls_total`, `dolphin_ob_stale_samples_total`,
//! `dolphin_ob_features_published_total`, `dolphin_ob_rest_errors_total{status}`, gauges
//! `dolphin_ob_books_synced`, `dolphin_ob_books_stale`.

pub mod config;
pub mod error;
pub mod feature_value;
pub mod service;
pub mod store_provider;
pub mod wire;

pub use config::ObStreamConfig;
pub use dolphin_orderbook::{LiveBar, LiveBarBuilder};
pub use error::LiveError;
pub use feature_value::{
    HEARTBEAT_NAME, KEY_OB_HEALTH, ObFeatureValue, ObHealthValue, wall_now_ms,
};
pub use service::{ObStreamStatus, StatusCell, run_ob_stream, run_ob_stream_with_status};
pub use store_provider::StoreObProvider;
