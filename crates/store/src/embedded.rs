//! The embedded system memory: in-process, thread-safe, push notifications on a dedicated
//! thread. The default backend (SPEC §4 item 8) for replay, tests and a single-process paper
//! run. Everything is in RAM; nothing survives the process.

use crate::dispatcher::Dispatcher;
use crate::error::StoreError;
use crate::key_ref::KeyRef;
use crate::memory::{
    ChangeEvent, Delivery, FenceToken, Listener, SubscriptionId, SystemMemory, check_name,
};
use crate::near_cache::NearCacheConfig;
use crate::schema::DOLPHIN_HEARTBEAT;
use crate::slot_map::Maps;
use crate::typed::{Entry, StoredRef, TypedValue};

mod beats;
mod resolved;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Default)]
struct LockState {
    /// Last issued token (0 = never locked).
    counter: u64,
    /// Live holder: token and lease end.
    holder: Option<(u64, Instant)>,
}

impl LockState {
    fn live_holder(&self, now: Instant) -> Option<u64> {
        self.holder.filter(|(_, end)| *end > now).map(|(t, _)| t)
    }
}

/// The identity of the next store made (a [`KeyRef`] resolved by one store is not used by
/// another).
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    id: u64,
    /// Every map: name → key → value (text, or typed: crate::typed), in slots (crate::slot_map);
    /// a heartbeat's slot also holds when it was written (`heartbeat_age`).
    maps: RwLock<Maps>,
    cells: Mutex<HashMap<String, String>>,
    locks: Mutex<HashMap<String, LockState>>,
    dispatcher: Dispatcher,
}

/// In-process [`SystemMemory`]. Clones share the same store (a "second client").
/// The near cache is accepted and ignored: reads are already local and always current.
#[derive(Clone)]
pub struct EmbeddedMemory {
    inner: Arc<Inner>,
}

impl Default for EmbeddedMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl EmbeddedMemory {
    /// An empty store with its own delivery thread.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                maps: RwLock::new(Maps::default()),
                cells: Mutex::new(HashMap::default()),
                locks: Mutex::new(HashMap::default()),
                dispatcher: Dispatcher::start("embedded"),
            }),
        }
    }

    fn poisoned(op: &'static str, map: &str) -> StoreError {
        StoreError::Backend {
            backend: "embedded",
            op,
            map: map.to_string(),
            reason: "a writer panicked while holding the store lock".into(),
        }
    }

    /// Removes `map[key]` and emits the change while still holding the map lock, so listeners
    /// see changes of one map in the order they were applied.
    fn remove_entry(&self, map: &str, key: &str) -> Result<Option<String>, StoreError> {
        check_name("map", map)?;
        let mut maps = self.write_maps(map)?;
        let old = maps.get_mut(map).and_then(|m| m.remove(key));
        if old.is_some() {
            self.emit(map, key, None);
        }
        Ok(old.map(|e| e.text()))
    }

    fn write_maps(&self, map: &str) -> Result<std::sync::RwLockWriteGuard<'_, Maps>, StoreError> {
        self.inner
            .maps
            .write()
            .map_err(|_| Self::poisoned("write", map))
    }

    /// A put (the old value is not returned): an existing entry's buffer is reused, so a
    /// value rewritten every bar — a heartbeat, the latest scan, the posture — costs no
    /// allocation. The change is emitted under the map lock, keeping one map's events in order.
    fn overwrite(&self, map: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let mut maps = match self.write_maps(map) {
            Ok(maps) => maps,
            Err(e) => {
                // The name's error first, as when it is checked before the lock.
                check_name("map", map)?;
                return Err(e);
            }
        };
        self.overwrite_locked(&mut maps, map, key, value)
    }

    /// [`Self::overwrite`] under a map lock the caller holds. The map's name is checked only
    /// for a new entry: every map in the store was made under a checked name.
    fn overwrite_locked(
        &self,
        maps: &mut Maps,
        map: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        match maps.get_mut(map).and_then(|m| m.get_mut(key)) {
            Some(slot) => slot.set_text(value),
            None => {
                check_name("map", map)?;
                let m = maps.index_for(map);
                maps.at_mut(m).insert(key, Entry::Text(value.to_string()));
            }
        }
        self.emit(map, key, Some(value));
        Ok(())
    }

    /// [`Self::overwrite_locked`] with a typed value (its text is rendered only for
    /// listeners).
    fn overwrite_typed_locked(
        &self,
        maps: &mut Maps,
        map: &str,
        key: &str,
        value: &dyn TypedValue,
    ) {
        match maps.get_mut(map).and_then(|m| m.get_mut(key)) {
            Some(slot) => slot.set_typed(value),
            None => {
                let m = maps.index_for(map);
                maps.at_mut(m).insert(key, Entry::Typed(value.clone_box()));
            }
        }
        if self.inner.dispatcher.has_listeners(map, key) {
            self.emit(map, key, Some(&crate::typed::json_of(value)));
        }
    }

    fn read_maps(
        &self,
        op: &'static str,
        map: &str,
    ) -> Result<std::sync::RwLockReadGuard<'_, Maps>, StoreError> {
        self.inner.maps.read().map_err(|_| Self::poisoned(op, map))
    }

    /// Queues the change for the listeners of `map[key]`, if there are any (under the map
    /// lock held by the caller, which keeps one map's events in order).
    fn emit(&self, map: &str, key: &str, value: Option<&str>) {
        if self.inner.dispatcher.has_listeners(map, key) {
            self.inner.dispatcher.emit(ChangeEvent {
                map: map.to_string(),
                key: key.to_string(),
                value: value.map(str::to_string),
            });
        }
    }
}

impl SystemMemory for EmbeddedMemory {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    fn put(&self, map: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.overwrite(map, key, value)
    }

    fn get(&self, map: &str, key: &str) -> Result<Option<String>, StoreError> {
        let maps = self
            .inner
            .maps
            .read()
            .map_err(|_| Self::poisoned("get", map))?;
        Ok(maps.get(map).and_then(|m| m.get(key)).map(Entry::text))
    }

    fn remove(&self, map: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.remove_entry(map, key)
    }

    fn key_set(&self, map: &str) -> Result<Vec<String>, StoreError> {
        let maps = self
            .inner
            .maps
            .read()
            .map_err(|_| Self::poisoned("key_set", map))?;
        Ok(maps
            .get(map)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn get_all(&self, map: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let maps = self
            .inner
            .maps
            .read()
            .map_err(|_| Self::poisoned("get_all", map))?;
        Ok(maps
            .get(map)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.text())).collect())
            .unwrap_or_default())
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
        let cells = self
            .inner
            .cells
            .lock()
            .map_err(|_| Self::poisoned("cell_get", cell))?;
        Ok(cells.get(cell).cloned())
    }

    fn compare_and_set(
        &self,
        cell: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError> {
        // The name is checked only when the cell does not exist: every cell was made under a
        // checked name. (A bad name's error still comes first, as when it is checked first.)
        let Ok(mut cells) = self.inner.cells.lock() else {
            check_name("cell", cell)?;
            return Err(Self::poisoned("cas", cell));
        };
        match (cells.get_mut(cell), expected) {
            (Some(v), Some(e)) if v == e => {
                v.clear();
                v.push_str(new);
            }
            (Some(_), _) => return Ok(false),
            (None, None) => {
                check_name("cell", cell)?;
                cells.insert(cell.to_string(), new.to_string());
            }
            (None, Some(_)) => {
                check_name("cell", cell)?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn try_lock(&self, map: &str, lease: Duration) -> Result<Option<FenceToken>, StoreError> {
        check_name("lock", map)?;
        let mut locks = self
            .inner
            .locks
            .lock()
            .map_err(|_| Self::poisoned("lock", map))?;
        let st = locks.entry(map.to_string()).or_default();
        let now = Instant::now();
        if st.live_holder(now).is_some() {
            return Ok(None);
        }
        st.counter += 1;
        st.holder = Some((st.counter, now + lease));
        Ok(Some(FenceToken {
            map: map.to_string(),
            token: st.counter,
        }))
    }

    fn unlock(&self, token: &FenceToken) -> Result<bool, StoreError> {
        let mut locks = self
            .inner
            .locks
            .lock()
            .map_err(|_| Self::poisoned("unlock", &token.map))?;
        let Some(st) = locks.get_mut(&token.map) else {
            return Ok(false);
        };
        if st.live_holder(Instant::now()) == Some(token.token) {
            st.holder = None;
            return Ok(true);
        }
        Ok(false)
    }

    fn put_fenced(&self, token: &FenceToken, key: &str, value: &str) -> Result<(), StoreError> {
        // Hold the lock table across the write so that no acquisition slips in between.
        let locks = self
            .inner
            .locks
            .lock()
            .map_err(|_| Self::poisoned("put_fenced", &token.map))?;
        let (current, live) = locks
            .get(&token.map)
            .map(|st| (st.counter, st.live_holder(Instant::now())))
            .unwrap_or((0, None));
        if current != token.token || live != Some(token.token) {
            return Err(StoreError::StaleToken {
                map: token.map.clone(),
                key: key.to_string(),
                token: token.token,
                current,
                held: live.is_some(),
            });
        }
        self.overwrite(&token.map, key, value)?;
        drop(locks);
        Ok(())
    }

    fn beat(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.beat_values(std::iter::once((name, StoredRef::Text(value))))
    }

    fn beat_many(&self, beats: &[(&str, &str)]) -> Result<(), StoreError> {
        self.beat_values(beats.iter().map(|(n, v)| (*n, StoredRef::Text(v))))
    }

    fn read_with(
        &self,
        map: &str,
        key: &str,
        f: &mut dyn FnMut(Option<&str>),
    ) -> Result<(), StoreError> {
        let maps = self.read_maps("get", map)?;
        match maps.get(map).and_then(|m| m.get(key)) {
            Some(e) => e.with_text(|t| f(Some(t))),
            None => f(None),
        }
        Ok(())
    }

    fn visit_all(&self, map: &str, f: &mut dyn FnMut(&str, &str)) -> Result<(), StoreError> {
        let maps = self.read_maps("get_all", map)?;
        if let Some(m) = maps.get(map) {
            for (k, v) in m.iter() {
                v.with_text(|t| f(k, t));
            }
        }
        Ok(())
    }

    fn put_typed(&self, map: &str, key: &str, value: &dyn TypedValue) -> Result<(), StoreError> {
        check_name("map", map)?;
        let mut maps = self.write_maps(map)?;
        self.overwrite_typed_locked(&mut maps, map, key, value);
        Ok(())
    }

    fn read_typed_with(
        &self,
        map: &str,
        key: &str,
        f: &mut dyn FnMut(Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        let maps = self.read_maps("get", map)?;
        f(maps.get(map).and_then(|m| m.get(key)).map(Entry::as_ref));
        Ok(())
    }

    fn visit_all_typed(
        &self,
        map: &str,
        f: &mut dyn FnMut(&str, StoredRef<'_>),
    ) -> Result<(), StoreError> {
        let maps = self.read_maps("get_all", map)?;
        if let Some(m) = maps.get(map) {
            for (k, v) in m.iter() {
                f(k, v.as_ref());
            }
        }
        Ok(())
    }

    fn beat_many_typed(&self, beats: &[(&str, &dyn TypedValue)]) -> Result<(), StoreError> {
        self.beat_values(beats.iter().map(|(n, v)| (*n, StoredRef::Typed(*v))))
    }

    fn put_typed_at(&self, at: &KeyRef, value: &dyn TypedValue) -> Result<(), StoreError> {
        let mut maps = self.write_maps(at.map())?;
        self.put_typed_locked(&mut maps, at, value, None);
        Ok(())
    }

    fn read_typed_at(
        &self,
        at: &KeyRef,
        f: &mut dyn FnMut(Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        let maps = self.read_maps("get", at.map())?;
        f(self.stored_at(&maps, at));
        Ok(())
    }

    fn read_many_typed_at(
        &self,
        at: &[KeyRef],
        f: &mut dyn FnMut(usize, Option<StoredRef<'_>>),
    ) -> Result<(), StoreError> {
        let Some(first) = at.first() else {
            return Ok(());
        };
        let maps = self.read_maps("get_all", first.map())?;
        for (i, k) in at.iter().enumerate() {
            f(i, self.stored_at(&maps, k));
        }
        Ok(())
    }

    fn beat_many_at(&self, beats: &[(&KeyRef, &dyn TypedValue)]) -> Result<(), StoreError> {
        if let Some((k, _)) = beats.iter().find(|(k, _)| k.map() != DOLPHIN_HEARTBEAT) {
            return Err(StoreError::Config {
                field: "map",
                reason: format!("a heartbeat goes to {DOLPHIN_HEARTBEAT}, not {}", k.map()),
            });
        }
        let mut maps = self.write_maps(DOLPHIN_HEARTBEAT)?;
        let now = Instant::now();
        for (at, value) in beats {
            self.put_typed_locked(&mut maps, at, *value, Some(now));
        }
        Ok(())
    }

    fn cell_read_with(
        &self,
        cell: &str,
        f: &mut dyn FnMut(Option<&str>),
    ) -> Result<(), StoreError> {
        let cells = self
            .inner
            .cells
            .lock()
            .map_err(|_| Self::poisoned("cell_get", cell))?;
        f(cells.get(cell).map(String::as_str));
        Ok(())
    }

    fn heartbeat_age(&self, name: &str) -> Result<Option<Duration>, StoreError> {
        let maps = self.read_maps("heartbeat_age", DOLPHIN_HEARTBEAT)?;
        Ok(maps
            .get(DOLPHIN_HEARTBEAT)
            .and_then(|m| m.find(name))
            .and_then(|i| maps.get(DOLPHIN_HEARTBEAT)?.slot(i).stamped)
            .map(|t| t.elapsed()))
    }

    fn enable_near_cache(&self, _map: &str, _config: NearCacheConfig) {}

    fn put_or_defer(&self, map: &str, key: &str, value: &str) -> Result<Delivery, StoreError> {
        self.put(map, key, value).map(|_| Delivery::Written)
    }

    fn pending_writes(&self) -> usize {
        0
    }

    fn flush_pending(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
}
