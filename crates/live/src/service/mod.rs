//! The OB stream service (B §16.2; S §9.1, §16; SPEC §7, §8; issue 12 item 2).
//!
//! One combined-stream websocket carries every symbol's depth diffs, bookTicker and trades.
//! Each symbol's local book follows the Binance futures sync procedure of
//! `dolphin_orderbook::LocalBook` (REST snapshot + buffered diffs, `pu` continuity, resync on
//! a gap). Features are sampled every 500 ms of **event time** by the existing feature engine
//! (`ObStream`) and written to `DOLPHIN_FEATURES_SHARD_00..09[SYMBOL]` (`sum(bytes) % 10`).
//!
//! Rules (docs/LIVE.md):
//! * A REST snapshot is applied when the stream's event time reaches the snapshot's `E`
//!   (or after `snapshot_hold_ms` of wall time): the book then joins the stream at the same
//!   place whatever the network timing, so a replay gives the same features as
//!   `dolphin ob --capture` on the same recording.
//! * A sample of a book whose newest depth update is older than `stale_after_ms` of event
//!   time — before the sample time or before the stream's event time when it is taken — is
//!   not published (counted as a stale sample).
//! * No frame for `silence_timeout_ms` of wall time → the connection is dropped and opened
//!   again; reconnects wait `backoff_initial_ms·2ⁿ`, at most `backoff_max_ms`. A new
//!   connection drops every book (continuity unknown) and resyncs each from a snapshot.
//! * REST 429/418 are honoured with their `Retry-After` (at most `retry_after_max_ms`);
//!   other failures retry with the backoff.
//! * Bad frames are counted (`dolphin_ob_bad_messages_total{kind}`) and logged with the
//!   stream and the frame's offset on its connection.
//!
//! This file holds the service's entry points, its state and the book health it publishes;
//! the connection loop is in `connection`, book synchronisation by snapshot in `snapshot`,
//! and frames to published features in `publish`.

mod connection;
mod publish;
mod snapshot;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dolphin_orderbook::{DepthSnapshot, FeatureRow, ObStream};
use dolphin_store::SystemMemory;
use dolphin_store::schema::DOLPHIN_FEATURES;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::ObStreamConfig;
use crate::error::LiveError;
use crate::feature_value::{KEY_OB_HEALTH, ObHealthValue, wall_now_ms};

/// What the running service shows to its supervisor and tests (wall-time facts included).
#[derive(Debug, Clone, Default)]
pub struct ObStreamStatus {
    pub health: ObHealthValue,
    /// Wall time from losing a connection to the next open one, per reconnect, ms.
    pub reconnect_waits_ms: Vec<u64>,
    /// Bad frames by kind label.
    pub bad_by_kind: HashMap<&'static str, u64>,
}

/// A handle on the status while the service runs.
pub type StatusCell = Arc<Mutex<ObStreamStatus>>;

enum SnapMsg {
    Snapshot {
        epoch: u64,
        symbol: String,
        snap: DepthSnapshot,
    },
    RestError {
        epoch: u64,
        symbol: String,
    },
}

/// Runs the OB stream service until `shutdown` is cancelled; returns the final book health.
pub async fn run_ob_stream(
    cfg: ObStreamConfig,
    memory: Arc<dyn SystemMemory>,
    shutdown: CancellationToken,
) -> Result<ObHealthValue, LiveError> {
    let status = StatusCell::default();
    run_ob_stream_with_status(cfg, memory, shutdown, status).await
}

/// As [`run_ob_stream`], publishing its status into `status` as it runs.
pub async fn run_ob_stream_with_status(
    cfg: ObStreamConfig,
    memory: Arc<dyn SystemMemory>,
    shutdown: CancellationToken,
    status: StatusCell,
) -> Result<ObHealthValue, LiveError> {
    cfg.validate().map_err(LiveError::Config)?;
    let mut core = Core::new(cfg, memory, status);
    core.run(shutdown).await;
    Ok(core.health())
}

struct Core {
    cfg: ObStreamConfig,
    memory: Arc<dyn SystemMemory>,
    status: StatusCell,
    stream: ObStream,
    rows: Vec<FeatureRow>,
    last_depth_e: HashMap<String, i64>,
    max_e: i64,
    held: HashMap<String, (DepthSnapshot, Instant)>,
    in_flight: HashSet<String>,
    book_counts: HashMap<String, (u64, u64)>,
    counters: ObHealthValue,
    next_heartbeat_e: Option<i64>,
    epoch: u64,
    connected: bool,
    /// Messages counted in the last published health (the idle tick publishes newer counts).
    health_messages: u64,
    /// When the health was last written (the idle tick rewrites it every second).
    health_at: Instant,
    /// When the newest market message and the newest feature dict were processed.
    last_message_at: Option<Instant>,
    last_publish_at: Option<Instant>,
    /// Since when a snapshot is in flight (the stream is held meanwhile).
    hold_since: Option<Instant>,
    queued: std::collections::VecDeque<String>,
    http: reqwest::Client,
    tx: mpsc::UnboundedSender<SnapMsg>,
    rx: Option<mpsc::UnboundedReceiver<SnapMsg>>,
}

impl Core {
    fn new(cfg: ObStreamConfig, memory: Arc<dyn SystemMemory>, status: StatusCell) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stream = ObStream::new(cfg.features.clone());
        Core {
            cfg,
            memory,
            status,
            stream,
            rows: Vec::new(),
            last_depth_e: HashMap::new(),
            max_e: i64::MIN,
            held: HashMap::new(),
            in_flight: HashSet::new(),
            book_counts: HashMap::new(),
            counters: ObHealthValue::default(),
            next_heartbeat_e: None,
            epoch: 0,
            connected: false,
            health_messages: 0,
            health_at: Instant::now(),
            last_message_at: None,
            last_publish_at: None,
            hold_since: None,
            queued: Default::default(),
            http: reqwest::Client::new(),
            tx,
            rx: Some(rx),
        }
    }

    fn health(&self) -> ObHealthValue {
        let bh = self.stream.health();
        let mut h = self.counters.clone();
        h.ts = self.max_e.max(0);
        h.connected = self.connected;
        h.books_total = self.cfg.symbols.len() as u32;
        h.books_synced = 0;
        h.books_stale = 0;
        for s in &self.cfg.symbols {
            let synced = self.stream.symbol(s).is_some_and(|st| st.book.is_synced());
            let fresh = self
                .last_depth_e
                .get(s)
                .is_some_and(|e| self.max_e - e <= self.cfg.stale_after_ms);
            if synced {
                h.books_synced += 1;
            }
            if !(synced && fresh) {
                h.books_stale += 1;
            }
        }
        h.gaps = bh.gaps;
        h.resyncs = bh.resyncs;
        h.dropped_updates = bh.dropped_diffs;
        h.messages = bh.messages;
        h.stale_seconds = bh.stale_seconds;
        h.ticker_checked = bh.ticker_checked;
        h.ticker_mismatches = bh.ticker_mismatches;
        let now = wall_now_ms();
        let wall_of = |at: Option<Instant>| at.map_or(0, |t| now - t.elapsed().as_millis() as i64);
        h.wall_ms = now;
        h.last_message_wall_ms = wall_of(self.last_message_at);
        h.last_publish_wall_ms = wall_of(self.last_publish_at);
        h
    }

    pub(super) fn publish_health(&mut self) {
        let h = self.health();
        self.health_messages = h.messages;
        self.health_at = Instant::now();
        metrics::gauge!("dolphin_ob_books_synced").set(f64::from(h.books_synced));
        metrics::gauge!("dolphin_ob_books_stale").set(f64::from(h.books_stale));
        if let Ok(json) = serde_json::to_string(&h)
            && let Err(e) = self
                .memory
                .put_or_defer(DOLPHIN_FEATURES, KEY_OB_HEALTH, &json)
        {
            tracing::warn!("ob_stream: book health not written: {e}");
        }
        if let Ok(mut s) = self.status.lock() {
            s.health = h;
        }
    }
}
