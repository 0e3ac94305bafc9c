//! A map key resolved once for values a service reads or writes every bar — a heartbeat, the
//! latest scan, the trader's state (docs/SERVICES.md "Speed"). The embedded store remembers
//! where the value lives (a slot and its generation) and whether anyone listens to it, so a
//! write or read through a [`KeyRef`] neither hashes nor compares the names again; other
//! backends use the names (the default methods of [`SystemMemory`]).
//!
//! A `KeyRef` is owned by one user (it is `Send`, not `Sync`): clone it for another thread.
//! The cache is only a hint: it is checked against the store's identity and the slot's
//! generation (a key removed and written again gets a new generation), so a stale one falls
//! back to the names and never reads another key.
//!
//! [`SystemMemory`]: crate::SystemMemory

use crate::error::StoreError;
use crate::memory::check_name;
use std::cell::Cell;

/// Where the embedded store found the key last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The identity of the store that resolved it.
    pub store: u64,
    pub map: u32,
    pub slot: u32,
    pub generation: u32,
    /// The listener registry's version when `listened` was taken.
    pub listen_version: u64,
    pub listened: bool,
}

/// `map[key]`, resolved on first use by the backends that can.
#[derive(Debug)]
pub struct KeyRef {
    map: Box<str>,
    key: Box<str>,
    resolved: Cell<Option<Resolved>>,
}

impl KeyRef {
    /// A reference to `map[key]` (the map name is checked as every write checks it).
    pub fn new(map: &str, key: &str) -> Result<Self, StoreError> {
        check_name("map", map)?;
        Ok(Self {
            map: map.into(),
            key: key.into(),
            resolved: Cell::new(None),
        })
    }

    pub fn map(&self) -> &str {
        &self.map
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn resolved(&self) -> Option<Resolved> {
        self.resolved.get()
    }

    pub(crate) fn set_resolved(&self, r: Option<Resolved>) {
        self.resolved.set(r);
    }
}

impl Clone for KeyRef {
    /// The same key, unresolved (the clone resolves on its own first use).
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
            key: self.key.clone(),
            resolved: Cell::new(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_clones_start_unresolved() {
        assert!(KeyRef::new("", "k").is_err());
        assert!(KeyRef::new("M{x}", "k").is_err());
        let k = KeyRef::new("DOLPHIN_HEARTBEAT", "trader").unwrap();
        assert_eq!((k.map(), k.key()), ("DOLPHIN_HEARTBEAT", "trader"));
        let r = Resolved {
            store: 1,
            map: 2,
            slot: 3,
            generation: 4,
            listen_version: 5,
            listened: false,
        };
        k.set_resolved(Some(r));
        assert_eq!(k.resolved(), Some(r));
        assert_eq!(k.clone().resolved(), None);
    }
}
