//! The replay task of the local exchange (issue 12 item 1; SPEC §8): walks the timeline on
//! event time at the chosen speed, keeps the exchange's own books (recorded snapshot + diffs,
//! SPEC §7) for `/fapi/v1/depth`, derives the streams Binance would send (`depth@100ms` /
//! `@250ms` / `@500ms` batches, `aggTrade`, `markPrice`, `kline_1m`) and broadcasts every
//! message to the websocket connections, applying the stream faults.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dolphin_orderbook::{Fixed, LocalBook};
use tokio::time::Instant;

use crate::faults::StreamFault;
use crate::format::{AggTrade, DepthBatch, kline_data, mark_price_data};
use crate::server::Shared;
use crate::timeline::{CaptureKind, Event};

/// Depth batch intervals served besides the recorded `@0ms` stream.
pub const BATCH_MS: [i64; 3] = [100, 250, 500];

/// One message on the wire: its stream name and its `data` object.
#[derive(Debug)]
pub struct Wire {
    pub stream: Arc<str>,
    pub data: Arc<str>,
}

/// What the replay task hands to the connections.
#[derive(Debug, Clone)]
pub enum Broadcast {
    Msg(Arc<Wire>),
    /// Drop every connection now (fault `disconnect@T`).
    Disconnect,
}

/// State the REST handlers read (under the shared mutex).
#[derive(Debug, Default)]
pub struct Market {
    /// The replay clock: event time of the last processed event, ms.
    pub clock_ms: i64,
    /// Event time of the first event (fault offsets count from here).
    pub start_ms: i64,
    pub started: bool,
    pub finished: bool,
    pub books: HashMap<String, LocalBook>,
    pub last_price: HashMap<String, Fixed>,
    /// Number of klines of each symbol closed on the replay clock.
    pub klines_closed: HashMap<String, usize>,
}

struct Derived {
    batches: BTreeMap<(String, i64), (i64, DepthBatch)>,
    /// Broadcast keys of each symbol's batch streams, in `BATCH_MS` order.
    batch_keys: HashMap<Arc<str>, [String; 3]>,
    agg: HashMap<String, AggTrade>,
    agg_next_id: HashMap<String, u64>,
    next_mark_ms: Option<i64>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl Shared {
    fn send(&self, stalled: bool, stream: String, data: String) {
        if self.wanted(&stream) {
            self.send_wire(stalled, Arc::from(stream), Arc::from(data));
        }
    }

    /// Broadcasts one message of a followed stream (a recorded one without a copy).
    fn send_wire(&self, stalled: bool, stream: Arc<str>, data: Arc<str>) {
        if stalled {
            self.stats.stalled_messages.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.stats.broadcast.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .tx
            .send(Broadcast::Msg(Arc::new(Wire { stream, data })));
    }

    /// Broadcasts a recorded message when its stream is followed.
    fn send_recorded(&self, stalled: bool, c: &crate::timeline::CaptureEvent) {
        if self.wanted(&c.stream) {
            self.send_wire(stalled, c.stream.clone(), c.data.clone());
        }
    }

    fn info_or_default(&self, sym: &str) -> crate::format::SymbolInfo {
        self.infos
            .get(sym)
            .cloned()
            .unwrap_or_else(|| crate::format::GridProbe::default().info(sym))
    }

    /// Funding rate in force at `t` and the next settlement time.
    pub fn funding_at(&self, sym: &str, t: i64) -> (Fixed, i64) {
        let Some(f) = self.timeline.funding.get(sym) else {
            return (Fixed::ZERO, (t.div_euclid(28_800_000) + 1) * 28_800_000);
        };
        let i = f.partition_point(|x| x.time_ms <= t);
        let rate = i.checked_sub(1).map_or(Fixed::ZERO, |k| f[k].rate);
        let next = f
            .get(i)
            .map_or((t.div_euclid(28_800_000) + 1) * 28_800_000, |x| x.time_ms);
        (rate, next)
    }

    fn flush_due(&self, d: &mut Derived, clock: i64, stalled: bool, marks: bool) {
        let due: Vec<(String, i64)> = d
            .batches
            .iter()
            .filter(|(_, (end, _))| clock >= *end)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            if let Some((_, b)) = d.batches.remove(&k) {
                let stream = format!("{}@depth@{}ms", lower(&k.0), k.1);
                if self.wanted(&stream) {
                    let info = self.info_or_default(&k.0);
                    self.send(stalled, stream, b.data(&info));
                }
            }
        }
        let due: Vec<String> = d
            .agg
            .iter()
            .filter(|(_, a)| clock > a.e)
            .map(|(s, _)| s.clone())
            .collect();
        for s in due {
            if let Some(a) = d.agg.remove(&s) {
                let stream = format!("{}@aggTrade", lower(&s));
                if self.wanted(&stream) {
                    let info = self.info_or_default(&s);
                    self.send(stalled, stream, a.data(&info));
                }
            }
        }
        if !marks {
            return;
        }
        let next = *d
            .next_mark_ms
            .get_or_insert((clock.div_euclid(1000) + 1) * 1000);
        if clock >= next {
            let b = clock.div_euclid(1000) * 1000;
            let prices: Vec<(String, Fixed)> = {
                let m = self.market.lock().unwrap_or_else(|e| e.into_inner());
                let mut v: Vec<_> = m.last_price.iter().map(|(k, v)| (k.clone(), *v)).collect();
                v.sort();
                v
            };
            for (sym, p) in prices {
                let info = self.info_or_default(&sym);
                let (r, nf) = self.funding_at(&sym, b);
                let data = mark_price_data(b, &info, p, r, nf);
                if b % 3000 == 0 {
                    self.send(stalled, format!("{}@markPrice", lower(&sym)), data.clone());
                }
                self.send(stalled, format!("{}@markPrice@1s", lower(&sym)), data);
            }
            d.next_mark_ms = Some(b + 1000);
        }
    }
}

/// At a recorded snapshot: wait (bounded) until a client fetched it (docs/LIVE.md).
async fn wait_for_fetch(shared: &Shared, sym: &str) -> Duration {
    let wait = Duration::from_millis(shared.cfg.snapshot_wait_ms);
    let t = Instant::now();
    while t.elapsed() < wait {
        if shared
            .recorded_served
            .lock()
            .map_or(true, |s| s.contains(sym))
        {
            return t.elapsed();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(2)) => {}
            _ = shared.shutdown.cancelled() => return t.elapsed(),
        }
    }
    tracing::info!(
        symbol = sym,
        "replay: nobody fetched the recorded snapshot; going on"
    );
    t.elapsed()
}

/// Runs the replay to the end of the timeline (or until shutdown).
pub async fn run_replay(shared: Arc<Shared>) {
    let mut start_rx = shared.start_rx.clone();
    if !shared.cfg.start_immediately {
        tokio::select! {
            _ = start_rx.wait_for(|s| *s) => {}
            _ = shared.shutdown.cancelled() => return,
        }
    }
    let events = &shared.timeline.events;
    let Some(&(t0, _)) = events.first() else {
        let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
        m.started = true;
        m.finished = true;
        return;
    };
    {
        let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
        m.started = true;
        m.start_ms = t0;
    }
    let mut wall0 = Instant::now();
    let speed = shared.cfg.speed;
    let mut skipped: i64 = 0;
    let mut prev = t0;
    let mut faults: Vec<StreamFault> = shared.faults.stream.clone();
    let mut stall_until: Option<i64> = None;
    let mut gap_symbols: Vec<Option<String>> = Vec::new();
    let mut sent_since_yield = 0u32;
    let mut d = Derived {
        batches: BTreeMap::new(),
        batch_keys: HashMap::new(),
        agg: HashMap::new(),
        agg_next_id: HashMap::new(),
        next_mark_ms: None,
    };
    for (clock, ev) in events.iter() {
        let clock = *clock;
        if clock - prev > shared.cfg.max_silence_ms {
            skipped += clock - prev - shared.cfg.max_silence_ms;
        }
        prev = clock;
        if speed.is_finite() && speed > 0.0 {
            let wall_ms = (clock - t0 - skipped) as f64 / speed;
            let target = wall0 + Duration::from_micros((wall_ms * 1000.0) as u64);
            if target > Instant::now() {
                tokio::select! {
                    _ = tokio::time::sleep_until(target) => {}
                    _ = shared.shutdown.cancelled() => return,
                }
            }
        } else if shared.shutdown.is_cancelled() {
            return;
        } else {
            // As fast as possible: still let the connections (and timers) of this worker run.
            sent_since_yield += 1;
            if sent_since_yield >= 256 {
                sent_since_yield = 0;
                tokio::task::yield_now().await;
            }
        }
        let offset = clock - t0;
        // Timed faults that are due.
        faults.retain(|f| {
            if f.at_ms() > offset {
                return true;
            }
            match f {
                StreamFault::Disconnect { .. } => {
                    shared.stats.disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(offset_ms = offset, "fault: dropping every connection");
                    let _ = shared.tx.send(Broadcast::Disconnect);
                    false
                }
                StreamFault::Stall { at_ms, for_ms } => {
                    tracing::info!(offset_ms = offset, for_ms, "fault: stalling the streams");
                    stall_until = Some(t0 + at_ms + for_ms);
                    false
                }
                StreamFault::Gap { symbol, .. } => {
                    gap_symbols.push(symbol.clone());
                    false
                }
            }
        });
        let stalled = stall_until.is_some_and(|u| clock < u);
        if !stalled {
            stall_until = None;
        }
        shared.flush_due(&mut d, clock, stalled, true);
        {
            let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
            m.clock_ms = clock;
        }
        match ev {
            Event::Kline(k) => {
                let info = shared.info_or_default(&k.symbol);
                {
                    let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
                    *m.klines_closed.entry(k.symbol.to_string()).or_default() += 1;
                    m.last_price.insert(k.symbol.to_string(), k.close);
                }
                shared.send(
                    stalled,
                    format!("{}@kline_1m", lower(&k.symbol)),
                    kline_data(k, clock, &info),
                );
            }
            Event::Capture(c) => {
                let sym = c.symbol.to_string();
                match &c.kind {
                    CaptureKind::Snapshot(s) => {
                        wall0 += wait_for_fetch(&shared, &sym).await;
                        let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
                        m.books.entry(sym).or_default().apply_snapshot(s);
                    }
                    CaptureKind::Depth(u) => {
                        {
                            let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
                            m.books
                                .entry(sym.clone())
                                .or_default()
                                .apply_diff(u.clone());
                        }
                        let gap = gap_symbols
                            .iter()
                            .position(|g| g.as_deref().is_none_or(|g| g == sym));
                        // A pending gap fault waits for the next depth update of its symbol.
                        if let Some(i) = gap {
                            gap_symbols.remove(i);
                            shared.stats.skipped_updates.fetch_add(1, Ordering::Relaxed);
                            tracing::info!(symbol = %sym, u = u.final_update_id, "fault: skipping a depth update");
                            for ms in BATCH_MS {
                                d.batches.remove(&(sym.clone(), ms));
                            }
                        } else {
                            let keys = d.batch_keys.entry(c.symbol.clone()).or_insert_with(|| {
                                BATCH_MS.map(|ms| format!("{}@depth@{ms}ms", lower(&sym)))
                            });
                            for (ms, key) in BATCH_MS.iter().zip(keys.iter()) {
                                // A batch nobody follows is not built (a later subscriber's
                                // first batch starts at its next update, as on Binance).
                                if !shared.wanted(key) {
                                    if !d.batches.is_empty() {
                                        d.batches.remove(&(sym.clone(), *ms));
                                    }
                                    continue;
                                }
                                let end = (u.event_time_ms.div_euclid(*ms) + 1) * ms;
                                let e = d
                                    .batches
                                    .entry((sym.clone(), *ms))
                                    .or_insert_with(|| (end, DepthBatch::default()));
                                e.1.add(u);
                            }
                            shared.send_recorded(stalled, c);
                        }
                    }
                    CaptureKind::Trade(t) => {
                        {
                            let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
                            m.last_price.insert(sym.clone(), t.price);
                        }
                        let merge = d.agg.get(&sym).is_some_and(|a| {
                            a.price == t.price
                                && a.m == t.buyer_is_maker
                                && a.t == t.transaction_time_ms
                        });
                        if merge {
                            let a = d.agg.get_mut(&sym).expect("checked");
                            a.qty = Fixed(a.qty.0 + t.qty.0);
                            a.last = t.trade_id;
                            a.e = t.event_time_ms;
                        } else {
                            if let Some(a) = d.agg.remove(&sym) {
                                let stream = format!("{}@aggTrade", lower(&sym));
                                if shared.wanted(&stream) {
                                    let info = shared.info_or_default(&sym);
                                    shared.send(stalled, stream, a.data(&info));
                                }
                            }
                            let id = d.agg_next_id.entry(sym.clone()).or_insert(1);
                            d.agg.insert(
                                sym.clone(),
                                AggTrade {
                                    id: *id,
                                    price: t.price,
                                    qty: t.qty,
                                    first: t.trade_id,
                                    last: t.trade_id,
                                    t: t.transaction_time_ms,
                                    e: t.event_time_ms,
                                    m: t.buyer_is_maker,
                                },
                            );
                            *id += 1;
                        }
                        shared.send_recorded(stalled, c);
                    }
                    CaptureKind::BookTicker => {
                        shared.send_recorded(stalled, c);
                    }
                }
            }
        }
    }
    // Flush what is pending at the end of the data.
    shared.flush_due(&mut d, i64::MAX - 1, false, false);
    let mut m = shared.market.lock().unwrap_or_else(|e| e.into_inner());
    m.finished = true;
    tracing::info!(events = events.len(), "replay finished");
}
