//! The ACB pending-flag pattern (B §14.2, S §5.4): the store's listener thread only parks the
//! newest `DOLPHIN_FEATURES["acb_boost"]` value here; the bar thread takes it under the lock and
//! calls the engine outside it.

use dolphin_store::schema::{AcbBoostValue, KEY_ACB_BOOST, from_json};
use dolphin_store::{ChangeEvent, schema::DOLPHIN_FEATURES};
use std::sync::{Arc, Mutex, PoisonError};

/// The slot shared by the listener thread (writer) and the bar thread (reader), S §5.4.
/// Clones share one slot. The lock is held only for a pointer swap.
#[derive(Debug, Clone, Default)]
pub struct PendingAcb {
    slot: Arc<Mutex<Option<AcbBoostValue>>>,
}

impl PendingAcb {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parks `value`, replacing any value not yet taken (S §5.4 `_pending_acb = parsed`).
    pub fn offer(&self, value: AcbBoostValue) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }

    /// Takes the parked value, leaving the slot empty (S §5.4 consume atomically).
    pub fn take(&self) -> Option<AcbBoostValue> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The parked value without taking it (for tests and monitoring).
    pub fn peek(&self) -> Option<AcbBoostValue> {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The listener body of B §14.2 `_on_acb_event`: for a change of
    /// `DOLPHIN_FEATURES["acb_boost"]` with a value, parse the JSON outside the lock and park
    /// it. Other keys and removals are ignored. Returns whether a value was parked; a value
    /// that does not parse is not parked (the previous one stays) and its error is returned.
    pub fn on_event(&self, event: &ChangeEvent) -> Result<bool, dolphin_store::StoreError> {
        if event.map != DOLPHIN_FEATURES || event.key != KEY_ACB_BOOST {
            return Ok(false);
        }
        let Some(json) = &event.value else {
            return Ok(false);
        };
        let value: AcbBoostValue = from_json(DOLPHIN_FEATURES, KEY_ACB_BOOST, json)?;
        self.offer(value);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(key: &str, value: Option<&str>) -> ChangeEvent {
        ChangeEvent {
            map: DOLPHIN_FEATURES.into(),
            key: key.into(),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn parks_only_acb_boost_values_and_keeps_the_newest() {
        let p = PendingAcb::new();
        assert!(!p.on_event(&event("latest_eigen_scan", Some("{}"))).unwrap());
        assert!(!p.on_event(&event(KEY_ACB_BOOST, None)).unwrap());
        assert_eq!(p.peek(), None);
        assert!(
            p.on_event(&event(KEY_ACB_BOOST, Some(r#"{"boost":1.35,"beta":0.8}"#)))
                .unwrap()
        );
        assert!(
            p.on_event(&event(KEY_ACB_BOOST, Some(r#"{"boost":1.1,"beta":0.2}"#)))
                .unwrap()
        );
        let err = p
            .on_event(&event(KEY_ACB_BOOST, Some(r#"{"boost":2.0}"#)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("acb_boost") && err.contains("beta"), "{err}");
        let v = p.take().unwrap();
        assert_eq!((v.boost, v.beta), (1.1, 0.2));
        assert_eq!(p.take(), None);
    }
}
