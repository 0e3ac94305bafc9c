//! Near cache of one map (B §15.3): entries live at most `time_to_live` since they were loaded
//! and at most `max_idle` since last read; beyond `max_size` the least recently used entry is
//! evicted; any change of the map invalidates (`invalidate_on_change`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Near-cache settings; the default is B §15.3's (TTL 300 s, max idle 60 s, LRU, 5,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearCacheConfig {
    pub time_to_live: Duration,
    pub max_idle: Duration,
    pub max_size: usize,
}

impl Default for NearCacheConfig {
    fn default() -> Self {
        Self {
            time_to_live: Duration::from_secs(300),
            max_idle: Duration::from_secs(60),
            max_size: 5_000,
        }
    }
}

/// Hit/miss/invalidation counters of a near cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NearCacheStats {
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
    pub evictions: u64,
}

struct Entry {
    value: Option<String>,
    loaded: Instant,
    last_read: Instant,
    tick: u64,
}

/// The cache of one map. `epoch` counts invalidations so that a value fetched before an
/// invalidation is never inserted after it (the read/invalidate race).
pub struct NearCache {
    config: NearCacheConfig,
    entries: HashMap<String, Entry>,
    lru: BTreeMap<u64, String>,
    tick: u64,
    epoch: u64,
    stats: NearCacheStats,
}

impl NearCache {
    /// An empty cache.
    pub fn new(config: NearCacheConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            epoch: 0,
            stats: NearCacheStats::default(),
        }
    }

    /// The invalidation epoch to pass to [`insert`](Self::insert) for a value read now.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Counters so far.
    pub fn stats(&self) -> NearCacheStats {
        self.stats
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cached value (`Some(None)` = cached absence), or `None` on a miss. Expired entries
    /// (TTL or idle) are dropped.
    pub fn get(&mut self, key: &str, now: Instant) -> Option<Option<String>> {
        let cfg = self.config;
        let Some(e) = self.entries.get_mut(key) else {
            self.stats.misses += 1;
            return None;
        };
        if now.duration_since(e.loaded) > cfg.time_to_live
            || now.duration_since(e.last_read) > cfg.max_idle
        {
            let tick = e.tick;
            self.entries.remove(key);
            self.lru.remove(&tick);
            self.stats.evictions += 1;
            self.stats.misses += 1;
            return None;
        }
        e.last_read = now;
        self.lru.remove(&e.tick);
        self.tick += 1;
        e.tick = self.tick;
        self.lru.insert(self.tick, key.to_string());
        self.stats.hits += 1;
        Some(e.value.clone())
    }

    /// Caches `value` read when the epoch was `epoch`; ignored if an invalidation came since.
    pub fn insert(&mut self, key: &str, value: Option<String>, epoch: u64, now: Instant) {
        if epoch != self.epoch || self.config.max_size == 0 {
            return;
        }
        if let Some(old) = self.entries.remove(key) {
            self.lru.remove(&old.tick);
        }
        while self.entries.len() >= self.config.max_size {
            let Some((_, victim)) = self.lru.pop_first() else {
                break;
            };
            self.entries.remove(&victim);
            self.stats.evictions += 1;
        }
        self.tick += 1;
        self.entries.insert(
            key.to_string(),
            Entry {
                value,
                loaded: now,
                last_read: now,
                tick: self.tick,
            },
        );
        self.lru.insert(self.tick, key.to_string());
    }

    /// Drops one key and bumps the epoch.
    pub fn invalidate(&mut self, key: &str) {
        self.epoch += 1;
        self.stats.invalidations += 1;
        if let Some(e) = self.entries.remove(key) {
            self.lru.remove(&e.tick);
        }
    }

    /// Drops everything and bumps the epoch.
    pub fn clear(&mut self) {
        self.epoch += 1;
        self.stats.invalidations += 1;
        self.entries.clear();
        self.lru.clear();
    }
}

/// The near caches of all maps of one client.
#[derive(Default)]
pub(crate) struct NearCaches {
    maps: Mutex<HashMap<String, NearCache>>,
}

impl NearCaches {
    pub(crate) fn enable(&self, map: &str, config: NearCacheConfig) {
        if let Ok(mut m) = self.maps.lock() {
            m.entry(map.to_string())
                .or_insert_with(|| NearCache::new(config));
        }
    }

    /// `Ok(value)` on a hit, `Err(Some(epoch))` on a miss of a cached map, `Err(None)` when the
    /// map has no near cache.
    pub(crate) fn lookup(&self, map: &str, key: &str) -> Result<Option<String>, Option<u64>> {
        let Ok(mut m) = self.maps.lock() else {
            return Err(None);
        };
        let Some(c) = m.get_mut(map) else {
            return Err(None);
        };
        match c.get(key, Instant::now()) {
            Some(v) => Ok(v),
            None => Err(Some(c.epoch())),
        }
    }

    pub(crate) fn insert(&self, map: &str, key: &str, value: Option<String>, epoch: u64) {
        if let Ok(mut m) = self.maps.lock()
            && let Some(c) = m.get_mut(map)
        {
            c.insert(key, value, epoch, Instant::now());
        }
    }

    pub(crate) fn invalidate_key(&self, map: &str, key: &str) {
        if let Ok(mut m) = self.maps.lock()
            && let Some(c) = m.get_mut(map)
        {
            c.invalidate(key);
        }
    }

    pub(crate) fn invalidate_map(&self, map: &str) {
        if let Ok(mut m) = self.maps.lock()
            && let Some(c) = m.get_mut(map)
        {
            c.clear();
        }
    }

    pub(crate) fn clear_all(&self) {
        if let Ok(mut m) = self.maps.lock() {
            m.values_mut().for_each(NearCache::clear);
        }
    }

    pub(crate) fn stats(&self, map: &str) -> Option<NearCacheStats> {
        self.maps.lock().ok()?.get(map).map(NearCache::stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(ttl: u64, idle: u64, size: usize) -> NearCacheConfig {
        NearCacheConfig {
            time_to_live: Duration::from_secs(ttl),
            max_idle: Duration::from_secs(idle),
            max_size: size,
        }
    }

    #[test]
    fn default_is_b_15_3() {
        let c = NearCacheConfig::default();
        assert_eq!(c.time_to_live, Duration::from_secs(300));
        assert_eq!(c.max_idle, Duration::from_secs(60));
        assert_eq!(c.max_size, 5_000);
    }

    #[test]
    fn ttl_and_idle_expire() {
        let t0 = Instant::now();
        let mut c = NearCache::new(cfg(300, 60, 10));
        c.insert("a", Some("1".into()), c.epoch(), t0);
        // Read every 50 s: idle never exceeds 60 s, but TTL (300 s) ends it.
        for k in 1..=6 {
            assert_eq!(
                c.get("a", t0 + Duration::from_secs(50 * k)),
                Some(Some("1".into()))
            );
        }
        assert_eq!(c.get("a", t0 + Duration::from_secs(301)), None);
        c.insert("b", None, c.epoch(), t0);
        assert_eq!(c.get("b", t0 + Duration::from_secs(59)), Some(None));
        assert_eq!(c.get("b", t0 + Duration::from_secs(59 + 61)), None);
        assert_eq!(c.stats().evictions, 2);
    }

    #[test]
    fn lru_evicts_least_recently_read() {
        let t0 = Instant::now();
        let mut c = NearCache::new(cfg(300, 60, 3));
        for k in ["a", "b", "c"] {
            c.insert(k, Some(k.into()), c.epoch(), t0);
        }
        assert!(c.get("a", t0).is_some()); // b is now the oldest
        c.insert("d", Some("d".into()), c.epoch(), t0);
        assert_eq!(c.len(), 3);
        assert!(c.get("b", t0).is_none());
        assert!(c.get("a", t0).is_some());
        assert!(c.get("c", t0).is_some());
        assert!(c.get("d", t0).is_some());
    }

    #[test]
    fn stale_read_not_inserted_after_invalidation() {
        let t0 = Instant::now();
        let mut c = NearCache::new(cfg(300, 60, 3));
        let e = c.epoch();
        c.invalidate("a"); // a change arrives while the read is in flight
        c.insert("a", Some("old".into()), e, t0);
        assert!(c.get("a", t0).is_none());
    }
}
