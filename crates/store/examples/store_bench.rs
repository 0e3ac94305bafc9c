//! Store benchmark: put/get ops/s and change-notification latency (p50/p99) for the embedded
//! store, a Redis node and a three-master Redis Cluster on loopback. Starts its own servers.
//!
//! `CARGO_TARGET_DIR=/work/target-store cargo run --release -p dolphin-store --example store_bench`

use dolphin_store::testkit::{RedisCluster, RedisServer, redis_available};
use dolphin_store::{EmbeddedMemory, NearCacheConfig, RedisConfig, RedisMemory, SystemMemory};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPS: usize = 10_000;
const EVENTS: usize = 2_000;

struct Row {
    backend: String,
    put: f64,
    get: f64,
    get_near: f64,
    p50_us: f64,
    p99_us: f64,
}

fn ops_per_s(n: usize, f: impl FnMut(usize)) -> f64 {
    let t0 = Instant::now();
    (0..n).for_each(f);
    n as f64 / t0.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn bench<M: SystemMemory>(name: &str, a: M, b: M) -> Row {
    let map = "BENCH_MAP";
    let value = r#"{"boost":1.3465735902799727,"beta":0.8}"#;
    let put = ops_per_s(OPS, |i| {
        a.put(map, &format!("k{}", i % 1000), value).unwrap()
    });
    let get = ops_per_s(OPS, |i| {
        a.get(map, &format!("k{}", i % 1000)).unwrap();
    });
    let near_map = "BENCH_NEAR";
    a.enable_near_cache(near_map, NearCacheConfig::default());
    for i in 0..1000 {
        a.put(near_map, &format!("k{i}"), value).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let get_near = ops_per_s(OPS, |i| {
        a.get(near_map, &format!("k{}", i % 1000)).unwrap();
    });

    // Notification latency: b writes its send time, a's listener measures on arrival.
    let base = Instant::now();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::with_capacity(EVENTS)));
    let l2 = Arc::clone(&lat);
    a.subscribe(
        "BENCH_EVENTS",
        Arc::new(move |e| {
            let now = base.elapsed().as_nanos() as f64;
            if let Some(sent) = e.value.as_deref().and_then(|v| v.parse::<f64>().ok()) {
                l2.lock().unwrap().push((now - sent) / 1_000.0);
            }
        }),
    )
    .unwrap();
    for _ in 0..EVENTS {
        let sent = base.elapsed().as_nanos().to_string();
        b.put("BENCH_EVENTS", "acb_boost", &sent).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    let t0 = Instant::now();
    while lat.lock().unwrap().len() < EVENTS && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    Row {
        backend: name.to_string(),
        put,
        get,
        get_near,
        p50_us: percentile(&l, 0.50),
        p99_us: percentile(&l, 0.99),
    }
}

fn main() {
    let mut rows = Vec::new();
    let e = EmbeddedMemory::new();
    rows.push(bench("embedded", e.clone(), e));
    if redis_available() {
        let server = RedisServer::start().expect("redis-server");
        let cfg = RedisConfig::single(&server.url());
        rows.push(bench(
            "redis node",
            RedisMemory::connect(cfg.clone()).unwrap(),
            RedisMemory::connect(cfg).unwrap(),
        ));
        drop(server);
        let cluster = RedisCluster::start(3).expect("redis cluster");
        let cfg = RedisConfig::cluster(&cluster.urls());
        rows.push(bench(
            "redis cluster (3 masters)",
            RedisMemory::connect(cfg.clone()).unwrap(),
            RedisMemory::connect(cfg).unwrap(),
        ));
    } else {
        eprintln!("note: redis-server not on PATH; Redis rows skipped");
    }
    println!(
        "| backend | put ops/s | get ops/s | get ops/s (near cache) | notify p50 µs | notify p99 µs |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} |",
            r.backend, r.put, r.get, r.get_near, r.p50_us, r.p99_us
        );
    }
}
