//! The HTTP routes (B §16.7 monitoring endpoints, issue 13 item 1) and bearer-token auth.

use crate::dashboard;
use crate::server::Auth;
use crate::snapshot::Snapshot;
use crate::sse;
use crate::token;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub auth: Auth,
    pub prometheus: PrometheusHandle,
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    pub fn current(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }
}

fn json(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The router: public `ping`, `metrics` and dashboard files; everything else behind the token.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route(
            "/api/v1/status",
            get(|s: State<AppState>| async move { json(s.current().bodies.status.clone()) }),
        )
        .route(
            "/api/v1/health",
            get(|s: State<AppState>| async move { json(s.current().bodies.health.clone()) }),
        )
        .route(
            "/api/v1/pnl",
            get(|s: State<AppState>| async move { json(s.current().bodies.pnl.clone()) }),
        )
        .route(
            "/api/v1/position",
            get(|s: State<AppState>| async move { json(s.current().bodies.position.clone()) }),
        )
        .route(
            "/api/v1/posture",
            get(|s: State<AppState>| async move { json(s.current().bodies.posture.clone()) }),
        )
        .route(
            "/api/v1/acb",
            get(|s: State<AppState>| async move { json(s.current().bodies.acb.clone()) }),
        )
        .route(
            "/api/v1/services",
            get(|s: State<AppState>| async move { json(s.current().bodies.services.clone()) }),
        )
        .route("/api/v1/trades", get(trades))
        .route("/api/v1/events", get(sse::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/api/v1/ping", get(ping))
        .route("/metrics", get(metrics))
        .route("/", get(dashboard::index))
        .route("/index.html", get(dashboard::index))
        .route("/assets/app.js", get(dashboard::app_js))
        .route("/assets/app.css", get(dashboard::app_css))
        .merge(protected)
        .fallback(|| async { (StatusCode::NOT_FOUND, json_error("no such endpoint")) })
        .layer(middleware::from_fn(count_requests))
        .with_state(state)
}

fn json_error(msg: &str) -> Response {
    json(Bytes::from(serde_json::json!({ "error": msg }).to_string()))
}

async fn ping() -> Response {
    json(Bytes::from(
        serde_json::json!({"pong": true, "service": "dolphin-api",
            "version": env!("CARGO_PKG_VERSION")})
        .to_string(),
    ))
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.prometheus.render(),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct TradesQuery {
    /// First trade (0-based, closing order). Default 0.
    offset: Option<usize>,
    /// At most this many trades. Default 1000.
    limit: Option<usize>,
    /// The last N trades instead of offset/limit.
    tail: Option<usize>,
}

async fn trades(State(s): State<AppState>, Query(q): Query<TradesQuery>) -> Response {
    let snap = s.current();
    let all = &snap.run.trades;
    let (from, to) = match q.tail {
        Some(n) => (all.len().saturating_sub(n), all.len()),
        None => {
            let from = q.offset.unwrap_or(0).min(all.len());
            (from, (from + q.limit.unwrap_or(1000)).min(all.len()))
        }
    };
    let body = serde_json::json!({
        "total": all.len(),
        "offset": from,
        "trades": &all[from..to],
    });
    json(Bytes::from(body.to_string()))
}

/// 401 unless the request carries `Authorization: Bearer <token>`.
async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Auth::Token(expected) = &s.auth {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !token::matches(expected, presented.trim()) {
            let mut r = json_error("missing or wrong bearer token (Authorization: Bearer …)");
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

/// Counts requests and their latency by route and status (`dolphin_api_requests_total`,
/// `dolphin_api_request_seconds`).
async fn count_requests(req: Request<Body>, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let t0 = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("dolphin_api_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("dolphin_api_request_seconds", "route" => route)
        .record(t0.elapsed().as_secs_f64());
    resp
}
