//! The embedded store through resolved keys (crate::key_ref): a [`KeyRef`] remembers its
//! value's slot (crate::slot_map) and generation in this store and whether anyone listens to
//! it; a stale or foreign resolution falls back to the names.

use super::EmbeddedMemory;
use crate::key_ref::{KeyRef, Resolved};
use crate::slot_map::{Maps, Slot};
use crate::typed::{Entry, StoredRef, TypedValue};
use std::time::Instant;

impl EmbeddedMemory {
    /// The slot of `at` when it holds a value: through its resolution when that is this
    /// store's and still live, else by the names (and resolved for next time).
    pub(super) fn find_at(&self, maps: &Maps, at: &KeyRef) -> Option<(u32, u32)> {
        if let Some(r) = at.resolved()
            && r.store == self.inner.id
            && maps.at(r.map).live(r.slot, r.generation).is_some()
        {
            return Some((r.map, r.slot));
        }
        let m = maps.find(at.map())?;
        let s = maps.at(m).find(at.key())?;
        self.resolve(maps, at, m, s);
        Some((m, s))
    }

    /// The value of `at` as stored, when there is one.
    pub(super) fn stored_at<'m>(&self, maps: &'m Maps, at: &KeyRef) -> Option<StoredRef<'m>> {
        let (m, s) = self.find_at(maps, at)?;
        maps.at(m).slot(s).entry.as_ref().map(Entry::as_ref)
    }

    fn resolve(&self, maps: &Maps, at: &KeyRef, m: u32, s: u32) {
        at.set_resolved(Some(Resolved {
            store: self.inner.id,
            map: m,
            slot: s,
            generation: maps.at(m).slot(s).generation,
            listen_version: u64::MAX,
            listened: false,
        }));
    }

    /// The slot of `at` for a write, made when the key is new (its `entry` then `None`: the
    /// caller fills it).
    fn slot_at<'m>(&self, maps: &'m mut Maps, at: &KeyRef) -> &'m mut Slot {
        let (m, s) = match self.find_at(maps, at) {
            Some(found) => found,
            None => {
                let m = maps.index_for(at.map());
                let s = maps.at_mut(m).slot_for(at.key());
                self.resolve(maps, at, m, s);
                (m, s)
            }
        };
        maps.at_mut(m).slot_mut(s)
    }

    /// Whether anyone listens to `at` (resolved), taken again only when the listeners changed.
    fn listened(&self, at: &KeyRef) -> bool {
        let version = self.inner.dispatcher.version();
        match at.resolved() {
            Some(r) if r.listen_version == version => r.listened,
            Some(mut r) => {
                r.listened = self.inner.dispatcher.has_listeners(at.map(), at.key());
                r.listen_version = version;
                at.set_resolved(Some(r));
                r.listened
            }
            None => self.inner.dispatcher.has_listeners(at.map(), at.key()),
        }
    }

    /// Sets the slot of `at` to `value` (stamped at `stamp`, a heartbeat) and emits it when
    /// listened, under the map lock the caller holds.
    pub(super) fn put_typed_locked(
        &self,
        maps: &mut Maps,
        at: &KeyRef,
        value: &dyn TypedValue,
        stamp: Option<Instant>,
    ) {
        let slot = self.slot_at(maps, at);
        match slot.entry.as_mut() {
            Some(e) => e.set_typed(value),
            None => slot.entry = Some(Entry::Typed(value.clone_box())),
        }
        if stamp.is_some() {
            slot.stamped = stamp;
        }
        if self.listened(at) {
            self.emit(at.map(), at.key(), Some(&crate::typed::json_of(value)));
        }
    }
}
