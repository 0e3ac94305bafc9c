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

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dolphin_orderbook::{DepthSnapshot, FeatureRow, Message, ObStream, parse_message};
use dolphin_store::schema::DOLPHIN_FEATURES;
use dolphin_store::{SystemMemory, shard_map};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use crate::config::ObStreamConfig;
use crate::error::LiveError;
use crate::feature_value::{HEARTBEAT_NAME, KEY_OB_HEALTH, ObFeatureValue, ObHealthValue};
use crate::wire::{Decoded, decode, stream_name};

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
        h
    }

    fn publish_health(&mut self) {
        let h = self.health();
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

    async fn run(&mut self, shutdown: CancellationToken) {
        let Some(mut rx) = self.rx.take() else { return };
        let mut attempt: u32 = 0;
        let mut lost_at: Option<Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let url = self.cfg.stream_url();
            let conn = tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(&url)) => r,
                _ = shutdown.cancelled() => break,
            };
            let ws = match conn {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => {
                    tracing::warn!(attempt, "ob_stream: cannot connect to {url}: {e}");
                    if !self.wait_backoff(&mut attempt, &shutdown).await {
                        break;
                    }
                    continue;
                }
                Err(_) => {
                    tracing::warn!(attempt, "ob_stream: connecting to {url} timed out");
                    if !self.wait_backoff(&mut attempt, &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if let Some(t) = lost_at.take() {
                let ms = t.elapsed().as_millis() as u64;
                self.counters.reconnects += 1;
                metrics::counter!("dolphin_ob_reconnects_total").increment(1);
                if let Ok(mut s) = self.status.lock() {
                    s.reconnect_waits_ms.push(ms);
                }
                tracing::info!(wait_ms = ms, "ob_stream: reconnected");
            }
            // A new connection: every book must resync; answers for the old one are ignored.
            self.epoch += 1;
            self.stream.reset_books();
            self.held.clear();
            self.in_flight.clear();
            self.hold_since = None;
            self.queued.clear();
            self.connected = true;
            self.publish_health();
            let healthy = self.serve(ws, &mut rx, &shutdown).await;
            self.connected = false;
            self.publish_health();
            if shutdown.is_cancelled() {
                break;
            }
            if healthy {
                attempt = 0;
            }
            lost_at = Some(Instant::now());
            if !self.wait_backoff(&mut attempt, &shutdown).await {
                break;
            }
        }
        self.publish_health();
    }

    /// Sleeps the backoff of `attempt` (then counts it); false when shut down meanwhile.
    async fn wait_backoff(&self, attempt: &mut u32, shutdown: &CancellationToken) -> bool {
        let ms = self.cfg.backoff_ms(*attempt);
        *attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => true,
            _ = shutdown.cancelled() => false,
        }
    }

    /// Reads one connection until it ends; true when it delivered market data.
    async fn serve<S>(
        &mut self,
        ws: S,
        rx: &mut mpsc::UnboundedReceiver<SnapMsg>,
        shutdown: &CancellationToken,
    ) -> bool
    where
        S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
            + futures_util::Sink<WsMessage>
            + Unpin,
    {
        let (mut sink, mut frames) = ws.split();
        let silence = Duration::from_millis(self.cfg.silence_timeout_ms);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut offset: u64 = 0;
        let mut delivered = false;
        let mut last_frame = Instant::now();
        loop {
            tokio::select! {
                f = frames.next() => {
                    last_frame = Instant::now();
                    match f {
                        Some(Ok(WsMessage::Text(t))) => {
                            offset += 1;
                            delivered = true;
                            if self.holding() {
                                self.queued.push_back(t.as_str().to_string());
                            } else {
                                self.on_text(t.as_str(), offset);
                            }
                        }
                        Some(Ok(WsMessage::Binary(b))) => {
                            offset += 1;
                            self.bad("binary", "?", offset, &format!("{} bytes", b.len()));
                        }
                        Some(Ok(WsMessage::Close(c))) => {
                            tracing::warn!(offset, "ob_stream: server closed the stream: {c:?}");
                            return delivered;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::warn!(offset, "ob_stream: connection lost: {e}");
                            return delivered;
                        }
                        None => {
                            tracing::warn!(offset, "ob_stream: connection closed");
                            return delivered;
                        }
                    }
                }
                Some(m) = rx.recv() => {
                    self.on_snapshot_msg(m);
                    self.drain(offset);
                }
                _ = tick.tick() => {
                    if last_frame.elapsed() >= silence {
                        tracing::warn!(offset, silence_ms = self.cfg.silence_timeout_ms, "ob_stream: stream stalled; reconnecting");
                        metrics::counter!("dolphin_ob_stalls_total").increment(1);
                        return delivered;
                    }
                    self.drain(offset);
                    self.apply_held(None);
                }
                _ = shutdown.cancelled() => {
                    let _ = sink.close().await;
                    return delivered;
                }
            }
        }
    }

    /// The stream is held while a snapshot is in flight (at most `snapshot_hold_ms`), so that
    /// the snapshot joins the stream at its event time whatever the network timing.
    fn holding(&self) -> bool {
        self.cfg.hold_stream_for_snapshot
            && !self.in_flight.is_empty()
            && self
                .hold_since
                .is_some_and(|t| t.elapsed() < Duration::from_millis(self.cfg.snapshot_hold_ms))
    }

    /// Processes queued frames until the stream is held again.
    fn drain(&mut self, offset: u64) {
        let base = offset.saturating_sub(self.queued.len() as u64);
        let mut i = 0;
        while !self.holding() {
            let Some(f) = self.queued.pop_front() else {
                break;
            };
            i += 1;
            self.on_text(&f, base + i);
        }
    }

    fn bad(&mut self, kind: &'static str, stream: &str, offset: u64, why: &str) {
        self.counters.bad_messages += 1;
        metrics::counter!("dolphin_ob_bad_messages_total", "kind" => kind).increment(1);
        tracing::warn!(stream, offset, kind, "ob_stream: bad frame: {why}");
        if let Ok(mut s) = self.status.lock() {
            *s.bad_by_kind.entry(kind).or_default() += 1;
        }
    }

    /// One text frame; true when it was market data.
    fn on_text(&mut self, text: &str, offset: u64) -> bool {
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

    /// Counts gaps/resyncs of `symbol`'s book and asks for a snapshot when it needs one.
    fn note_book(&mut self, symbol: &str) {
        let Some(st) = self.stream.symbol(symbol) else {
            return;
        };
        let stats = st.book.stats();
        let needs = st.book.needs_snapshot();
        let prev = self
            .book_counts
            .insert(symbol.to_string(), (stats.gaps, stats.resyncs));
        let (g0, r0) = prev.unwrap_or((0, 0));
        if stats.gaps > g0 {
            metrics::counter!("dolphin_ob_gaps_total").increment(stats.gaps - g0);
            tracing::warn!(symbol, "ob_stream: sequence gap; book dropped, resyncing");
        }
        if stats.resyncs > r0 {
            metrics::counter!("dolphin_ob_resyncs_total").increment(stats.resyncs - r0);
        }
        if needs && !self.in_flight.contains(symbol) && !self.held.contains_key(symbol) {
            self.request_snapshot(symbol.to_string());
        }
    }

    fn request_snapshot(&mut self, symbol: String) {
        if self.in_flight.is_empty() {
            self.hold_since = Some(Instant::now());
        }
        self.in_flight.insert(symbol.clone());
        let url = self.cfg.depth_url(&symbol);
        let http = self.http.clone();
        let tx = self.tx.clone();
        let epoch = self.epoch;
        let cfg = self.cfg.clone();
        tokio::spawn(async move {
            let mut attempt = 0u32;
            loop {
                let r = http.get(&url).timeout(Duration::from_secs(10)).send().await;
                let wait_ms = match r {
                    Ok(resp) if resp.status().is_success() => match resp.text().await {
                        Ok(body) => match parse_message(&body) {
                            Ok(Message::Snapshot(snap)) => {
                                let _ = tx.send(SnapMsg::Snapshot {
                                    epoch,
                                    symbol,
                                    snap,
                                });
                                return;
                            }
                            other => {
                                tracing::warn!(%url, "ob_stream: snapshot unreadable: {:?}", other.err());
                                cfg.backoff_ms(attempt)
                            }
                        },
                        Err(e) => {
                            tracing::warn!(%url, "ob_stream: snapshot body: {e}");
                            cfg.backoff_ms(attempt)
                        }
                    },
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let retry = resp
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        metrics::counter!("dolphin_ob_rest_errors_total", "status" => status.to_string()).increment(1);
                        let wait = match (status, retry) {
                            (429 | 418, Some(s)) => (s * 1000).min(cfg.retry_after_max_ms),
                            _ => cfg.backoff_ms(attempt),
                        };
                        tracing::warn!(%url, status, wait_ms = wait, "ob_stream: snapshot refused");
                        wait
                    }
                    Err(e) => {
                        metrics::counter!("dolphin_ob_rest_errors_total", "status" => "transport")
                            .increment(1);
                        tracing::warn!(%url, "ob_stream: snapshot request failed: {e}");
                        cfg.backoff_ms(attempt)
                    }
                };
                if tx
                    .send(SnapMsg::RestError {
                        epoch,
                        symbol: symbol.clone(),
                    })
                    .is_err()
                {
                    return;
                }
                attempt = attempt.saturating_add(1);
                tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            }
        });
    }

    fn on_snapshot_msg(&mut self, m: SnapMsg) {
        match m {
            SnapMsg::Snapshot {
                epoch,
                symbol,
                snap,
            } if epoch == self.epoch => {
                self.in_flight.remove(&symbol);
                self.held.insert(symbol, (snap, Instant::now()));
                self.apply_held(None);
            }
            SnapMsg::RestError { epoch, symbol } => {
                self.counters.rest_errors += 1;
                tracing::debug!(%symbol, current = epoch == self.epoch, "ob_stream: snapshot request failed");
            }
            SnapMsg::Snapshot { .. } => {}
        }
    }

    /// Applies held snapshots whose `E` the stream reached (`stream_e`), or held too long.
    fn apply_held(&mut self, stream_e: Option<i64>) {
        if self.held.is_empty() {
            return;
        }
        let hold = Duration::from_millis(self.cfg.snapshot_hold_ms);
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (s, t))| {
                stream_e.is_some_and(|e| e >= s.event_time_ms)
                    || (stream_e.is_none() && self.max_e >= s.event_time_ms)
                    || t.elapsed() >= hold
            })
            .map(|(k, _)| k.clone())
            .collect();
        for sym in due {
            if let Some((snap, _)) = self.held.remove(&sym) {
                self.stream
                    .push_message(Message::Snapshot(snap), Some(&sym), &mut self.rows);
                self.note_book(&sym);
                tracing::info!(symbol = %sym, "ob_stream: snapshot applied");
            }
        }
        self.flush_rows();
    }

    fn flush_rows(&mut self) {
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
