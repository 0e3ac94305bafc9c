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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub auth: Auth,
    pub prometheus: Arc<MetricsText>,
    pub stopping: watch::Receiver<bool>,
}

/// How old a rendered `/metrics` text may be when it is served again. Prometheus scrapes every
/// 15 s by default; rendering the registry (summaries with quantiles) on every request of a
/// busy dashboard cost more than all other endpoints together.
pub const METRICS_MAX_AGE: Duration = Duration::from_millis(250);

/// The Prometheus text, rendered at most once per [`METRICS_MAX_AGE`].
pub struct MetricsText {
    handle: PrometheusHandle,
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl MetricsText {
    pub fn new(handle: PrometheusHandle) -> Self {
        Self {
            handle,
            cached: Mutex::new(None),
        }
    }

    /// The current text: the cached one when it is fresh enough, else a new rendering.
    pub fn text(&self) -> Bytes {
        let mut c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, text)) = c.as_ref()
            && at.elapsed() < METRICS_MAX_AGE
        {
            return text.clone();
        }
        let text = Bytes::from(self.handle.render());
        *c = Some((Instant::now(), text.clone()));
        text
    }
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
        s.prometheus.text(),
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
/// `dolphin_api_request_seconds`). Labels are static strings: no allocation per request.
async fn count_requests(req: Request<Body>, next: Next) -> Response {
    let route = route_label(
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let t0 = Instant::now();
    let resp = next.run(req).await;
    let status = match resp.status().as_u16() {
        200 => "200",
        304 => "304",
        400 => "400",
        401 => "401",
        404 => "404",
        500 => "500",
        503 => "503",
        _ => "other",
    };
    metrics::counter!("dolphin_api_requests_total", "route" => route, "status" => status)
        .increment(1);
    metrics::histogram!("dolphin_api_request_seconds", "route" => route)
        .record(t0.elapsed().as_secs_f64());
    resp
}

/// The route's label: one of the router's own paths, else `unmatched`.
fn route_label(matched: Option<&str>) -> &'static str {
    const ROUTES: [&str; 15] = [
        "/api/v1/status",
        "/api/v1/health",
        "/api/v1/pnl",
        "/api/v1/position",
        "/api/v1/posture",
        "/api/v1/acb",
        "/api/v1/services",
        "/api/v1/trades",
        "/api/v1/events",
        "/api/v1/ping",
        "/metrics",
        "/",
        "/index.html",
        "/assets/app.js",
        "/assets/app.css",
    ];
    matched
        .and_then(|m| ROUTES.iter().find(|r| **r == m).copied())
        .unwrap_or("unmatched")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_the_router_paths_or_unmatched() {
        assert_eq!(route_label(Some("/api/v1/status")), "/api/v1/status");
        assert_eq!(route_label(Some("/metrics")), "/metrics");
        assert_eq!(route_label(Some("/api/v1/nope")), "unmatched");
        assert_eq!(route_label(None), "unmatched");
    }

    #[test]
    fn metrics_text_is_reused_while_fresh_and_rendered_again_after() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let m = MetricsText::new(handle);
        let first = m.text();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("dolphin_test_total").increment(3);
        });
        // Within METRICS_MAX_AGE the cached text (without the new counter) is served ...
        assert_eq!(m.text(), first);
        assert!(!String::from_utf8_lossy(&first).contains("dolphin_test_total"));
        // ... and after it the registry is rendered again.
        std::thread::sleep(METRICS_MAX_AGE + Duration::from_millis(20));
        let again = String::from_utf8_lossy(&m.text()).to_string();
        assert!(again.contains("dolphin_test_total 3"), "{again}");
    }
}
