//! Benchmark: websocket depth messages per second end to end (socket → book → features →
//! store) on loopback (issue 12; docs/BENCHMARKS.md). The local exchange replays the shared
//! captures as fast as it can (`--speed 0`); the OB stream service reads them over a
//! websocket, keeps the books, samples the features and writes them to the embedded store.
//!
//! Two rows per run tell which side limits:
//! * `exchange → null client`: the exchange's send rate alone — a client that fetches the two
//!   snapshots (so the replay does not wait for them) and only counts frames;
//! * `end to end`: the OB stream service as the client (what the goal is about).
//!
//! `cargo run --release -p dolphin-live --example ob_stream_bench -- [RUNS]`
//! (`RUST_LOG=info` for the service's logs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dolphin_exchange::{ExchangeConfig, ExchangeData, ExchangeHandle};
use dolphin_live::{ObStreamConfig, StatusCell, run_ob_stream_with_status};
use dolphin_store::{EmbeddedMemory, SystemMemory};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

fn depth_dir() -> Option<std::path::PathBuf> {
    let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/data/depth"))
        .find(|p| p.join("btcusdt_20240808.gz").exists())
}

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

async fn exchange(data: &ExchangeData) -> (ExchangeHandle, u64) {
    let tl = data.load().expect("captures load");
    let total = tl.events.len() as u64;
    let ex = dolphin_exchange::start(
        ExchangeConfig {
            speed: f64::INFINITY,
            buffer: 1 << 20,
            ..ExchangeConfig::default()
        },
        tl,
    )
    .await
    .expect("exchange starts");
    (ex, total)
}

fn service_cfg(ex: &ExchangeHandle) -> ObStreamConfig {
    ObStreamConfig {
        rest_url: ex.http_url(),
        ws_url: ex.ws_url(),
        symbols: SYMBOLS.iter().map(|s| s.to_string()).collect(),
        depth_stream: "depth@0ms".into(),
        trade_stream: "trade".into(),
        ..ObStreamConfig::default()
    }
}

/// The exchange alone: a client that subscribes the service's streams, fetches the recorded
/// snapshots and counts text frames. Returns (frames, wall s).
async fn null_client(data: &ExchangeData) -> (u64, f64) {
    let (ex, total) = exchange(data).await;
    let cfg = service_cfg(&ex);
    let (ws, _) = tokio_tungstenite::connect_async(cfg.stream_url())
        .await
        .expect("connect");
    let t = Instant::now();
    let http = reqwest::Client::new();
    for s in SYMBOLS {
        let _ = http
            .get(cfg.depth_url(s))
            .send()
            .await
            .and_then(|r| r.error_for_status());
    }
    let (_, mut frames) = ws.split();
    let mut n = 0u64;
    // Every event but the two snapshot lines is a frame.
    while n < total - 2 {
        match tokio::time::timeout(Duration::from_secs(5), frames.next()).await {
            Ok(Some(Ok(m))) if m.is_text() => n += 1,
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    let wall = t.elapsed().as_secs_f64();
    ex.stop().await;
    (n, wall)
}

/// Exchange → OB stream service → embedded store. Returns (messages, published, wall s).
async fn end_to_end(data: &ExchangeData) -> (u64, u64, f64) {
    let (ex, total) = exchange(data).await;
    let mem: Arc<dyn SystemMemory> = Arc::new(EmbeddedMemory::new());
    let status = StatusCell::default();
    let token = CancellationToken::new();
    let t = Instant::now();
    let task = tokio::spawn(run_ob_stream_with_status(
        service_cfg(&ex),
        mem,
        token.clone(),
        status.clone(),
    ));
    // The service counts the two REST snapshots as messages too.
    while status.lock().map_or(0, |s| s.health.messages) < total
        && t.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let wall = t.elapsed().as_secs_f64();
    token.cancel();
    let h = task.await.expect("service task").expect("service");
    ex.stop().await;
    (h.messages, h.published, wall)
}

fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(dir) = depth_dir() else {
        eprintln!("shared/data/depth not found; nothing to measure");
        return;
    };
    let data = ExchangeData {
        captures: vec![
            dir.join("btcusdt_20240808.gz"),
            dir.join("ethusdt_20240808.gz"),
        ],
        ..ExchangeData::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("| run | path | messages | feature dicts written | wall s | msg/s |");
    println!("|---:|---|---:|---:|---:|---:|");
    for run in 1..=runs {
        let (n, wall) = rt.block_on(null_client(&data));
        println!(
            "| {run} | exchange → null client | {n} | – | {wall:.3} | {:.0} |",
            n as f64 / wall
        );
        let (n, published, wall) = rt.block_on(end_to_end(&data));
        println!(
            "| {run} | end to end (service, embedded store) | {n} | {published} | {wall:.3} | {:.0} |",
            n as f64 / wall
        );
    }
}
