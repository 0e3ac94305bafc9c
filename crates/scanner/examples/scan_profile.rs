//! Profiling driver: the incremental scanner alone (no I/O) on a kline folder or a generated
//! panel, printing CPU time and the solver's counters per window.
//! `cargo run -p dolphin-scanner --release --example scan_profile -- <assets> <bars> [clean|realistic|factor] [seed]`
//! `cargo run -p dolphin-scanner --release --example scan_profile -- --klines DIR`

#[path = "../tests/common/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use dolphin_scanner::{Scanner, ScannerConfig};
use std::time::Instant;

fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns * 1e-9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (n, closes, label) = if args.first().map(String::as_str) == Some("--klines") {
        let p = dolphin_data::load_kline_dir(std::path::Path::new(&args[1]), None, None)
            .expect("klines");
        (p.symbols.len(), p.closes, args[1].clone())
    } else {
        let num = |k: usize, d: usize| args.get(k).map_or(d, |a| a.parse().expect("number"));
        let (n, bars) = (num(0, 400), num(1, 3000));
        let kind = args.get(2).map_or("realistic", String::as_str);
        let seed = num(3, 3) as u64;
        let closes = match kind {
            "factor" => synthetic::factor_random_walk(n, bars, seed),
            "clean" => synthetic::realistic_panel(n, bars, seed, true).closes,
            _ => synthetic::realistic_panel(n, bars, seed, false).closes,
        };
        (n, closes, format!("{kind} seed {seed}"))
    };
    let bars = closes.len() / n;
    let mut sc = Scanner::new(n, ScannerConfig::default()).expect("config");
    let (start, c0) = (Instant::now(), cpu_seconds());
    let mut sink = 0.0;
    for bar in closes.chunks_exact(n) {
        sink += sc.push(bar).lambda_hat[0];
    }
    let (dt, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "{label}: {n} assets, {bars} bars: {:.0} bars/s wall, {:.0} bars/s CPU ({sink:.3})",
        bars as f64 / dt,
        bars as f64 / cpu
    );
    let st = sc.stats();
    for (k, w) in st.windows.iter().enumerate() {
        println!(
            "  window {}: matvecs/bar {:.2}, dense fallbacks {}, rebuilds {}, row refreshes {}",
            ScannerConfig::default().windows[k],
            w.matvecs as f64 / bars as f64,
            w.dense_fallbacks,
            w.rebuilds,
            w.row_refreshes
        );
    }
}
