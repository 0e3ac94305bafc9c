//! Change delivery on a dedicated thread (B §14.2, S §5.4): listeners never run on the writer's
//! or the trading loop's thread. Events of one map are delivered in arrival order.

use crate::memory::{ChangeEvent, Listener, SubscriptionId};
use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, RwLock};

/// Per map: the listeners, each with the one key it wants (`None` = every key of the map).
type Registry = RwLock<HashMap<String, Vec<(SubscriptionId, Option<String>, Listener)>>>;

fn wants(filter: &Option<String>, key: &str) -> bool {
    filter.as_deref().is_none_or(|k| k == key)
}

/// Listener registry plus the delivery thread that calls them.
pub(crate) struct Dispatcher {
    tx: Mutex<Sender<ChangeEvent>>,
    listeners: Arc<Registry>,
    next_id: AtomicU64,
    /// Bumped by every registration and removal (a cached `has_listeners` answer is good
    /// while it is unchanged: crate::key_ref).
    version: AtomicU64,
}

impl Dispatcher {
    /// Starts the delivery thread; it ends when the dispatcher is dropped.
    pub(crate) fn start(name: &str) -> Self {
        let (tx, rx) = channel::<ChangeEvent>();
        let listeners: Arc<Registry> = Arc::new(RwLock::new(HashMap::default()));
        let reg = Arc::clone(&listeners);
        std::thread::Builder::new()
            .name(format!("{name}-listeners"))
            .spawn(move || {
                while let Ok(event) = rx.recv() {
                    let targets: Vec<Listener> = match reg.read() {
                        Ok(r) => r
                            .get(&event.map)
                            .map(|v| {
                                v.iter()
                                    .filter(|(_, f, _)| wants(f, &event.key))
                                    .map(|(_, _, l)| Arc::clone(l))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                    for l in targets {
                        l(&event);
                    }
                }
            })
            .expect("spawn listener delivery thread");
        Self {
            tx: Mutex::new(tx),
            listeners,
            next_id: AtomicU64::new(1),
            version: AtomicU64::new(0),
        }
    }

    /// Whether anyone listens to `map[key]` (lets backends skip the event: no allocation, no
    /// wake-up of the delivery thread for a key nobody wants).
    pub(crate) fn has_listeners(&self, map: &str, key: &str) -> bool {
        self.listeners
            .read()
            .map(|r| {
                r.get(map)
                    .is_some_and(|v| v.iter().any(|(_, f, _)| wants(f, key)))
            })
            .unwrap_or(false)
    }

    /// The registry's version: changes whenever a listener is added or removed.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Whether anyone listens to any key of `map`.
    pub(crate) fn has_map_listeners(&self, map: &str) -> bool {
        self.listeners
            .read()
            .map(|r| r.get(map).is_some_and(|v| !v.is_empty()))
            .unwrap_or(false)
    }

    /// Registers `listener` for `map`, for every key or only for `key`.
    pub(crate) fn add(&self, map: &str, key: Option<&str>, listener: Listener) -> SubscriptionId {
        let id = SubscriptionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        if let Ok(mut w) = self.listeners.write() {
            w.entry(map.to_string())
                .or_default()
                .push((id, key.map(str::to_string), listener));
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        id
    }

    pub(crate) fn remove(&self, id: SubscriptionId) -> bool {
        let Ok(mut w) = self.listeners.write() else {
            return false;
        };
        for v in w.values_mut() {
            if let Some(pos) = v.iter().position(|(i, _, _)| *i == id) {
                v.remove(pos);
                self.version.fetch_add(1, Ordering::AcqRel);
                return true;
            }
        }
        false
    }

    /// Queues an event for delivery (never blocks on listeners).
    pub(crate) fn emit(&self, event: ChangeEvent) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(event);
        }
    }
}
