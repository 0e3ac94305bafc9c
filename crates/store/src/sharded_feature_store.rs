//! `ShardedFeatureStore` (B §15.2, S §16): per-symbol features spread over the ten
//! `DOLPHIN_FEATURES_SHARD_XX` maps by [`crate::shard::shard_of`].

use crate::error::StoreError;
use crate::memory::SystemMemory;
use crate::near_cache::NearCacheConfig;
use crate::schema::{from_json, to_json};
use crate::shard::{SHARD_MAPS, feature_key, shard_map};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Feature store over the ten shard maps. Keys are `feature_SYMBOL` (B §15.2); the per-symbol
/// OB feature dict of S §10 lives under the bare symbol key.
pub struct ShardedFeatureStore {
    mem: Arc<dyn SystemMemory>,
    /// Symbol → shard map name, filled on first access (B §15.2 "map handles cached").
    handles: Mutex<HashMap<String, &'static str>>,
}

impl ShardedFeatureStore {
    /// A store over `mem`.
    pub fn new(mem: Arc<dyn SystemMemory>) -> Self {
        Self {
            mem,
            handles: Mutex::new(HashMap::new()),
        }
    }

    /// The near-cache setting of all ten shards (B §15.3 `near_cache_config()`).
    pub fn near_cache_config() -> Vec<(&'static str, NearCacheConfig)> {
        SHARD_MAPS
            .iter()
            .map(|m| (*m, NearCacheConfig::default()))
            .collect()
    }

    /// Turns on the B §15.3 near cache on every shard.
    pub fn enable_near_cache(&self) {
        for (m, c) in Self::near_cache_config() {
            self.mem.enable_near_cache(m, c);
        }
    }

    /// The shard map of `symbol`, from the handle cache.
    pub fn map_of(&self, symbol: &str) -> &'static str {
        if let Ok(mut h) = self.handles.lock() {
            return h
                .entry(symbol.to_string())
                .or_insert_with(|| shard_map(symbol));
        }
        shard_map(symbol)
    }

    /// `store.put('BTCUSDT', 'vel_div', -0.03)` (B §15.2).
    pub fn put<T: Serialize>(
        &self,
        symbol: &str,
        feature: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let map = self.map_of(symbol);
        let key = feature_key(symbol, feature);
        self.mem.put(map, &key, &to_json(map, &key, value)?)
    }

    /// `store.get('BTCUSDT', 'vel_div')`; `None` when absent.
    pub fn get<T: DeserializeOwned>(
        &self,
        symbol: &str,
        feature: &str,
    ) -> Result<Option<T>, StoreError> {
        let map = self.map_of(symbol);
        let key = feature_key(symbol, feature);
        self.mem
            .get(map, &key)?
            .map(|s| from_json(map, &key, &s))
            .transpose()
    }

    /// `store.delete('BTCUSDT', 'vel_div')`; `true` if something was removed.
    pub fn delete(&self, symbol: &str, feature: &str) -> Result<bool, StoreError> {
        let map = self.map_of(symbol);
        Ok(self
            .mem
            .remove(map, &feature_key(symbol, feature))?
            .is_some())
    }

    /// Writes the OB feature dict of `symbol` under the bare symbol key (S §10).
    pub fn put_symbol_features<T: Serialize>(
        &self,
        symbol: &str,
        features: &T,
    ) -> Result<(), StoreError> {
        let map = self.map_of(symbol);
        self.mem.put(map, symbol, &to_json(map, symbol, features)?)
    }

    /// Reads the OB feature dict of `symbol` (S §10).
    pub fn get_symbol_features<T: DeserializeOwned>(
        &self,
        symbol: &str,
    ) -> Result<Option<T>, StoreError> {
        let map = self.map_of(symbol);
        self.mem
            .get(map, symbol)?
            .map(|s| from_json(map, symbol, &s))
            .transpose()
    }

    /// Dynamic discovery (S §16 HZOBProvider): the symbols that have a feature dict in any
    /// shard. Feature keys always hold an underscore (`feature_SYMBOL`); Binance perpetual
    /// symbols never do, so the symbol keys are the keys without one that route to their map.
    pub fn symbols(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut out = BTreeSet::new();
        for map in SHARD_MAPS {
            for key in self.mem.key_set(map)? {
                if !key.contains('_') && shard_map(&key) == map {
                    out.insert(key);
                }
            }
        }
        Ok(out)
    }
}
