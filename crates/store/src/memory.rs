//! The `SystemMemory` trait: what the services need from the shared store that Hazelcast was
//! in the sources (B §2, §14.2–14.5, §15, §16; S §5.4, §10; SPEC §4 item 8).

use crate::error::StoreError;
use crate::key_ref::KeyRef;
use crate::near_cache::NearCacheConfig;
use crate::typed::{StoredRef, TypedValue, json_of};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One change of a map entry, as delivered to listeners (B §14.2 entry listener): the key and
/// the new value, `None` when the entry was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    pub map: String,
    pub key: String,
    pub value: Option<String>,
}

/// A change listener. It runs on the store's dedicated delivery thread (B §14.2: never the
/// caller's event loop), so it should only hand the value over (the pending-flag pattern).
pub type Listener = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

/// Handle of a registered listener, for [`SystemMemory::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// The proof of holding a map's fenced lock (B §15.4, §16.1 "CP FencedLock"). Tokens of one
/// lock increase strictly with every acquisition; a write carrying a token other than the live
/// holder's is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceToken {
    /// The map the lock guards.
    pub map: String,
    /// The fencing token (1, 2, 3, … per map, never reused).
    pub token: u64,
}

/// What became of a write made with [`SystemMemory::put_or_defer`] (S §17.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The store acknowledged the write.
    Written,
    /// The store was unreachable; the write waits in the outbox (this many writes now wait)
    /// and is flushed, in order, on reconnect.
    Deferred { pending: usize },
}

/// The system memory of DOLPHIN: named maps of JSON strings with change listeners, a
/// compare-and-set cell, fenced locks, heartbeats and an optional near cache (B §15, S §10).
///
/// Values are opaque strings (JSON by convention, see [`crate::schema`]). Map, cell and lock
/// names must not contain `{` or `}` (they become Redis hash tags).
pub trait SystemMemory: Send + Sync {
    /// Short name of the backend (`embedded`, `redis`, `redis-cluster`).
    fn backend(&self) -> &'static str;

    /// Sets `map[key] = value` and notifies listeners once the value is readable.
    fn put(&self, map: &str, key: &str, value: &str) -> Result<(), StoreError>;
    /// The value of `map[key]`, `None` when absent.
    fn get(&self, map: &str, key: &str) -> Result<Option<String>, StoreError>;
    /// Removes `map[key]`, returning the old value; listeners see `value: None`.
    fn remove(&self, map: &str, key: &str) -> Result<Option<String>, StoreError>;
    /// All keys of `map`, sorted.
    fn key_set(&self, map: &str) -> Result<Vec<String>, StoreError>;
    /// All entries of `map`.
    fn get_all(&self, map: &str) -> Result<BTreeMap<String, String>, StoreError>;

    /// Calls `f` with `map[key]` (`None` when absent) without copying it out of the store.
    /// The default copies through [`get`](Self::get); the embedded backend lends its own
    /// buffer (the watchdog reads several values every minute of event time, SPEC §8).
    fn read_with(
        &self,
        map: &str,
        key: &str,
        f: &mut dyn FnMut(Option<&str>),
    ) -> Result<(), StoreError> {
        let v = self.get(map, key)?;
        f(v.as_deref());
        Ok(())
    }
    /// Calls `f` with every entry of `map` in key order, without copying the map out.
    fn visit_all(&self, map: &str, f: &mut dyn FnMut(&str, &str)) -> Result<(), StoreError> {
        for (k, v) in self.get_all(map)? {
            f(&k, &v);
        }
        Ok(())
    }

    /// Registers a listener for every change of `map`. Changes of one map reach a listener in
    /// the order they were applied, on a dedicated delivery thread.
    fn subscribe(&self, map: &str, listener: Listener) -> Result<SubscriptionId, StoreError>;
    /// Registers a listener for the changes of `map[key]` only. Backends that can filter
    /// before queuing (embedded, Redis) skip the event entirely for other keys; the default
    /// filters in the listener.
    fn subscribe_key(
        &self,
        map: &str,
        key: &str,
        listener: Listener,
    ) -> Result<SubscriptionId, StoreError> {
        let key = key.to_string();
        let inner = listener;
        self.subscribe(
            map,
            std::sync::Arc::new(move |e: &ChangeEvent| {
                if e.key == key {
                    inner(e)
                }
            }),
        )
    }
    /// Removes a listener; `false` if it was not registered.
    fn unsubscribe(&self, id: SubscriptionId) -> bool;

    /// The current value of a compare-and-set cell (B §14.4 `DOLPHIN_SAFETY` AtomicReference).
    fn cell_get(&self, cell: &str) -> Result<Option<String>, StoreError>;
    /// Sets `cell` to `new` only if it currently holds `expected` (`None` = absent); `true` if
    /// it was set. Linearizable per cell on one node (see docs/STORE.md for failover limits).
    fn compare_and_set(
        &self,
        cell: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// Tries once to take the fenced lock guarding `map` for `lease`; `None` if it is held.
    fn try_lock(&self, map: &str, lease: Duration) -> Result<Option<FenceToken>, StoreError>;
    /// Releases the lock if `token` still holds it; `false` if it had expired or moved on.
    fn unlock(&self, token: &FenceToken) -> Result<bool, StoreError>;
    /// Writes `token.map[key] = value` only while `token` is the live holder of the map's lock
    /// (lease not expired, no newer token issued); else [`StoreError::StaleToken`].
    fn put_fenced(&self, token: &FenceToken, key: &str, value: &str) -> Result<(), StoreError>;

    /// Records a heartbeat: `DOLPHIN_HEARTBEAT[name] = value` plus the store's own clock.
    fn beat(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Records several heartbeats `(name, value)` at once (the supervisor beats every service
    /// on the same tick); the default writes them one by one with [`beat`](Self::beat) and
    /// stops at the first failure.
    fn beat_many(&self, beats: &[(&str, &str)]) -> Result<(), StoreError> {
        for (name, value) in beats {
            self.beat(name, value)?;
        }
        Ok(())
    }
    /// Sets `map[key]` to a typed value (crate::typed). The default stores its JSON text with
    /// [`put`](Self::put); the embedded backend keeps the value and renders the text only
    /// for text readers.
    fn put_typed(&self, map: &str, key: &str, value: &dyn TypedValue) -> Result<(), StoreError> {
        self.put(map, key, &json_of(value))
    }
    /// Calls `f` with `map[key]` as stored: typed when it was written typed to a backend that
    /// keeps types, else its text. The default reads the text with
    /// [`read_with`](Self::read_with).
    fn read_typed_with(
        &self,
        map: &str,
        key: &str,
        f: &mut dyn FnMut(Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        self.read_with(map, key, &mut |v| f(v.map(StoredRef::Text)))
    }
    /// [`visit_all`](Self::visit_all) with each value as stored (typed or text).
    fn visit_all_typed(
        &self,
        map: &str,
        f: &mut dyn FnMut(&str, StoredRef<'_>),
    ) -> Result<(), StoreError> {
        self.visit_all(map, &mut |k, v| f(k, StoredRef::Text(v)))
    }
    /// [`beat_many`](Self::beat_many) with typed values; the default writes their texts.
    fn beat_many_typed(&self, beats: &[(&str, &dyn TypedValue)]) -> Result<(), StoreError> {
        let texts: Vec<String> = beats.iter().map(|(_, v)| json_of(*v)).collect();
        let pairs: Vec<(&str, &str)> = beats
            .iter()
            .zip(&texts)
            .map(|((n, _), t)| (*n, t.as_str()))
            .collect();
        self.beat_many(&pairs)
    }
    /// [`put_typed`](Self::put_typed) through a resolved key (crate::key_ref): the embedded
    /// store finds the value's slot without the names.
    fn put_typed_at(&self, at: &KeyRef, value: &dyn TypedValue) -> Result<(), StoreError> {
        self.put_typed(at.map(), at.key(), value)
    }
    /// [`read_typed_with`](Self::read_typed_with) through a resolved key.
    fn read_typed_at(
        &self,
        at: &KeyRef,
        f: &mut dyn FnMut(Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        self.read_typed_with(at.map(), at.key(), f)
    }
    /// Reads the keys `at` in one operation: `f(i, value of at[i])`, `None` for a missing one.
    /// The default reads a single map once with [`visit_all_typed`](Self::visit_all_typed)
    /// (one round trip on Redis), keys of several maps one by one.
    fn read_many_typed_at(
        &self,
        at: &[KeyRef],
        f: &mut dyn FnMut(usize, Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        let Some(first) = at.first() else {
            return Ok(());
        };
        if at.iter().any(|k| k.map() != first.map()) {
            for (i, k) in at.iter().enumerate() {
                self.read_typed_at(k, &mut |v| f(i, v))?;
            }
            return Ok(());
        }
        let mut seen = vec![false; at.len()];
        self.visit_all_typed(first.map(), &mut |key, v| {
            if let Some(i) = at.iter().position(|k| k.key() == key) {
                seen[i] = true;
                f(i, Some(v));
            }
        })?;
        for (i, s) in seen.iter().enumerate() {
            if !s {
                f(i, None);
            }
        }
        Ok(())
    }
    /// [`beat_many_typed`](Self::beat_many_typed) through resolved keys of
    /// `DOLPHIN_HEARTBEAT`.
    fn beat_many_at(&self, beats: &[(&KeyRef, &dyn TypedValue)]) -> Result<(), StoreError> {
        let named: Vec<(&str, &dyn TypedValue)> =
            beats.iter().map(|(k, v)| (k.key(), *v)).collect();
        self.beat_many_typed(&named)
    }
    /// Calls `f` with the compare-and-set cell's value without copying it out.
    fn cell_read_with(
        &self,
        cell: &str,
        f: &mut dyn FnMut(Option<&str>),
    ) -> Result<(), StoreError> {
        let v = self.cell_get(cell)?;
        f(v.as_deref());
        Ok(())
    }
    /// Time since the last heartbeat of `name` by the store's clock; `None` if never beaten.
    fn heartbeat_age(&self, name: &str) -> Result<Option<Duration>, StoreError>;

    /// Turns on a near cache for `map` (B §15.3), invalidated on change.
    fn enable_near_cache(&self, map: &str, config: NearCacheConfig);

    /// Like [`put`](Self::put), but if the store is unreachable the write is kept in an outbox
    /// and flushed in order on reconnect (S §17.5: never dropped silently).
    fn put_or_defer(&self, map: &str, key: &str, value: &str) -> Result<Delivery, StoreError>;
    /// Number of writes waiting in the outbox.
    fn pending_writes(&self) -> usize;
    /// Writes the outbox now; returns how many were written.
    fn flush_pending(&self) -> Result<usize, StoreError>;

    /// Waits until the fenced lock of `map` is free or `wait` has passed, polling with backoff.
    fn lock(
        &self,
        map: &str,
        lease: Duration,
        wait: Duration,
    ) -> Result<Option<FenceToken>, StoreError> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(t) = self.try_lock(map, lease)? {
                return Ok(Some(t));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Subscribes with a channel instead of a callback: events of `map` arrive on the receiver.
    fn subscribe_channel(
        &self,
        map: &str,
    ) -> Result<(SubscriptionId, mpsc::Receiver<ChangeEvent>), StoreError> {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let id = self.subscribe(
            map,
            Arc::new(move |e: &ChangeEvent| {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(e.clone());
                }
            }),
        )?;
        Ok((id, rx))
    }
}

/// Checks a map, cell or lock name: non-empty and without hash-tag braces.
pub(crate) fn check_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.bytes().any(|b| b == b'{' || b == b'}') {
        return Err(StoreError::Config {
            field,
            reason: format!("name `{name}` must be non-empty and contain no `{{` or `}}`"),
        });
    }
    Ok(())
}
