//! The Prometheus recorder behind `/metrics` (TEAM contract "Metrics"): installed once per
//! process as the global `metrics` recorder, so every `dolphin_*` counter, gauge and
//! histogram that services record through the facade is served. The API adds its own
//! `dolphin_api_*` series from the snapshot it serves.

use crate::snapshot::Snapshot;
use crate::views;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus handle, installing the recorder on first use. If another
/// recorder was installed first, `/metrics` serves an empty local registry and says so in the
/// log.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => {
                describe();
                h
            }
            Err(e) => {
                tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "dolphin_api_requests_total",
        "API requests by route and status"
    );
    metrics::describe_histogram!(
        "dolphin_api_request_seconds",
        metrics::Unit::Seconds,
        "API request latency by route"
    );
    metrics::describe_gauge!(
        "dolphin_api_capital_usdt",
        "capital of the watched run (USDT)"
    );
    metrics::describe_gauge!("dolphin_api_run_trades", "trades closed in the watched run");
    metrics::describe_gauge!("dolphin_api_run_days", "days completed in the watched run");
    metrics::describe_gauge!(
        "dolphin_api_service_heartbeat_age_seconds",
        "heartbeat age per service as the API sees it"
    );
    metrics::describe_gauge!("dolphin_api_snapshot_version", "snapshot version served");
}

/// Publishes the snapshot's figures as `dolphin_api_*` gauges.
pub fn record_snapshot(s: &Snapshot) {
    let (capital, _) = views::capital(s);
    metrics::gauge!("dolphin_api_capital_usdt").set(capital);
    metrics::gauge!("dolphin_api_run_trades").set(s.run.trades.len() as f64);
    metrics::gauge!("dolphin_api_run_days").set(s.run.days.len() as f64);
    metrics::gauge!("dolphin_api_snapshot_version").set(s.version as f64);
    let health = views::health(s);
    for sv in health["services"].as_array().into_iter().flatten() {
        if let (Some(name), Some(age)) = (sv["service"].as_str(), sv["heartbeat_age_s"].as_f64()) {
            metrics::gauge!("dolphin_api_service_heartbeat_age_seconds", "service" => name.to_string())
                .set(age);
        }
    }
}
