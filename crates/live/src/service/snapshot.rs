//! Book synchronisation of the OB stream service (S §9.1; SPEC §7; docs/LIVE.md): count each
//! book's gaps and resyncs, request a REST snapshot when a book needs one (honouring 429/418
//! `Retry-After`, otherwise retrying with the backoff), and apply a held snapshot when the
//! stream's event time reaches its `E` or after `snapshot_hold_ms`.

use std::time::{Duration, Instant};

use dolphin_orderbook::{Message, parse_message};

use super::{Core, SnapMsg};

impl Core {
    /// Counts gaps/resyncs of `symbol`'s book and asks for a snapshot when it needs one.
    pub(super) fn note_book(&mut self, symbol: &str) {
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
            // Tickers may have been lost with the depth updates (a stalled feed): the bookTicker
            // check must not compare the resynced book with a ticker from before the gap.
            self.stream.mark_stream_loss(symbol);
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

    pub(super) fn on_snapshot_msg(&mut self, m: SnapMsg) {
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
    pub(super) fn apply_held(&mut self, stream_e: Option<i64>) {
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
}
