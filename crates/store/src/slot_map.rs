//! The embedded store's maps: every map keeps its keys in order (a `BTreeMap`, for `get_all`
//! and `visit_all`) pointing at slots whose place never moves while the key exists, so a
//! [`KeyRef`](crate::KeyRef) can find its value again by slot and generation without the
//! names. A removed key frees its slot and bumps the slot's generation; maps are never
//! removed.

use crate::typed::Entry;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::time::Instant;

/// One value's place.
pub(crate) struct Slot {
    /// `None` while the slot is free.
    pub entry: Option<Entry>,
    pub generation: u32,
    /// When a heartbeat was last written here (the store's clock, `heartbeat_age`).
    pub stamped: Option<Instant>,
}

/// One map: keys in order, values in slots.
#[derive(Default)]
pub(crate) struct SlotMap {
    keys: BTreeMap<String, u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl SlotMap {
    pub fn find(&self, key: &str) -> Option<u32> {
        self.keys.get(key).copied()
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.find(key)
            .and_then(|i| self.slots[i as usize].entry.as_ref())
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let i = self.find(key)?;
        self.slots[i as usize].entry.as_mut()
    }

    /// The slot of `key`, made (empty of a value but stamped never) when absent. The caller
    /// fills `entry` at once.
    pub fn slot_for(&mut self, key: &str) -> u32 {
        if let Some(i) = self.find(key) {
            return i;
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    entry: None,
                    generation: 0,
                    stamped: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.keys.insert(key.to_string(), i);
        i
    }

    /// Sets `key` to `entry` (a new key gets a slot).
    pub fn insert(&mut self, key: &str, entry: Entry) {
        let i = self.slot_for(key);
        self.slots[i as usize].entry = Some(entry);
    }

    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.keys.remove(key)?;
        let s = &mut self.slots[i as usize];
        s.generation = s.generation.wrapping_add(1);
        s.stamped = None;
        self.free.push(i);
        s.entry.take()
    }

    /// Every key and value in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.keys
            .iter()
            .filter_map(|(k, &i)| self.slots[i as usize].entry.as_ref().map(|e| (k, e)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.keys.keys()
    }

    pub fn slot(&self, i: u32) -> &Slot {
        &self.slots[i as usize]
    }

    pub fn slot_mut(&mut self, i: u32) -> &mut Slot {
        &mut self.slots[i as usize]
    }

    /// The slot `i` when it still holds a value of generation `generation`.
    pub fn live(&self, i: u32, generation: u32) -> Option<&Slot> {
        self.slots
            .get(i as usize)
            .filter(|s| s.generation == generation && s.entry.is_some())
    }
}

/// Every map by name, each at a fixed index.
#[derive(Default)]
pub(crate) struct Maps {
    index: HashMap<String, u32>,
    maps: Vec<SlotMap>,
}

impl Maps {
    pub fn find(&self, map: &str) -> Option<u32> {
        self.index.get(map).copied()
    }

    pub fn get(&self, map: &str) -> Option<&SlotMap> {
        self.find(map).map(|i| &self.maps[i as usize])
    }

    pub fn get_mut(&mut self, map: &str) -> Option<&mut SlotMap> {
        let i = self.find(map)?;
        Some(&mut self.maps[i as usize])
    }

    /// The index of `map`, made empty when absent.
    pub fn index_for(&mut self, map: &str) -> u32 {
        if let Some(i) = self.find(map) {
            return i;
        }
        self.maps.push(SlotMap::default());
        let i = (self.maps.len() - 1) as u32;
        self.index.insert(map.to_string(), i);
        i
    }

    pub fn at(&self, i: u32) -> &SlotMap {
        &self.maps[i as usize]
    }

    pub fn at_mut(&mut self, i: u32) -> &mut SlotMap {
        &mut self.maps[i as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: Option<&Entry>) -> Option<String> {
        e.map(Entry::text)
    }

    #[test]
    fn slots_stay_put_and_removal_bumps_the_generation() {
        let mut maps = Maps::default();
        let m = maps.index_for("M");
        assert_eq!(maps.index_for("M"), m);
        let sm = maps.at_mut(m);
        sm.insert("b", Entry::Text("2".into()));
        sm.insert("a", Entry::Text("1".into()));
        let b = sm.find("b").unwrap();
        sm.insert("c", Entry::Text("3".into()));
        assert_eq!(sm.find("b"), Some(b), "other inserts do not move a slot");
        let keys: Vec<_> = sm.iter().map(|(k, e)| (k.clone(), e.text())).collect();
        assert_eq!(
            keys,
            [("a", "1"), ("b", "2"), ("c", "3")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let g = sm.slot(b).generation;
        assert!(sm.live(b, g).is_some());
        assert_eq!(sm.remove("b").map(|e| e.text()).as_deref(), Some("2"));
        assert!(sm.live(b, g).is_none(), "a removed key's slot is not live");
        sm.insert("d", Entry::Text("4".into()));
        assert_eq!(sm.find("d"), Some(b), "the freed slot is reused");
        assert!(
            sm.live(b, g).is_none(),
            "under a new generation: the old reference misses"
        );
        assert_eq!(text(sm.get("d")).as_deref(), Some("4"));
        assert_eq!(text(sm.get("b")), None);
        assert_eq!(sm.keys().count(), 3);
        assert!(maps.get("N").is_none());
    }
}
