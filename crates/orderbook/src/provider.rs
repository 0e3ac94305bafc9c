//! Two `dolphin_engine::ObProvider` sources (B §9, S Layer 4): [`LiveObProvider`] computes
//! features from messages as they are pushed in; [`ReplayObProvider`] answers from a recorded
//! [`FeatureTable`]. A lookup returns the latest sample at or before the bar timestamp, or
//! nothing when that sample is older than the staleness limit. OB-3's market multiplier is
//! [`MarketMultiplier`] (B §9.4 "±20%/15%", B §13.3).

use std::collections::{BTreeMap, VecDeque};
use std::sync::RwLock;

use dolphin_core::Direction;
use dolphin_engine::{ObMacro, ObPlacement, ObProvider, ObSignal};
use serde::{Deserialize, Serialize};

use crate::features::{AssetFeatures, FeatureConfig, MacroFeatures};
use crate::message::{DepthSnapshot, Message, MessageError};
use crate::stream::{BookHealth, FeatureRow, ObStream};
use crate::table::FeatureTable;

/// Default staleness limit: a sample older than this (ms) is not used.
pub const DEFAULT_STALENESS_MS: i64 = 10_000;

/// OB-3 market multiplier (B §9.4, §13.3): `clamp(1 + k·macro_imbalance·sign(direction),
/// min, max)`. SHORT is favoured by a negative (ask-heavy) market imbalance, LONG by a
/// positive one. Defaults k = 1, [0.85, 1.20].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarketMultiplier {
    pub k: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for MarketMultiplier {
    fn default() -> Self {
        MarketMultiplier {
            k: 1.0,
            min: 0.85,
            max: 1.20,
        }
    }
}

impl MarketMultiplier {
    /// The multiplier for a trade in `direction` given the market state; 1.0 when unknown.
    pub fn multiplier(&self, direction: Direction, market: Option<&MacroFeatures>) -> f64 {
        match market {
            Some(m) if m.n_assets > 0 && m.macro_imbalance.is_finite() => {
                (1.0 + self.k * m.macro_imbalance * direction.sign()).clamp(self.min, self.max)
            }
            _ => 1.0,
        }
    }
}

/// Samples by asset and time, with "latest at or before, within staleness" lookup.
#[derive(Debug, Clone, Default)]
struct SampleIndex {
    assets: BTreeMap<String, VecDeque<(i64, AssetFeatures)>>,
    market: VecDeque<(i64, MacroFeatures)>,
    staleness_ms: i64,
}

fn latest<T: Copy>(q: &VecDeque<(i64, T)>, ts: i64, staleness_ms: i64) -> Option<T> {
    let i = q.partition_point(|(t, _)| *t <= ts);
    let (t, v) = *q.get(i.checked_sub(1)?)?;
    (ts - t <= staleness_ms).then_some(v)
}

impl SampleIndex {
    fn new(staleness_ms: i64) -> Self {
        SampleIndex {
            staleness_ms,
            ..Self::default()
        }
    }

    /// Insert rows (any order within equal times; rows for the same (asset, time) replace).
    fn insert(&mut self, row: &FeatureRow) {
        let q = self.assets.entry(row.asset.clone()).or_default();
        insert_sorted(q, row.sample_ms, row.features);
        insert_sorted(&mut self.market, row.sample_ms, row.market);
    }

    fn prune_before(&mut self, t: i64) {
        for q in self.assets.values_mut() {
            while q.front().is_some_and(|(s, _)| *s < t) {
                q.pop_front();
            }
        }
        while self.market.front().is_some_and(|(s, _)| *s < t) {
            self.market.pop_front();
        }
    }

    fn asset(&self, asset: &str, ts: i64) -> Option<AssetFeatures> {
        latest(self.assets.get(asset)?, ts, self.staleness_ms)
    }

    fn market(&self, ts: i64) -> Option<MacroFeatures> {
        latest(&self.market, ts, self.staleness_ms)
    }
}

fn insert_sorted<T>(q: &mut VecDeque<(i64, T)>, t: i64, v: T) {
    match q.back() {
        Some((last, _)) if *last < t => q.push_back((t, v)),
        None => q.push_back((t, v)),
        _ => {
            let i = q.partition_point(|(s, _)| *s < t);
            if q.get(i).is_some_and(|(s, _)| *s == t) {
                q[i] = (t, v);
            } else {
                q.insert(i, (t, v));
            }
        }
    }
}

fn to_signal(f: &AssetFeatures) -> ObSignal {
    ObSignal {
        imbalance_ma5: f.imbalance_ma5,
        imbalance_persistence: f.imbalance_persistence,
        withdrawal_velocity: f.withdrawal_velocity,
    }
}

fn to_placement(f: &AssetFeatures) -> ObPlacement {
    ObPlacement {
        depth_quality: f.depth_quality,
        fill_probability: f.fill_probability,
        spread_proxy_bps: f.spread_proxy_bps,
    }
}

fn to_macro(m: &MacroFeatures) -> ObMacro {
    ObMacro {
        cascade_count: m.cascade_count,
        regime_signal: m.regime_signal,
        agreement_pct: m.agreement_pct,
        macro_imbalance: m.macro_imbalance,
    }
}

/// The engine's OB hook for a provider with `features(asset, ts)`, `market(ts)` and a
/// `multiplier` (B §9.4): the same mapping for the replayed and the live source.
macro_rules! impl_ob_provider {
    ($provider:ty) => {
        impl ObProvider for $provider {
            fn signal(&self, asset: &str, ts_ms: i64) -> Option<ObSignal> {
                self.features(asset, ts_ms).as_ref().map(to_signal)
            }
            fn placement(&self, asset: &str, ts_ms: i64) -> Option<ObPlacement> {
                self.features(asset, ts_ms).as_ref().map(to_placement)
            }
            fn macro_state(&self, ts_ms: i64) -> Option<ObMacro> {
                self.market(ts_ms).as_ref().map(to_macro)
            }
            fn market_multiplier(&self, direction: Direction, ts_ms: i64) -> f64 {
                self.multiplier
                    .multiplier(direction, self.market(ts_ms).as_ref())
            }
        }
    };
}

/// Replay provider over a recorded feature table (B §9; SPEC §3).
#[derive(Debug, Clone)]
pub struct ReplayObProvider {
    index: SampleIndex,
    multiplier: MarketMultiplier,
}

impl ReplayObProvider {
    /// Index a table; lookups ignore samples older than `staleness_ms` before the bar.
    pub fn new(table: &FeatureTable, staleness_ms: i64, multiplier: MarketMultiplier) -> Self {
        let mut index = SampleIndex::new(staleness_ms);
        for r in &table.rows {
            index.insert(r);
        }
        ReplayObProvider { index, multiplier }
    }

    /// Read a parquet table written by `FeatureTable::write_parquet`, with default settings;
    /// the table must pass [`FeatureTable::check`].
    pub fn from_parquet(path: &std::path::Path) -> Result<Self, crate::table::TableError> {
        let table = FeatureTable::read_parquet(path)?;
        table.check(path)?;
        Ok(Self::new(
            &table,
            DEFAULT_STALENESS_MS,
            MarketMultiplier::default(),
        ))
    }

    /// Full per-asset features of the latest usable sample.
    pub fn features(&self, asset: &str, ts_ms: i64) -> Option<AssetFeatures> {
        self.index.asset(asset, ts_ms)
    }

    /// Full market features of the latest usable sample.
    pub fn market(&self, ts_ms: i64) -> Option<MacroFeatures> {
        self.index.market(ts_ms)
    }
}

impl_ob_provider!(ReplayObProvider);

#[derive(Debug)]
struct LiveInner {
    stream: ObStream,
    index: SampleIndex,
    rows: Vec<FeatureRow>,
    newest_ms: i64,
}

/// Live provider: features computed from messages as they are pushed in (B §16.2). Pushing
/// and querying may happen from different threads.
#[derive(Debug)]
pub struct LiveObProvider {
    inner: RwLock<LiveInner>,
    multiplier: MarketMultiplier,
    retention_ms: i64,
}

impl LiveObProvider {
    /// A live provider keeping `retention_ms` of samples for lookups.
    pub fn new(
        cfg: FeatureConfig,
        staleness_ms: i64,
        retention_ms: i64,
        multiplier: MarketMultiplier,
    ) -> Self {
        LiveObProvider {
            inner: RwLock::new(LiveInner {
                stream: ObStream::new(cfg),
                index: SampleIndex::new(staleness_ms),
                rows: Vec::new(),
                newest_ms: i64::MIN,
            }),
            multiplier,
            retention_ms,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut LiveInner) -> R) -> R {
        let mut g = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut g);
        let LiveInner {
            index,
            rows,
            newest_ms,
            ..
        } = &mut *g;
        for row in rows.drain(..) {
            *newest_ms = (*newest_ms).max(row.sample_ms);
            index.insert(&row);
        }
        let cutoff = newest_ms.saturating_sub(self.retention_ms);
        index.prune_before(cutoff);
        r
    }

    fn read<R>(&self, f: impl FnOnce(&LiveInner) -> R) -> R {
        f(&self.inner.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Push one raw JSON message (combined-stream wrapper or plain event).
    pub fn push_json(&self, json: &str) -> Result<(), MessageError> {
        self.with(|i| i.stream.push_json(json, None, &mut i.rows))
    }

    /// Push a parsed message.
    pub fn push_message(&self, msg: Message<'_>) {
        self.with(|i| i.stream.push_message(msg, None, &mut i.rows));
    }

    /// Push a REST snapshot fetched for `symbol` (after `symbols_needing_snapshot`).
    pub fn push_snapshot(&self, symbol: &str, snap: DepthSnapshot) {
        self.with(|i| {
            i.stream
                .push_message(Message::Snapshot(snap), Some(symbol), &mut i.rows)
        });
    }

    /// Symbols whose book needs a REST snapshot now.
    pub fn symbols_needing_snapshot(&self) -> Vec<String> {
        self.read(|i| i.stream.symbols_needing_snapshot())
    }

    /// Health of the books and of the bookTicker check so far.
    pub fn health(&self) -> BookHealth {
        self.read(|i| i.stream.health())
    }

    /// Full per-asset features of the latest usable sample.
    pub fn features(&self, asset: &str, ts_ms: i64) -> Option<AssetFeatures> {
        self.read(|i| i.index.asset(asset, ts_ms))
    }

    /// Full market features of the latest usable sample.
    pub fn market(&self, ts_ms: i64) -> Option<MacroFeatures> {
        self.read(|i| i.index.market(ts_ms))
    }
}

impl_ob_provider!(LiveObProvider);

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: i64, asset: &str, imb_ma5: f64, macro_imb: f64) -> FeatureRow {
        FeatureRow {
            sample_ms: ts,
            asset: asset.to_string(),
            features: AssetFeatures {
                imbalance_ma5: imb_ma5,
                depth_quality: 1.5,
                fill_probability: 0.7,
                spread_proxy_bps: 0.2,
                ..AssetFeatures::default()
            },
            market: MacroFeatures {
                n_assets: 2,
                cascade_count: 0,
                regime_signal: -1,
                agreement_pct: 1.0,
                macro_imbalance: macro_imb,
                ..MacroFeatures::default()
            },
        }
    }

    #[test]
    fn replay_lookup_latest_at_or_before_within_staleness() {
        let t = FeatureTable {
            rows: vec![
                row(1000, "BTCUSDT", 0.1, 0.05),
                row(1000, "ETHUSDT", 0.2, 0.05),
                row(1500, "BTCUSDT", 0.3, -0.4),
                row(1500, "ETHUSDT", 0.4, -0.4),
            ],
        };
        let p = ReplayObProvider::new(&t, 2000, MarketMultiplier::default());
        assert_eq!(p.signal("BTCUSDT", 999), None);
        assert_eq!(p.signal("BTCUSDT", 1000).unwrap().imbalance_ma5, 0.1);
        assert_eq!(p.signal("BTCUSDT", 1499).unwrap().imbalance_ma5, 0.1);
        assert_eq!(p.signal("ETHUSDT", 1500).unwrap().imbalance_ma5, 0.4);
        assert_eq!(p.signal("ETHUSDT", 3500).unwrap().imbalance_ma5, 0.4);
        assert_eq!(p.signal("ETHUSDT", 3501), None);
        assert_eq!(p.signal("SOLUSDT", 1500), None);
        let pl = p.placement("BTCUSDT", 1600).unwrap();
        assert_eq!(
            (pl.depth_quality, pl.fill_probability, pl.spread_proxy_bps),
            (1.5, 0.7, 0.2)
        );
        let m = p.macro_state(1200).unwrap();
        assert_eq!((m.regime_signal, m.macro_imbalance), (-1, 0.05));
        // OB-3: macro imbalance −0.4 favours SHORT: 1 + 0.4 = 1.4 → capped 1.20.
        assert_eq!(p.market_multiplier(Direction::Short, 1600), 1.20);
        assert_eq!(p.market_multiplier(Direction::Long, 1600), 0.85);
        // +0.05: SHORT 0.95, LONG 1.05.
        assert!((p.market_multiplier(Direction::Short, 1200) - 0.95).abs() < 1e-12);
        assert!((p.market_multiplier(Direction::Long, 1200) - 1.05).abs() < 1e-12);
        assert_eq!(p.market_multiplier(Direction::Short, 10), 1.0);
    }

    #[test]
    fn insert_sorted_replaces_and_orders() {
        let mut q = VecDeque::new();
        insert_sorted(&mut q, 5, 'a');
        insert_sorted(&mut q, 3, 'b');
        insert_sorted(&mut q, 5, 'c');
        insert_sorted(&mut q, 4, 'd');
        assert_eq!(
            q.into_iter().collect::<Vec<_>>(),
            vec![(3, 'b'), (4, 'd'), (5, 'c')]
        );
    }
}
