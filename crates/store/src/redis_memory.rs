//! The Redis system memory (issue 6, SPEC §4 item 8): maps as hashes, changes published in the
//! same script as the write, the posture cell and fenced locks as scripts, near cache
//! invalidated by RESP3 client tracking, reconnect with backoff, an outbox for writes made
//! while Redis is down, single node or Redis Cluster.
//!
//! The API is synchronous (blocking calls on a small pool of connections); change delivery and
//! invalidations arrive on dedicated threads (see `redis_push`).

use crate::error::StoreError;
use crate::memory::{Delivery, FenceToken, Listener, SubscriptionId, SystemMemory, check_name};
use crate::near_cache::{NearCacheConfig, NearCacheStats};
use crate::outbox::PendingWrite;
use crate::redis_config::RedisConfig;
use crate::redis_conn::{Inner, change_payload};
use crate::redis_push;
use crate::redis_scripts::{cell_key, lock_key, token_key, ts_key};
use crate::schema::DOLPHIN_HEARTBEAT;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// [`SystemMemory`] on Redis. Clones share connections, listeners and caches; a second
/// [`RedisMemory::connect`] is an independent client.
#[derive(Clone)]
pub struct RedisMemory {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisMemory")
            .field("backend", &self.inner.backend)
            .field("config", &self.inner.config)
            .field("pending_writes", &self.inner.outbox.len())
            .finish()
    }
}

impl RedisMemory {
    /// Connects to the single node or cluster of `config`. Fails with
    /// [`StoreError::Unavailable`] if no node answers within the retry budget (S §17.5: the
    /// caller goes on without the store, e.g. posture APEX, local state only).
    pub fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner::new(config)?);
        let me = Self { inner };
        me.inner.run("connect", "-", true, |c| {
            redis::cmd("PING").query::<String>(c)
        })?;
        redis_push::start(&me.inner)?;
        Ok(me)
    }

    /// Near-cache counters of `map`, if it has a near cache.
    pub fn near_cache_stats(&self, map: &str) -> Option<NearCacheStats> {
        self.inner.near.stats(map)
    }

    /// Whether every push connection (changes and invalidations) is up.
    pub fn push_connected(&self) -> bool {
        self.inner.tracking_live.load(Ordering::SeqCst)
            == self.inner.tracking_nodes.load(Ordering::SeqCst)
    }
}

impl SystemMemory for RedisMemory {
    fn backend(&self) -> &'static str {
        self.inner.backend
    }

    fn put(&self, map: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.put(map, key, value)
    }

    fn get(&self, map: &str, key: &str) -> Result<Option<String>, StoreError> {
        let epoch = match self.inner.near.lookup(map, key) {
            Ok(hit) => return Ok(hit),
            Err(e) => e,
        };
        let v: Option<String> = self.inner.run("get", map, true, |c| {
            redis::cmd("HGET").arg(map).arg(key).query(c)
        })?;
        if let Some(e) = epoch
            && self.push_connected()
        {
            self.inner.near.insert(map, key, v.clone(), e);
        }
        Ok(v)
    }

    fn remove(&self, map: &str, key: &str) -> Result<Option<String>, StoreError> {
        check_name("map", map)?;
        let channel = self.inner.channel(map);
        let payload = change_payload(key, None);
        let old = self.inner.run("remove", map, true, |c| {
            self.inner
                .scripts
                .remove
                .key(map)
                .arg(key)
                .arg(&channel)
                .arg(&payload)
                .invoke::<Option<String>>(c)
        })?;
        self.inner.near.invalidate_key(map, key);
        Ok(old)
    }

    fn key_set(&self, map: &str) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self.inner.run("key_set", map, true, |c| {
            redis::cmd("HKEYS").arg(map).query(c)
        })?;
        keys.sort();
        Ok(keys)
    }

    fn get_all(&self, map: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.inner.run("get_all", map, true, |c| {
            redis::cmd("HGETALL").arg(map).query(c)
        })
    }

    fn subscribe(&self, map: &str, listener: Listener) -> Result<SubscriptionId, StoreError> {
        check_name("map", map)?;
        Ok(self.inner.dispatcher.add(map, None, listener))
    }

    fn subscribe_key(
        &self,
        map: &str,
        key: &str,
        listener: Listener,
    ) -> Result<SubscriptionId, StoreError> {
        check_name("map", map)?;
        Ok(self.inner.dispatcher.add(map, Some(key), listener))
    }

    fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.dispatcher.remove(id)
    }

    fn cell_get(&self, cell: &str) -> Result<Option<String>, StoreError> {
        check_name("cell", cell)?;
        let k = cell_key(cell);
        self.inner.run("cell_get", cell, true, |c| {
            redis::cmd("GET").arg(&k).query(c)
        })
    }

    fn compare_and_set(
        &self,
        cell: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError> {
        check_name("cell", cell)?;
        let k = cell_key(cell);
        let set: i64 = self.inner.run("compare_and_set", cell, false, |c| {
            self.inner
                .scripts
                .cas
                .key(&k)
                .arg(if expected.is_some() { "1" } else { "0" })
                .arg(expected.unwrap_or(""))
                .arg(new)
                .invoke(c)
        })?;
        Ok(set == 1)
    }

    fn try_lock(&self, map: &str, lease: Duration) -> Result<Option<FenceToken>, StoreError> {
        check_name("lock", map)?;
        let (lk, tk) = (lock_key(map), token_key(map));
        let ms = lease.as_millis().max(1) as u64;
        let t: u64 = self.inner.run("try_lock", map, false, |c| {
            self.inner
                .scripts
                .try_lock
                .key(&lk)
                .key(&tk)
                .arg(ms)
                .invoke(c)
        })?;
        Ok((t > 0).then(|| FenceToken {
            map: map.to_string(),
            token: t,
        }))
    }

    fn unlock(&self, token: &FenceToken) -> Result<bool, StoreError> {
        let lk = lock_key(&token.map);
        let r: i64 = self.inner.run("unlock", &token.map, true, |c| {
            self.inner
                .scripts
                .unlock
                .key(&lk)
                .arg(token.token)
                .invoke(c)
        })?;
        Ok(r == 1)
    }

    fn put_fenced(&self, token: &FenceToken, key: &str, value: &str) -> Result<(), StoreError> {
        let map = token.map.as_str();
        check_name("map", map)?;
        let (lk, tk) = (lock_key(map), token_key(map));
        let channel = self.inner.channel(map);
        let payload = change_payload(key, Some(value));
        let (ok, current, held): (i64, u64, i64) =
            self.inner.run("put_fenced", map, true, |c| {
                self.inner
                    .scripts
                    .put_fenced
                    .key(map)
                    .key(&lk)
                    .key(&tk)
                    .arg(token.token)
                    .arg(key)
                    .arg(value)
                    .arg(&channel)
                    .arg(&payload)
                    .invoke(c)
            })?;
        self.inner.near.invalidate_key(map, key);
        if ok == 1 {
            return Ok(());
        }
        Err(StoreError::StaleToken {
            map: map.to_string(),
            key: key.to_string(),
            token: token.token,
            current,
            held: held == 1,
        })
    }

    fn beat(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let ts = ts_key(DOLPHIN_HEARTBEAT);
        let channel = self.inner.channel(DOLPHIN_HEARTBEAT);
        let payload = change_payload(name, Some(value));
        self.inner.run("beat", DOLPHIN_HEARTBEAT, true, |c| {
            self.inner
                .scripts
                .beat
                .key(DOLPHIN_HEARTBEAT)
                .key(&ts)
                .arg(name)
                .arg(value)
                .arg(&channel)
                .arg(&payload)
                .invoke::<i64>(c)
        })?;
        self.inner.near.invalidate_key(DOLPHIN_HEARTBEAT, name);
        Ok(())
    }

    fn beat_many(&self, beats: &[(&str, &str)]) -> Result<(), StoreError> {
        if beats.is_empty() {
            return Ok(());
        }
        let ts = ts_key(DOLPHIN_HEARTBEAT);
        let channel = self.inner.channel(DOLPHIN_HEARTBEAT);
        let payloads: Vec<String> = beats
            .iter()
            .map(|(name, value)| change_payload(name, Some(value)))
            .collect();
        self.inner.run("beat", DOLPHIN_HEARTBEAT, true, |c| {
            let mut call = self.inner.scripts.beat_many.key(DOLPHIN_HEARTBEAT);
            call.key(&ts).arg(&channel);
            for ((name, value), payload) in beats.iter().zip(&payloads) {
                call.arg(*name).arg(*value).arg(payload);
            }
            call.invoke::<i64>(c)
        })?;
        for (name, _) in beats {
            self.inner.near.invalidate_key(DOLPHIN_HEARTBEAT, name);
        }
        Ok(())
    }

    fn heartbeat_age(&self, name: &str) -> Result<Option<Duration>, StoreError> {
        let ts = ts_key(DOLPHIN_HEARTBEAT);
        let ms: i64 = self
            .inner
            .run("heartbeat_age", DOLPHIN_HEARTBEAT, true, |c| {
                self.inner
                    .scripts
                    .heartbeat_age
                    .key(&ts)
                    .arg(name)
                    .invoke(c)
            })?;
        Ok((ms >= 0).then(|| Duration::from_millis(ms as u64)))
    }

    fn enable_near_cache(&self, map: &str, config: NearCacheConfig) {
        self.inner.near.enable(map, config);
    }

    fn put_or_defer(&self, map: &str, key: &str, value: &str) -> Result<Delivery, StoreError> {
        let defer = |inner: &Inner| {
            let pending = inner.outbox.push(PendingWrite {
                map: map.to_string(),
                key: key.to_string(),
                value: value.to_string(),
            });
            Ok(Delivery::Deferred { pending })
        };
        if !self.inner.outbox.is_empty() {
            match self.inner.flush() {
                Ok(Some(_)) => {}
                // Another thread is flushing: queue behind it, then help once more.
                Ok(None) => {
                    let d = defer(&self.inner);
                    let _ = self.inner.flush();
                    return if self.inner.outbox.is_empty() {
                        Ok(Delivery::Written)
                    } else {
                        d
                    };
                }
                Err(e) if e.is_unavailable() => return defer(&self.inner),
                Err(e) => return Err(e),
            }
        }
        match self.inner.put(map, key, value) {
            Ok(()) => Ok(Delivery::Written),
            Err(e) if e.is_unavailable() => defer(&self.inner),
            Err(e) => Err(e),
        }
    }

    fn pending_writes(&self) -> usize {
        self.inner.pending()
    }

    fn flush_pending(&self) -> Result<usize, StoreError> {
        Ok(self.inner.flush()?.unwrap_or(0))
    }
}
