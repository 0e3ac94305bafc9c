//! The store-backed OB provider (B §9, S §16 `HZOBProvider`; issue 12 item 2): the engine's
//! `ObProvider` for the actor's five OB sub-systems, fed by the OB stream service through the
//! shard maps `DOLPHIN_FEATURES_SHARD_00..09`.
//!
//! It loads what the shards hold (dynamic discovery of the symbols, S §16), then listens to
//! every change, keeping `retention_ms` of samples per symbol. A lookup at bar time `ts`
//! answers the newest sample at or before `ts` that is at most `staleness_ms` old — the same
//! rule as the replay provider (`dolphin_orderbook::ReplayObProvider`), so a live run and a
//! replay of the same feature rows give the engine the same values.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

use dolphin_core::Direction;
use dolphin_engine::{ObMacro, ObPlacement, ObProvider, ObSignal};
use dolphin_orderbook::{AssetFeatures, MacroFeatures, MarketMultiplier};
use dolphin_store::{ChangeEvent, SHARD_MAPS, SubscriptionId, SystemMemory};

use crate::error::LiveError;
use crate::feature_value::ObFeatureValue;

#[derive(Debug, Default)]
struct Index {
    assets: BTreeMap<String, VecDeque<(i64, AssetFeatures)>>,
    market: VecDeque<(i64, MacroFeatures)>,
    newest: i64,
    bad_values: u64,
}

fn insert<T>(q: &mut VecDeque<(i64, T)>, t: i64, v: T) {
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

fn latest<T: Copy>(q: &VecDeque<(i64, T)>, ts: i64, staleness_ms: i64) -> Option<T> {
    let i = q.partition_point(|(t, _)| *t <= ts);
    let (t, v) = *q.get(i.checked_sub(1)?)?;
    (ts - t <= staleness_ms).then_some(v)
}

impl Index {
    fn add(&mut self, v: &ObFeatureValue, retention_ms: i64) {
        insert(
            self.assets.entry(v.symbol.clone()).or_default(),
            v.ts,
            v.features(),
        );
        insert(&mut self.market, v.ts, v.market);
        self.newest = self.newest.max(v.ts);
        let cut = self.newest.saturating_sub(retention_ms);
        for q in self.assets.values_mut() {
            while q.front().is_some_and(|(t, _)| *t < cut) {
                q.pop_front();
            }
        }
        while self.market.front().is_some_and(|(t, _)| *t < cut) {
            self.market.pop_front();
        }
    }
}

/// `ObProvider` over the shard maps.
pub struct StoreObProvider {
    index: Arc<RwLock<Index>>,
    memory: Arc<dyn SystemMemory>,
    subs: Vec<SubscriptionId>,
    staleness_ms: i64,
    multiplier: MarketMultiplier,
}

impl std::fmt::Debug for StoreObProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreObProvider")
            .field("staleness_ms", &self.staleness_ms)
            .finish()
    }
}

impl StoreObProvider {
    /// Loads the shards and subscribes to their changes.
    pub fn connect(
        memory: Arc<dyn SystemMemory>,
        staleness_ms: i64,
        retention_ms: i64,
        multiplier: MarketMultiplier,
    ) -> Result<Self, LiveError> {
        let index = Arc::new(RwLock::new(Index::default()));
        let mut subs = Vec::new();
        for map in SHARD_MAPS {
            let ix = index.clone();
            let id = memory.subscribe(
                map,
                Arc::new(move |e: &ChangeEvent| {
                    let Some(v) = &e.value else { return };
                    let mut g = ix.write().unwrap_or_else(|p| p.into_inner());
                    match serde_json::from_str::<ObFeatureValue>(v) {
                        Ok(f) if f.symbol == e.key => g.add(&f, retention_ms),
                        // Other keys (`feature_SYMBOL`) of the shard are not OB dicts.
                        _ if e.key.contains('_') => {}
                        _ => {
                            g.bad_values += 1;
                            tracing::warn!(map = %e.map, key = %e.key, "OB provider: unreadable feature dict");
                        }
                    }
                }),
            )?;
            subs.push(id);
            for (k, v) in memory.get_all(map)? {
                if let Ok(f) = serde_json::from_str::<ObFeatureValue>(&v)
                    && f.symbol == k
                {
                    index
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .add(&f, retention_ms);
                }
            }
        }
        Ok(StoreObProvider {
            index,
            memory,
            subs,
            staleness_ms,
            multiplier,
        })
    }

    /// Symbols seen so far.
    pub fn symbols(&self) -> Vec<String> {
        self.read(|i| i.assets.keys().cloned().collect())
    }

    /// Feature dicts that could not be read.
    pub fn bad_values(&self) -> u64 {
        self.read(|i| i.bad_values)
    }

    fn read<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&self.index.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Full per-asset features of the latest usable sample.
    pub fn features(&self, asset: &str, ts_ms: i64) -> Option<AssetFeatures> {
        self.read(|i| latest(i.assets.get(asset)?, ts_ms, self.staleness_ms))
    }

    /// Market features of the latest usable sample.
    pub fn market(&self, ts_ms: i64) -> Option<MacroFeatures> {
        self.read(|i| latest(&i.market, ts_ms, self.staleness_ms))
    }
}

impl Drop for StoreObProvider {
    fn drop(&mut self) {
        for id in &self.subs {
            self.memory.unsubscribe(*id);
        }
    }
}

impl ObProvider for StoreObProvider {
    fn signal(&self, asset: &str, ts_ms: i64) -> Option<ObSignal> {
        self.features(asset, ts_ms).map(|f| ObSignal {
            imbalance_ma5: f.imbalance_ma5,
            imbalance_persistence: f.imbalance_persistence,
            withdrawal_velocity: f.withdrawal_velocity,
        })
    }
    fn placement(&self, asset: &str, ts_ms: i64) -> Option<ObPlacement> {
        self.features(asset, ts_ms).map(|f| ObPlacement {
            depth_quality: f.depth_quality,
            fill_probability: f.fill_probability,
            spread_proxy_bps: f.spread_proxy_bps,
        })
    }
    fn macro_state(&self, ts_ms: i64) -> Option<ObMacro> {
        self.market(ts_ms).map(|m| ObMacro {
            cascade_count: m.cascade_count,
            regime_signal: m.regime_signal,
            agreement_pct: m.agreement_pct,
            macro_imbalance: m.macro_imbalance,
        })
    }
    fn market_multiplier(&self, direction: Direction, ts_ms: i64) -> f64 {
        self.multiplier
            .multiplier(direction, self.market(ts_ms).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_orderbook::FeatureRow;
    use dolphin_store::{EmbeddedMemory, shard_map};

    fn put(mem: &dyn SystemMemory, sym: &str, ts: i64, imb: f64, macro_imb: f64) {
        let row = FeatureRow {
            sample_ms: ts,
            asset: sym.into(),
            features: AssetFeatures {
                imbalance_ma5: imb,
                depth_quality: 1.5,
                ..AssetFeatures::default()
            },
            market: MacroFeatures {
                n_assets: 1,
                macro_imbalance: macro_imb,
                ..MacroFeatures::default()
            },
        };
        let v = serde_json::to_string(&ObFeatureValue::from(&row)).unwrap();
        mem.put(shard_map(sym), sym, &v).unwrap();
    }

    fn wait_for(p: &StoreObProvider, sym: &str, ts: i64) {
        let t = std::time::Instant::now();
        while p.features(sym, ts).is_none() && t.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn reads_shards_then_follows_changes() {
        let mem: Arc<dyn SystemMemory> = Arc::new(EmbeddedMemory::new());
        // Already in the store before the provider starts (dynamic discovery).
        put(mem.as_ref(), "BTCUSDT", 1_000, 0.1, -0.4);
        // Another key of the same shard is not an OB dict and is ignored.
        mem.put(shard_map("BTCUSDT"), "vel_div_BTCUSDT", "-0.03")
            .unwrap();
        let p = StoreObProvider::connect(mem.clone(), 2_000, 60_000, MarketMultiplier::default())
            .unwrap();
        assert_eq!(p.symbols(), vec!["BTCUSDT".to_string()]);
        assert_eq!(p.signal("BTCUSDT", 999), None);
        assert_eq!(p.signal("BTCUSDT", 1_000).unwrap().imbalance_ma5, 0.1);
        // Later samples arrive through the listener.
        put(mem.as_ref(), "BTCUSDT", 1_500, 0.3, 0.05);
        put(mem.as_ref(), "ETHUSDT", 1_500, -0.2, 0.05);
        wait_for(&p, "ETHUSDT", 1_500);
        assert_eq!(p.signal("BTCUSDT", 1_499).unwrap().imbalance_ma5, 0.1);
        assert_eq!(p.signal("BTCUSDT", 1_500).unwrap().imbalance_ma5, 0.3);
        assert_eq!(p.placement("ETHUSDT", 3_500).unwrap().depth_quality, 1.5);
        // Staleness: 2 s.
        assert_eq!(p.signal("ETHUSDT", 3_501), None);
        // OB-3 multiplier: macro imbalance −0.4 favours SHORT, capped at 1.20.
        assert_eq!(p.market_multiplier(Direction::Short, 1_200), 1.20);
        assert!((p.market_multiplier(Direction::Short, 1_600) - 0.95).abs() < 1e-12);
        assert_eq!(p.macro_state(900), None);
        assert_eq!(p.bad_values(), 0);
        // A broken dict under a symbol key is counted, not a panic.
        mem.put(shard_map("SOLUSDT"), "SOLUSDT", "{not json")
            .unwrap();
        let t = std::time::Instant::now();
        while p.bad_values() == 0 && t.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(p.bad_values(), 1);
    }
}
