//! Helpers of the OB stream tests: the shared captures, a local exchange, a recording store.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dolphin_exchange::{ExchangeConfig, ExchangeData, ExchangeHandle};
use dolphin_live::{ObFeatureValue, ObStreamConfig, StatusCell};
use dolphin_store::{ChangeEvent, EmbeddedMemory, SHARD_MAPS, SystemMemory};

/// `shared/data/depth` beside the repository (or any ancestor); None (with a note) if absent.
pub fn depth_dir() -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for a in here.ancestors() {
        let p = a.join("shared/data/depth");
        if p.join("btcusdt_20240808.gz").exists() {
            return Some(p);
        }
    }
    eprintln!("note: shared/data/depth not found beside the repository; skipping");
    None
}

pub fn captures(dir: &std::path::Path) -> Vec<PathBuf> {
    vec![
        dir.join("btcusdt_20240808.gz"),
        dir.join("ethusdt_20240808.gz"),
    ]
}

/// Starts a local exchange over `caps`.
pub async fn exchange(caps: &[PathBuf], speed: f64, faults: &str) -> ExchangeHandle {
    let tl = ExchangeData {
        captures: caps.to_vec(),
        ..ExchangeData::default()
    }
    .load()
    .expect("captures load");
    dolphin_exchange::start(
        ExchangeConfig {
            speed,
            faults: faults.to_string(),
            buffer: 1 << 20,
            ..ExchangeConfig::default()
        },
        tl,
    )
    .await
    .expect("exchange starts")
}

/// The service's settings against `ex` for the recorded streams.
pub fn recorded_streams(ex: &ExchangeHandle) -> ObStreamConfig {
    ObStreamConfig {
        rest_url: ex.http_url(),
        ws_url: ex.ws_url(),
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        depth_stream: "depth@0ms".into(),
        trade_stream: "trade".into(),
        ..ObStreamConfig::default()
    }
}

/// Every feature dict written to the shard maps, by (symbol, ts).
pub type Seen = Arc<Mutex<BTreeMap<(String, i64), ObFeatureValue>>>;

/// An embedded store recording every shard write.
pub fn recording_store() -> (Arc<dyn SystemMemory>, Seen) {
    let mem: Arc<dyn SystemMemory> = Arc::new(EmbeddedMemory::new());
    let seen: Seen = Arc::default();
    for map in SHARD_MAPS {
        let s = seen.clone();
        let m = map.to_string();
        mem.subscribe(
            map,
            Arc::new(move |e: &ChangeEvent| {
                let v: ObFeatureValue = serde_json::from_str(e.value.as_deref().unwrap()).unwrap();
                assert_eq!(dolphin_store::shard_map(&v.symbol), m);
                assert_eq!(e.key, v.symbol);
                s.lock().unwrap().insert((v.symbol.clone(), v.ts), v);
            }),
        )
        .unwrap();
    }
    (mem, seen)
}

/// Waits until the service has processed `n` messages (or `limit` passed).
pub async fn wait_messages(status: &StatusCell, n: u64, limit: Duration) {
    let t = std::time::Instant::now();
    while t.elapsed() < limit {
        if status.lock().unwrap().health.messages >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the store has delivered every change to its listeners.
pub async fn settle(seen: &Seen) {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = seen.lock().unwrap().len();
        if n == last {
            return;
        }
        last = n;
    }
}
