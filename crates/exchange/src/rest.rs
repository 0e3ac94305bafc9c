//! The REST endpoints of the exchange (issue 12 item 1; SPEC §7): Binance USD-M futures market
//! data on 127.0.0.1 — `/fapi/v1/ping`, `/time`, `/exchangeInfo`, `/depth`, `/premiumIndex`,
//! `/fundingRate`, `/klines` — with Binance's error bodies and codes, the fault plan's slow,
//! failing and rate-limited REST (see [`crate::faults`]) and the recorded snapshot served
//! before the replay has a book of its own (docs/LIVE.md). The route table is in
//! [`crate::server`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dolphin_orderbook::Level;

use crate::faults::RestVerdict;
use crate::format::{self, SymbolInfo, error_body, fmt_fixed};
use crate::replay::Market;
use crate::server::Shared;
use crate::timeline;

type Params = Query<HashMap<String, String>>;

pub(crate) fn json_ok(body: String) -> Response {
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

pub(crate) async fn time(State(s): State<Arc<Shared>>) -> Response {
    s.rest_delay().await;
    json_ok(format!("{{\"serverTime\":{}}}", s.clock()))
}

pub(crate) async fn exchange_info(State(s): State<Arc<Shared>>) -> Response {
    s.rest_delay().await;
    let infos: Vec<SymbolInfo> = s.infos.values().cloned().collect();
    json_ok(format::exchange_info(s.clock(), &infos).to_string())
}

pub(crate) async fn depth(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
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

pub(crate) async fn premium_index(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
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

pub(crate) async fn funding_rate(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
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

pub(crate) async fn klines(State(s): State<Arc<Shared>>, Query(q): Params) -> Response {
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
