//! The ACB pending-flag pattern (B §10.5, §14.2; S §5.4): the store's listener thread only
//! parks the newest `DOLPHIN_FEATURES["acb_boost"]` value; the trader takes it before the next
//! bar and calls `update_acb_boost` itself. The slot is a `tokio::sync::watch` channel so the
//! trader can also wait (bounded) for a publication it knows was made (lock-step, SPEC §8).

use crate::error::ServiceError;
use dolphin_store::schema::{AcbBoostValue, DOLPHIN_FEATURES, KEY_ACB_BOOST};
use dolphin_store::{ChangeEvent, SubscriptionId, SystemMemory};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A published ACB value with its publication number.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub seq: u64,
    pub value: AcbBoostValue,
}

impl Published {
    pub fn date(&self) -> Option<String> {
        self.value
            .extra
            .get("date")
            .and_then(|d| d.as_str())
            .map(str::to_string)
    }
    pub fn ts_ms(&self) -> Option<i64> {
        self.value.extra.get("ts_ms").and_then(|d| d.as_i64())
    }
}

/// The listener side and the trader side of the slot.
pub struct PendingAcb {
    rx: watch::Receiver<Option<Published>>,
    sub: SubscriptionId,
    store: Arc<dyn SystemMemory>,
    taken_seq: u64,
}

impl PendingAcb {
    /// Subscribes to `DOLPHIN_FEATURES["acb_boost"]` (only that key: the scan written to the
    /// same map every bar never reaches the listener thread); the listener parses outside any
    /// lock and parks.
    pub fn subscribe(store: Arc<dyn SystemMemory>) -> Result<Self, ServiceError> {
        let (tx, rx) = watch::channel(None);
        let listener = Arc::new(move |e: &ChangeEvent| {
            if e.map != DOLPHIN_FEATURES || e.key != KEY_ACB_BOOST {
                return;
            }
            let Some(json) = &e.value else { return };
            match serde_json::from_str::<AcbBoostValue>(json) {
                Ok(value) => {
                    let seq = value.extra.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
                    tx.send_replace(Some(Published { seq, value }));
                }
                Err(err) => tracing::warn!(error = %err, "unparsable acb_boost ignored"),
            }
        });
        let sub = store.subscribe_key(DOLPHIN_FEATURES, KEY_ACB_BOOST, listener)?;
        Ok(Self {
            rx,
            sub,
            store,
            taken_seq: 0,
        })
    }

    /// Takes a value newer than the last one taken (B §14.2 consume).
    #[inline]
    pub fn take(&mut self) -> Option<Published> {
        let v = {
            let g = self.rx.borrow();
            match g.as_ref() {
                Some(p) if p.seq > self.taken_seq => p.clone(),
                _ => return None,
            }
        };
        self.taken_seq = v.seq;
        Some(v)
    }

    /// [`Self::wait_for`] for a caller on a thread it may block (the paper node's actor under
    /// `dolphin serve --live`, which cannot await): polls every 100 µs.
    pub fn wait_for_blocking(&self, seq: u64, wait: Duration) -> bool {
        let deadline = std::time::Instant::now() + wait;
        loop {
            if self.rx.borrow().as_ref().is_some_and(|p| p.seq >= seq) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Waits up to `wait` until publication `seq` (or a later one) has been delivered.
    pub async fn wait_for(&mut self, seq: u64, wait: Duration) -> bool {
        let fut = self
            .rx
            .wait_for(|v| v.as_ref().is_some_and(|p| p.seq >= seq));
        matches!(tokio::time::timeout(wait, fut).await, Ok(Ok(_)))
    }
}

impl Drop for PendingAcb {
    fn drop(&mut self) {
        self.store.unsubscribe(self.sub);
    }
}
