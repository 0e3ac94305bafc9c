//! The connection loop of the OB stream service (B §16.2; SPEC §8; docs/LIVE.md): connect to
//! the combined stream, reconnect with backoff after a loss or `silence_timeout_ms` without a
//! frame (every book resyncs on a new connection), read frames, and hold the stream while a
//! REST snapshot is in flight so that it joins the stream at its event time.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use super::{Core, SnapMsg};

impl Core {
    pub(super) async fn run(&mut self, shutdown: CancellationToken) {
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
                self.counters.last_reconnect_wait_ms = ms;
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
                    // Health is written with every sample; between samples (the end of a
                    // replay, a quiet market, a stalled feed) the tick brings it up to date,
                    // and rewrites it every second (its `wall_ms` is the service's liveness).
                    if self.stream.health().messages != self.health_messages
                        || self.health_at.elapsed() >= Duration::from_secs(1)
                    {
                        self.publish_health();
                    }
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
}
