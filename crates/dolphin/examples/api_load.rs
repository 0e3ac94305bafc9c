//! Open-loop HTTP load against the API (issue 13 benchmark): `--rate` requests per second for
//! `--secs` seconds over a mix of endpoints, each request sent on its schedule whether or not
//! earlier ones finished (no coordinated omission: latency is measured from the scheduled
//! send time). Prints a table: requests, errors, achieved rate, p50/p90/p99/p99.9/max — once
//! from the scheduled time (the headline figure) and once from the moment the request was
//! actually handed to the client, which leaves out the generator's own lateness (tokio's timer
//! has a 1 ms tick, so a request is sent up to ~1 ms after its scheduled time).
//!
//! `cargo run --release -p dolphin --example api_load -- --url http://127.0.0.1:8787 \
//!     --token-file ~/.config/dolphin/api.token --rate 1000 --secs 30`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PATHS: [&str; 8] = [
    "/api/v1/status",
    "/api/v1/health",
    "/api/v1/position",
    "/api/v1/trades?tail=20",
    "/api/v1/pnl",
    "/api/v1/posture",
    "/api/v1/ping",
    "/metrics",
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let url = arg("--url").unwrap_or_else(|| "http://127.0.0.1:8787".into());
    let rate: u64 = arg("--rate").map_or(1000, |s| s.parse().expect("--rate N"));
    let secs: u64 = arg("--secs").map_or(30, |s| s.parse().expect("--secs N"));
    let token = arg("--token-file").map(|f| {
        std::fs::read_to_string(&f)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .trim()
            .to_string()
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let total = rate * secs;
    let errors = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
    let start = Instant::now();
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    for i in 0..total {
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let mut req = client.get(format!("{url}{}", PATHS[i as usize % PATHS.len()]));
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let (tx, errors) = (tx.clone(), errors.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let ok = match req.send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            let _ = tx.send((
                due.elapsed().as_micros() as u64,
                sent.elapsed().as_micros() as u64,
            ));
        });
    }
    drop(tx);
    let mut lat = Vec::with_capacity(total as usize);
    let mut from_send = Vec::with_capacity(total as usize);
    while let Some((us, sent_us)) = rx.recv().await {
        lat.push(us);
        from_send.push(sent_us);
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "| latency from | requests | errors | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, v) in [("schedule", &mut lat), ("send", &mut from_send)] {
        v.sort_unstable();
        let q = |p: f64| {
            v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0
        };
        println!(
            "| {label} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            v.len(),
            errors.load(Ordering::Relaxed),
            v.len() as f64 / wall,
            q(0.50),
            q(0.90),
            q(0.99),
            q(0.999),
            q(1.0)
        );
    }
}
