//! The order-book hook of the engine (seeds B §9, S Layer 4). An [`ObProvider`] answers, for
//! an asset at a bar's timestamp, the per-asset signal and placement features and the
//! market-wide macro state. With no provider wired the engine uses the legacy Monte-Carlo OB
//! edge (B §8.3) and every OB rule is inactive.

use dolphin_core::Direction;
use serde::{Deserialize, Serialize};

/// Per-asset OB signal (B §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObSignal {
    /// 5-sample mean of the bid/ask size imbalance within 1 % of mid, in [−1, 1]
    /// (positive = more bids).
    pub imbalance_ma5: f64,
    /// Share of the last 10 samples whose imbalance has the sign of the latest one, in [0, 1].
    pub imbalance_persistence: f64,
    /// Relative change of depth per sample (negative = book thinning).
    pub withdrawal_velocity: f64,
}

/// Per-asset placement quality (B §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObPlacement {
    /// Depth within 1 % over its rolling median ([0, 2+]; > 1 = deeper than usual).
    pub depth_quality: f64,
    /// Probability of a maker fill at the entry price, in [0, 1].
    pub fill_probability: f64,
    /// Spread in basis points of mid.
    pub spread_proxy_bps: f64,
}

/// Market-wide OB state (B §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObMacro {
    /// Number of assets in a liquidation cascade.
    pub cascade_count: u32,
    /// −1 calm/trending, 0 neutral, +1 withdrawal stress.
    pub regime_signal: i8,
    /// Share of assets whose imbalance agrees in sign with the market imbalance.
    pub agreement_pct: f64,
    /// Depth-weighted mean imbalance over all assets.
    pub macro_imbalance: f64,
}

/// A source of OB features, keyed by asset and bar timestamp (ms since the epoch).
pub trait ObProvider: Send + Sync {
    fn signal(&self, asset: &str, ts_ms: i64) -> Option<ObSignal>;
    fn placement(&self, asset: &str, ts_ms: i64) -> Option<ObPlacement>;
    fn macro_state(&self, ts_ms: i64) -> Option<ObMacro>;
    /// OB-3: cross-asset market multiplier on leverage for a trade in `direction`
    /// (B §13.3, within ±20 %); 1.0 when unknown.
    fn market_multiplier(&self, direction: Direction, ts_ms: i64) -> f64;
}
