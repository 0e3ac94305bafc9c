//! The exchange server (issue 12 item 1): configuration, shared state, start/stop, and the
//! REST endpoints of Binance USD-M futures market data on 127.0.0.1:
//! `/fapi/v1/ping`, `/time`, `/exchangeInfo`, `/depth`, `/premiumIndex`, `/fundingRate`,
//! `/klines`. The websocket side is in [`crate::ws`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dolphin_orderbook::Level;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::error::ExchangeError;
use crate::faults::{Faults, RestVerdict};
use crate::format::{self, GridProbe, SymbolInfo, error_body, fmt_fixed};
use crate::replay::{Broadcast, Market, run_replay};
use crate::timeline::{
    self, CaptureKind, Event, Timeline, funding_files, kline_files, load_captures, load_funding,
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

type Params = Query<HashMap<String, String>>;

fn json_ok(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert("x-mbx-used-weight-1m", HeaderValue::from_static("1"));
    r
}

fn json_err(status: StatusCode, code: i64, msg: &str) -> Response {
    let mut r = (status, error_body(code, msg)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl Shared {
    fn clock(&self) -> i64 {
        self.market.lock().map_or(0, |m| m.clock_ms)
    }

    async fn rest_delay(&self) {
        self.stats.rest_requests.fetch_add(1, Ordering::Relaxed);
        if self.faults.rest_slow_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.faults.rest_slow_ms)).await;
        }
    }

    fn symbol_param(&self, q: &HashMap<String, String>) -> Result<String, Box<Response>> {
        let s = q
            .get("symbol")
            .ok_or_else(|| {
                Box::new(json_err(
                    StatusCode::BAD_REQUEST,
                    -1102,
                    "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
                ))
            })?
            .to_ascii_uppercase();
        if !self.infos.contains_key(&s) {
            return Err(Box::new(json_err(
                StatusCode::BAD_REQUEST,
                -1121,
                "Invalid symbol.",
            )));
        }
        Ok(s)
    }
}

fn int_param(q: &HashMap<String, String>, k: &str) -> Result<Option<i64>, Box<Response>> {
    q.get(k)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Box::new(json_err(
                    StatusCode::BAD_REQUEST,
                    -1100,
                    &format!("Illegal characters found in parameter '{k}'; legal range is '^[0-9]{{1,20}}$'."),
                ))
            })
        })
        .transpose()
}

async fn time(State(s): State<Arc<Shared>>) -> Response {
    s.rest_delay().await;
    json_ok(format!("{{\"serverTime\":{}}}", s.clock()))
}

async fn exchange_info(State(s): State<Arc<Shared>>) -> Response {
    s.rest_delay().await;
    let infos: Vec<SymbolInfo> = s.infos.values().cloned().collect();
    json_ok(format::exchange_info(s.clock(), &infos).to_string())
}

async fn depth(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
    s.rest_delay().await;
    let sym = match s.symbol_param(&q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let limit = match int_param(&q, "limit") {
        Ok(l) => l.unwrap_or(500),
        Err(r) => return *r,
    };
    if ![5, 10, 20, 50, 100, 500, 1000].contains(&limit) {
        return json_err(
            StatusCode::BAD_REQUEST,
            -1130,
            "Invalid data sent for a parameter.",
        );
    }
    let retry = s.faults.retry_after_s.to_string();
    match s.faults.next_depth_request() {
        RestVerdict::Serve => {}
        v => {
            s.stats.rest_rejected.fetch_add(1, Ordering::Relaxed);
            let (status, code, msg) = match v {
                RestVerdict::RateLimited429 => (
                    StatusCode::TOO_MANY_REQUESTS,
                    -1003,
                    "Too many requests; current limit is 2400 requests per minute.",
                ),
                RestVerdict::Banned418 => (
                    StatusCode::IM_A_TEAPOT,
                    -1003,
                    "Way too many requests; IP banned until later.",
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    -1001,
                    "Internal error; unable to process your request. Please try again.",
                ),
            };
            let mut r = json_err(status, code, msg);
            if status != StatusCode::SERVICE_UNAVAILABLE
                && let Ok(h) = HeaderValue::from_str(&retry)
            {
                r.headers_mut().insert(header::RETRY_AFTER, h);
            }
            return r;
        }
    }
    let info = s.infos.get(&sym).cloned().expect("checked symbol");
    let n = limit as usize;
    let m = s.market.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = m.books.get(&sym).filter(|b| !b.needs_snapshot()) {
        let bids: Vec<Level> = b.bids().take(n).collect();
        let asks: Vec<Level> = b.asks().take(n).collect();
        return json_ok(format::depth_snapshot(
            b.last_update_id(),
            m.clock_ms,
            m.clock_ms,
            &bids,
            &asks,
            &info,
        ));
    }
    // Before the replay reached the recorded snapshot the exchange has no book of its own:
    // it answers with the recorded one (whose `E` lies ahead of the stream; docs/LIVE.md).
    if let Some((_, snap, raw)) = s.timeline.snapshots.get(&sym) {
        if let Ok(mut set) = s.recorded_served.lock() {
            set.insert(sym.clone());
        }
        if snap.bids.len() <= n && snap.asks.len() <= n {
            return json_ok(raw.to_string());
        }
        let bids: Vec<Level> = snap.bids.iter().take(n).copied().collect();
        let asks: Vec<Level> = snap.asks.iter().take(n).copied().collect();
        return json_ok(format::depth_snapshot(
            snap.last_update_id,
            snap.event_time_ms,
            snap.transaction_time_ms,
            &bids,
            &asks,
            &info,
        ));
    }
    json_ok(format::depth_snapshot(
        0,
        m.clock_ms,
        m.clock_ms,
        &[],
        &[],
        &info,
    ))
}

fn premium_entry(s: &Shared, sym: &str, m: &Market) -> serde_json::Value {
    let info = &s.infos[sym];
    let price = m.last_price.get(sym).copied().unwrap_or_default();
    let (rate, next) = s.funding_at(sym, m.clock_ms);
    let p = info.price(price);
    serde_json::json!({
        "symbol": sym,
        "markPrice": p,
        "indexPrice": p,
        "estimatedSettlePrice": p,
        "lastFundingRate": fmt_fixed(rate, 8),
        "interestRate": "0.00010000",
        "nextFundingTime": next,
        "time": m.clock_ms
    })
}

async fn premium_index(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
    s.rest_delay().await;
    let m = s.market.lock().unwrap_or_else(|e| e.into_inner());
    if q.contains_key("symbol") {
        match s.symbol_param(&q) {
            Ok(sym) => json_ok(premium_entry(&s, &sym, &m).to_string()),
            Err(r) => *r,
        }
    } else {
        let all: Vec<_> = s.infos.keys().map(|k| premium_entry(&s, k, &m)).collect();
        json_ok(serde_json::Value::Array(all).to_string())
    }
}

async fn funding_rate(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
    s.rest_delay().await;
    let sym = match s.symbol_param(&q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (start, end, limit) = match (
        int_param(&q, "startTime"),
        int_param(&q, "endTime"),
        int_param(&q, "limit"),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c.unwrap_or(100).clamp(1, 1000) as usize),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return *r,
    };
    let clock = s.clock();
    let end = end.unwrap_or(clock).min(clock);
    let rows: Vec<_> = s
        .timeline
        .funding
        .get(&sym)
        .map(|f| {
            let sel: Vec<_> = f
                .iter()
                .filter(|x| x.time_ms <= end && start.is_none_or(|st| x.time_ms >= st))
                .collect();
            // Without startTime Binance returns the most recent `limit` rows.
            let skip = if start.is_none() {
                sel.len().saturating_sub(limit)
            } else {
                0
            };
            sel.into_iter()
                .skip(skip)
                .take(limit)
                .map(|x| {
                    serde_json::json!({
                        "symbol": sym,
                        "fundingTime": x.time_ms,
                        "fundingRate": fmt_fixed(x.rate, 8),
                        "markPrice": ""
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json_ok(serde_json::Value::Array(rows).to_string())
}

async fn klines(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
    s.rest_delay().await;
    let sym = match s.symbol_param(&q) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    if q.get("interval").map(String::as_str) != Some("1m") {
        return json_err(
            StatusCode::BAD_REQUEST,
            -1120,
            "Invalid interval: this exchange serves 1m klines.",
        );
    }
    let (start, end, limit) = match (
        int_param(&q, "startTime"),
        int_param(&q, "endTime"),
        int_param(&q, "limit"),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c.unwrap_or(500).clamp(1, 1500) as usize),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return *r,
    };
    let closed = s
        .market
        .lock()
        .map_or(0, |m| m.klines_closed.get(&sym).copied().unwrap_or(0));
    let info = &s.infos[&sym];
    let ks = s
        .timeline
        .klines
        .get(&sym)
        .map_or(&[][..], |v| &v[..closed]);
    let sel: Vec<&timeline::Kline> = ks
        .iter()
        .filter(|k| start.is_none_or(|st| k.open_ms >= st) && end.is_none_or(|en| k.open_ms <= en))
        .collect();
    // Without startTime the most recent `limit` klines.
    let skip = if start.is_none() {
        sel.len().saturating_sub(limit)
    } else {
        0
    };
    let rows: Vec<_> = sel
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|k| format::kline_row(k, info))
        .collect();
    json_ok(serde_json::Value::Array(rows).to_string())
}
