//! The exchange server (issue 12 item 1; SPEC §7): configuration, the data to load, shared
//! state, start/stop and the route table. The REST endpoints (Binance USD-M futures market
//! data on 127.0.0.1) are in `crate::rest`, the websocket side in [`crate::ws`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::error::ExchangeError;
use crate::faults::Faults;
use crate::format::{GridProbe, SymbolInfo};
use crate::replay::{Broadcast, Market, run_replay};
use crate::rest::{depth, exchange_info, funding_rate, json_ok, klines, premium_index, time};
use crate::timeline::{
    CaptureKind, Event, Timeline, funding_files, kline_files, load_captures, load_funding,
    load_klines,
};

/// How to run the exchange.
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// Address to listen on; port 0 picks a free port. Default 127.0.0.1:0.
    pub listen: SocketAddr,
    /// Event-time ms per wall-time ms; `f64::INFINITY` (or ≤ 0) replays as fast as possible.
    pub speed: f64,
    /// Start the replay at once instead of when the first websocket client subscribes.
    pub start_immediately: bool,
    /// Start the replay only once this many distinct streams have a subscriber (a client
    /// that subscribes its symbols one message at a time gets every symbol's first bar);
    /// 0 or 1 = at the first subscription.
    pub wait_streams: usize,
    /// Silences of event time longer than this are skipped on the wall clock, ms.
    pub max_silence_ms: i64,
    /// Fault plan (see [`crate::faults`]).
    pub faults: String,
    /// Broadcast buffer per connection, messages; a client further behind is disconnected.
    pub buffer: usize,
    /// At a capture's recorded REST snapshot the replay waits (at most this long, wall ms)
    /// until a client has fetched that symbol's book, so that a client connected at the start
    /// syncs where the recording did (docs/LIVE.md); 0 never waits.
    pub snapshot_wait_ms: u64,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            speed: 1.0,
            start_immediately: false,
            wait_streams: 1,
            max_silence_ms: 300_000,
            faults: String::new(),
            buffer: 1 << 16,
            snapshot_wait_ms: 2_000,
        }
    }
}

/// The data to replay.
#[derive(Debug, Clone, Default)]
pub struct ExchangeData {
    /// Depth capture files (one symbol each).
    pub captures: Vec<PathBuf>,
    /// Directory of `SYMBOL-1m.csv.gz` kline files.
    pub klines: Option<PathBuf>,
    /// Directory of `SYMBOL-funding.csv` files.
    pub funding: Option<PathBuf>,
    /// Only these symbols of the kline/funding directories (all when empty).
    pub symbols: Vec<String>,
    /// Klines with `from_ms ≤ open_time < to_ms`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl ExchangeData {
    /// Load and merge everything (errors name file and line/row).
    pub fn load(&self) -> Result<Timeline, ExchangeError> {
        let caps = if self.captures.is_empty() {
            Vec::new()
        } else {
            load_captures(&self.captures)?
        };
        let mut klines = Vec::new();
        if let Some(dir) = &self.klines {
            for f in kline_files(dir, &self.symbols)? {
                klines.push(load_klines(
                    &f,
                    self.from_ms.unwrap_or(i64::MIN),
                    self.to_ms.unwrap_or(i64::MAX),
                )?);
            }
        }
        let mut funding = Vec::new();
        if let Some(dir) = &self.funding {
            for f in funding_files(dir, &self.symbols)? {
                funding.push(load_funding(&f)?);
            }
        }
        if caps.is_empty() && klines.iter().all(Vec::is_empty) {
            return Err(ExchangeError::NoData);
        }
        Ok(Timeline::build(caps, klines, funding))
    }
}

/// Counters of a running exchange.
#[derive(Debug, Default)]
pub struct Stats {
    pub broadcast: AtomicU64,
    pub sent: AtomicU64,
    pub stalled_messages: AtomicU64,
    pub skipped_updates: AtomicU64,
    pub disconnects: AtomicU64,
    pub connections: AtomicU64,
    pub lagged_clients: AtomicU64,
    pub rest_requests: AtomicU64,
    pub rest_rejected: AtomicU64,
}

/// State shared by the replay task and the handlers.
pub struct Shared {
    pub cfg: ExchangeConfig,
    pub timeline: Timeline,
    pub infos: BTreeMap<String, SymbolInfo>,
    pub market: Mutex<Market>,
    pub tx: broadcast::Sender<Broadcast>,
    pub faults: Faults,
    pub start_tx: watch::Sender<bool>,
    pub start_rx: watch::Receiver<bool>,
    pub shutdown: CancellationToken,
    pub stats: Stats,
    /// Symbols whose recorded snapshot a client has fetched.
    pub recorded_served: Mutex<std::collections::HashSet<String>>,
    /// Connections subscribed to each broadcast key: streams nobody follows are neither
    /// derived (formatted) nor broadcast.
    pub subscribers: std::sync::RwLock<std::collections::HashMap<String, usize>>,
}

impl Shared {
    /// True when some connection follows the broadcast key `key` (e.g. `btcusdt@depth@100ms`).
    pub fn wanted(&self, key: &str) -> bool {
        self.subscribers
            .read()
            .map_or(true, |m| m.get(key).is_some_and(|n| *n > 0))
    }

    /// Starts the replay when enough streams are followed ([`ExchangeConfig::wait_streams`]).
    pub fn maybe_start(&self) {
        let followed = self
            .subscribers
            .read()
            .map_or(0, |m| m.values().filter(|n| **n > 0).count());
        if followed >= self.cfg.wait_streams.max(1) {
            self.start_tx.send_replace(true);
        }
    }

    /// Counts one more (`up`) or one fewer connection following `key`.
    pub fn follow(&self, key: &str, up: bool) {
        let mut m = self.subscribers.write().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(key.to_string()).or_default();
        *n = if up { *n + 1 } else { n.saturating_sub(1) };
    }
}

/// A running exchange.
pub struct ExchangeHandle {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl ExchangeHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
    /// True once every event was replayed.
    pub fn finished(&self) -> bool {
        self.shared.market.lock().is_ok_and(|m| m.finished)
    }
    /// Waits until the replay finished (polling every 20 ms).
    pub async fn wait_finished(&self) {
        while !self.finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    /// Starts the replay now (if it waits for a subscriber).
    pub fn start(&self) {
        self.shared.start_tx.send_replace(true);
    }
    /// Stops the server and the replay.
    pub async fn stop(self) {
        self.shared.shutdown.cancel();
        let _ = self.server.await;
    }
}

fn symbol_infos(t: &Timeline) -> BTreeMap<String, SymbolInfo> {
    let mut probes: BTreeMap<String, GridProbe> = BTreeMap::new();
    for (_, e) in &t.events {
        let Event::Capture(c) = e else { continue };
        let p = probes.entry(c.symbol.to_string()).or_default();
        match &c.kind {
            CaptureKind::Depth(d) => {
                for l in d.bids.iter().chain(&d.asks) {
                    p.price(l.price);
                    if !l.qty.is_zero() {
                        p.qty(l.qty);
                    }
                }
            }
            CaptureKind::Snapshot(s) => {
                for l in s.bids.iter().chain(&s.asks) {
                    p.price(l.price);
                    p.qty(l.qty);
                }
            }
            CaptureKind::Trade(tr) => {
                p.price(tr.price);
                p.qty(tr.qty);
            }
            CaptureKind::BookTicker => {}
        }
    }
    for (sym, ks) in &t.klines {
        let p = probes.entry(sym.clone()).or_default();
        for k in ks {
            for x in [k.open, k.high, k.low, k.close] {
                p.price(x);
            }
        }
    }
    probes.iter().map(|(s, p)| (s.clone(), p.info(s))).collect()
}

/// Starts the exchange on `cfg.listen` replaying `timeline`.
pub async fn start(
    cfg: ExchangeConfig,
    timeline: Timeline,
) -> Result<ExchangeHandle, ExchangeError> {
    let faults = Faults::parse(&cfg.faults)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ExchangeError::Bind {
            addr: cfg.listen.to_string(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ExchangeError::Bind {
            addr: cfg.listen.to_string(),
            source,
        })?;
    let (tx, _) = broadcast::channel(cfg.buffer.max(16));
    let (start_tx, start_rx) = watch::channel(false);
    let infos = symbol_infos(&timeline);
    let first = timeline.events.first().map_or(0, |e| e.0);
    let shared = Arc::new(Shared {
        cfg,
        timeline,
        infos,
        market: Mutex::new(Market {
            clock_ms: first,
            start_ms: first,
            ..Market::default()
        }),
        tx,
        faults,
        start_tx,
        start_rx,
        shutdown: CancellationToken::new(),
        stats: Stats::default(),
        recorded_served: Mutex::new(Default::default()),
        subscribers: Default::default(),
    });
    let app = router(shared.clone());
    let replay = tokio::spawn(run_replay(shared.clone()));
    let token = shared.shutdown.clone();
    let server = tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!("exchange server: {e}");
        }
        replay.abort();
    });
    Ok(ExchangeHandle {
        addr,
        shared,
        server,
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/fapi/v1/ping", get(|| async { json_ok("{}".to_string()) }))
        .route("/fapi/v1/time", get(time))
        .route("/fapi/v1/exchangeInfo", get(exchange_info))
        .route("/fapi/v1/depth", get(depth))
        .route("/fapi/v1/premiumIndex", get(premium_index))
        .route("/fapi/v1/fundingRate", get(funding_rate))
        .route("/fapi/v1/klines", get(klines))
        .route("/stream", get(crate::ws::combined))
        .route("/ws", get(crate::ws::raw))
        // Binance's routed USD-M endpoints (what NautilusTrader's client connects to).
        .route("/market/ws", get(crate::ws::raw))
        .route("/public/ws", get(crate::ws::raw))
        .route("/market/stream", get(crate::ws::combined))
        .route("/public/stream", get(crate::ws::combined))
        .route("/ws/{stream}", get(crate::ws::raw_one))
        .with_state(shared)
}
