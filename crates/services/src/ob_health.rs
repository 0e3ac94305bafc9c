//! The watchdog's Cat3 (B §11.2, §16.3) when the OB stream service runs in the `ob_stream`
//! slot: book health from `DOLPHIN_FEATURES["ob_health"]` (the layout of
//! `dolphin_live::ObHealthValue`, read here by field name: this crate does not depend on
//! `crates/live`) and depth quality / fill probability from the shard maps (or, with
//! `ob_quality: false`, the health alone: fresh = 1.0, stale = 0.5).
//!
//! Staleness is measured on the **wall clock**: the OB service runs on the exchange's event
//! time, and a stalled feed sends no event time at all, so "how long since the last message"
//! can only be wall time — what an operator of a live system expects. The service writes its
//! health at least once a second with `wall_ms` (its liveness) and `last_message_wall_ms`;
//! the book is stale when
//! * the health cannot be read (store down, key missing, not that layout) — fail-safe;
//! * the service is not connected, or a book is out of sync (`books_synced < books_total`,
//!   or `books_stale > 0`: a book whose newest update is older than the service's limit);
//! * the newest message or the health itself is older than `ob_stale_wall_ms` (a stalled
//!   feed; a service that died).
//!
//! The decisions this causes are postures, traced in `posture_trace.jsonl` and
//! `posture.jsonl`, so `dolphin backtest` on the traces still equals the run (docs/CHAOS.md).

use crate::service::Ctx;
use dolphin_store::SystemMemory;
use dolphin_store::schema::DOLPHIN_FEATURES;
use serde::Deserialize;

/// Key of the OB stream's health in `DOLPHIN_FEATURES` (`dolphin_live::KEY_OB_HEALTH`).
pub const KEY_OB_HEALTH: &str = "ob_health";

/// The fields of the OB health the watchdog and the slot read.
#[derive(Debug, Clone, Deserialize)]
pub struct ObHealthHead {
    pub connected: bool,
    pub books_total: u32,
    pub books_synced: u32,
    pub books_stale: u32,
    #[serde(default)]
    pub wall_ms: i64,
    #[serde(default)]
    pub last_message_wall_ms: i64,
}

impl ObHealthHead {
    /// Connected and every book in sync and fresh.
    pub fn all_synced(&self) -> bool {
        self.connected
            && self.books_total > 0
            && self.books_synced == self.books_total
            && self.books_stale == 0
    }
}

/// The health as stored; `None` when unreadable or not that layout.
pub fn read_health(store: &dyn SystemMemory) -> Option<ObHealthHead> {
    let json = store.get(DOLPHIN_FEATURES, KEY_OB_HEALTH).ok()??;
    serde_json::from_str(&json).ok()
}

/// Unix ms now.
pub fn wall_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether `h` shows a stale book at wall time `now_ms` (module doc).
pub fn is_stale(h: &ObHealthHead, now_ms: i64, limit_ms: i64) -> bool {
    !h.all_synced()
        || h.last_message_wall_ms <= 0
        || now_ms - h.last_message_wall_ms > limit_ms
        || now_ms - h.wall_ms > limit_ms
}

/// Cat3 from the running OB stream: (stale, median depth quality, median fill probability);
/// unreadable = the worst value (stale, 0, 0).
pub fn cat3_live(ctx: &Ctx) -> (bool, f64, f64) {
    let Some(h) = read_health(ctx.store.as_ref()) else {
        return (true, 0.0, 0.0);
    };
    let stale = is_stale(&h, wall_now_ms(), ctx.cfg.ob_stale_wall_ms as i64);
    if !ctx.cfg.ob_quality {
        return (stale, 1.0, 1.0);
    }
    let Some(q) = shard_quality(ctx.store.as_ref()) else {
        return (true, 0.0, 0.0);
    };
    let (dq, fp) = (q.depth_quality, q.fill_probability);
    if dq.is_empty() || fp.is_empty() {
        return (true, 0.0, 0.0);
    }
    let med =
        |v: &[f64]| dolphin_core::median(v, dolphin_core::NanRule::SkipNonFinite).unwrap_or(0.0);
    (stale, med(&dq), med(&fp))
}

/// What the shard maps' OB feature dicts hold, by field name (any layout with the fields).
#[derive(Debug, Clone, Default)]
pub struct ShardQuality {
    pub depth_quality: Vec<f64>,
    pub fill_probability: Vec<f64>,
    /// Newest sample time (`ts_ms` or `timestamp_ms`), when a dict has one.
    pub newest_ms: Option<i64>,
}

/// Reads every shard map; `None` when one cannot be read (the caller's fail-safe).
pub fn shard_quality(store: &dyn SystemMemory) -> Option<ShardQuality> {
    let mut q = ShardQuality::default();
    for map in dolphin_store::SHARD_MAPS {
        let all = store.get_all(map).ok()?;
        for json in all.values() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
                continue;
            };
            if let Some(x) = v["depth_quality"].as_f64() {
                q.depth_quality.push(x);
            }
            if let Some(x) = v["fill_probability"].as_f64() {
                q.fill_probability.push(x);
            }
            let ts = v["ts_ms"].as_i64().or_else(|| v["timestamp_ms"].as_i64());
            q.newest_ms = q.newest_ms.max(ts);
        }
    }
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(connected: bool, synced: u32, msg_ms: i64, wall_ms: i64) -> ObHealthHead {
        ObHealthHead {
            connected,
            books_total: 2,
            books_synced: synced,
            books_stale: 2 - synced,
            wall_ms,
            last_message_wall_ms: msg_ms,
        }
    }

    #[test]
    fn staleness_is_wall_time_since_the_last_message() {
        let now = 1_764_000_000_000;
        assert!(!is_stale(&head(true, 2, now - 100, now - 50), now, 5_000));
        // A stalled feed: the service still writes its health, no message for 5.001 s.
        assert!(is_stale(&head(true, 2, now - 5_001, now - 10), now, 5_000));
        assert!(!is_stale(&head(true, 2, now - 5_000, now - 10), now, 5_000));
        // A dead service: its health itself is old.
        assert!(is_stale(
            &head(true, 2, now - 6_000, now - 6_000),
            now,
            5_000
        ));
        // Disconnected, a book out of sync, never a message.
        assert!(is_stale(&head(false, 2, now, now), now, 5_000));
        assert!(is_stale(&head(true, 1, now, now), now, 5_000));
        assert!(is_stale(&head(true, 2, 0, now), now, 5_000));
        let json = r#"{"ts":1723161300000,"connected":true,"books_total":2,"books_synced":2,"books_stale":0,"gaps":0,"wall_ms":5,"last_message_wall_ms":4}"#;
        let h: ObHealthHead = serde_json::from_str(json).unwrap();
        assert!(h.all_synced());
        assert_eq!((h.wall_ms, h.last_message_wall_ms), (5, 4));
    }

    #[test]
    fn unreadable_health_is_the_worst_value() {
        let store = dolphin_store::EmbeddedMemory::new();
        assert!(read_health(&store).is_none());
        store
            .put(DOLPHIN_FEATURES, KEY_OB_HEALTH, "{\"connected\":\"yes\"}")
            .unwrap();
        assert!(read_health(&store).is_none());
    }
}
