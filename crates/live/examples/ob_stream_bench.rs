//! Benchmark: websocket depth messages per second end to end (socket → book → features →
//! store) on loopback (issue 12 item 5). The local exchange replays the shared captures as
//! fast as it can; the OB stream service reads them over a websocket, keeps the books,
//! samples the features and writes them to the embedded store. Prints one table row per run.
//!
//! `cargo run --release -p dolphin-live --example ob_stream_bench -- [RUNS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use dolphin_exchange::{ExchangeConfig, ExchangeData};
use dolphin_live::{ObStreamConfig, StatusCell, run_ob_stream_with_status};
use dolphin_store::{EmbeddedMemory, SystemMemory};
use tokio_util::sync::CancellationToken;

fn depth_dir() -> Option<std::path::PathBuf> {
    let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/data/depth"))
        .find(|p| p.join("btcusdt_20240808.gz").exists())
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(dir) = depth_dir() else {
        eprintln!("shared/data/depth not found; nothing to measure");
        return;
    };
    let caps = vec![
        dir.join("btcusdt_20240808.gz"),
        dir.join("ethusdt_20240808.gz"),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| run | messages | published | wall s | msg/s |");
    println!("|---:|---:|---:|---:|---:|");
    for run in 1..=runs {
        let tl = ExchangeData {
            captures: caps.clone(),
            ..ExchangeData::default()
        }
        .load()
        .unwrap();
        let total = tl.events.len() as u64;
        rt.block_on(async {
            let ex = dolphin_exchange::start(
                ExchangeConfig {
                    speed: f64::INFINITY,
                    buffer: 1 << 20,
                    ..ExchangeConfig::default()
                },
                tl,
            )
            .await
            .unwrap();
            let mem: Arc<dyn SystemMemory> = Arc::new(EmbeddedMemory::new());
            let cfg = ObStreamConfig {
                rest_url: ex.http_url(),
                ws_url: ex.ws_url(),
                symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
                depth_stream: "depth@0ms".into(),
                trade_stream: "trade".into(),
                ..ObStreamConfig::default()
            };
            let status = StatusCell::default();
            let token = CancellationToken::new();
            let t = Instant::now();
            let task = tokio::spawn(run_ob_stream_with_status(
                cfg,
                mem,
                token.clone(),
                status.clone(),
            ));
            loop {
                let n = status.lock().unwrap().health.messages;
                if n >= total || t.elapsed() > Duration::from_secs(120) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let wall = t.elapsed().as_secs_f64();
            token.cancel();
            let h = task.await.unwrap().unwrap();
            ex.stop().await;
            println!(
                "| {run} | {} | {} | {wall:.3} | {:.0} |",
                h.messages,
                h.published,
                h.messages as f64 / wall
            );
        });
    }
}
