//! From market frames to the store (B §16.2; S §16; SPEC §7): decode a text frame (bad frames
//! are counted by kind and logged with their offset), feed the feature engine, publish the
//! fresh 500 ms samples to `DOLPHIN_FEATURES_SHARD_00..09[SYMBOL]` (stale ones are counted, not
//! written), and beat the service's heartbeat on event time.

use dolphin_orderbook::Message;
use dolphin_store::shard_map;

use super::Core;
use crate::feature_value::{HEARTBEAT_NAME, ObFeatureValue};
use crate::wire::{Decoded, decode, stream_name};

impl Core {
    pub(super) fn bad(&mut self, kind: &'static str, stream: &str, offset: u64, why: &str) {
        self.counters.bad_messages += 1;
        metrics::counter!("dolphin_ob_bad_messages_total", "kind" => kind).increment(1);
        tracing::warn!(stream, offset, kind, "ob_stream: bad frame: {why}");
        if let Ok(mut s) = self.status.lock() {
            *s.bad_by_kind.entry(kind).or_default() += 1;
        }
    }

    /// One text frame; true when it was market data.
    pub(super) fn on_text(&mut self, text: &str, offset: u64) -> bool {
        let msg = match decode(text) {
            Decoded::Market(m) => m,
            Decoded::Control => return false,
            Decoded::Bad(kind, why) => {
                self.bad(kind.label(), stream_name(text), offset, &why);
                return false;
            }
        };
        let e = msg.event_time_ms();
        self.max_e = self.max_e.max(e);
        self.last_message_at = Some(std::time::Instant::now());
        self.apply_held(Some(e));
        metrics::counter!("dolphin_ob_messages_total").increment(1);
        let depth_sym = match &msg {
            Message::Depth { symbol, .. } => Some(symbol.to_string()),
            _ => None,
        };
        // Samples due before this message show the books as they were: judge their freshness
        // before this update counts.
        self.stream.push_message(msg, None, &mut self.rows);
        self.flush_rows();
        if let Some(s) = depth_sym {
            let le = self.last_depth_e.entry(s.clone()).or_insert(e);
            *le = (*le).max(e);
            self.note_book(&s);
        }
        self.heartbeat(e);
        true
    }

    pub(super) fn flush_rows(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.rows);
        for r in &rows {
            // Fresh: the book's newest depth update is within the limit both of the sample time
            // and of the stream's event time now (samples filled in after a silence are not).
            let fresh = self.last_depth_e.get(&r.asset).is_some_and(|e| {
                r.sample_ms - e <= self.cfg.stale_after_ms
                    && self.max_e - e <= self.cfg.stale_after_ms
            });
            if !fresh {
                self.counters.stale_samples += 1;
                metrics::counter!("dolphin_ob_stale_samples_total").increment(1);
                continue;
            }
            let v = ObFeatureValue::from(r);
            match serde_json::to_string(&v) {
                Ok(json) => match self
                    .memory
                    .put_or_defer(shard_map(&r.asset), &r.asset, &json)
                {
                    Ok(_) => {
                        self.counters.published += 1;
                        self.last_publish_at = Some(std::time::Instant::now());
                        metrics::counter!("dolphin_ob_features_published_total").increment(1);
                    }
                    Err(e) => {
                        tracing::warn!(symbol = %r.asset, "ob_stream: features not written: {e}")
                    }
                },
                Err(e) => tracing::warn!(symbol = %r.asset, "ob_stream: features not encoded: {e}"),
            }
        }
        self.rows = rows;
        self.rows.clear();
        self.publish_health();
    }

    fn heartbeat(&mut self, e: i64) {
        let next = *self.next_heartbeat_e.get_or_insert(e);
        if e < next {
            return;
        }
        self.next_heartbeat_e = Some(e + self.cfg.heartbeat_ms);
        let v = serde_json::json!({
            "ts": e as f64 / 1000.0,
            "phase": if self.connected { "streaming" } else { "connecting" },
            "service": HEARTBEAT_NAME,
            "pid": std::process::id(),
        });
        if let Err(err) = self.memory.beat(HEARTBEAT_NAME, &v.to_string()) {
            tracing::warn!("ob_stream: heartbeat not written: {err}");
        }
    }
}
