//! Heartbeats by name in the embedded store: the values of one batch written under one map
//! lock, text or typed, each emitted when the map is listened to, and all stamped with one
//! reading of the store's clock (`heartbeat_age`).

use super::EmbeddedMemory;
use crate::error::StoreError;
use crate::schema::DOLPHIN_HEARTBEAT;
use crate::slot_map::Maps;
use crate::typed::{Entry, StoredRef};
use std::time::Instant;

impl EmbeddedMemory {
    /// `beat_many` and `beat_many_typed`: every `(name, value)` into `DOLPHIN_HEARTBEAT`.
    pub(super) fn beat_values<'a>(
        &self,
        beats: impl Iterator<Item = (&'a str, StoredRef<'a>)> + Clone,
    ) -> Result<(), StoreError> {
        let mut maps = self.write_maps(DOLPHIN_HEARTBEAT)?;
        let listened = self.inner.dispatcher.has_map_listeners(DOLPHIN_HEARTBEAT);
        let m = maps.index_for(DOLPHIN_HEARTBEAT);
        let m = maps.at_mut(m);
        for (name, value) in beats.clone() {
            match m.get_mut(name) {
                Some(slot) => slot.set(value),
                None => m.insert(name, Entry::of(value)),
            }
            if listened {
                value.with_text(|t| self.emit(DOLPHIN_HEARTBEAT, name, Some(t)));
            }
        }
        Self::stamp_beats(&mut maps, beats.map(|(n, _)| n));
        Ok(())
    }

    /// Stamps the store's own clock for heartbeats `names` (one clock reading for all), under
    /// the map lock the caller holds.
    pub(super) fn stamp_beats<'a>(maps: &mut Maps, names: impl Iterator<Item = &'a str>) {
        let Some(m) = maps.get_mut(DOLPHIN_HEARTBEAT) else {
            return;
        };
        let now = Instant::now();
        for name in names {
            if let Some(i) = m.find(name) {
                m.slot_mut(i).stamped = Some(now);
            }
        }
    }
}
