//! Replay throughput table (issue 2 item 7): bars/s and asset-bars/s of the engine, file
//! reading excluded, at 16 assets (real day files) and 48 / 400 assets (generated, one day
//! generated at a time so memory holds one day), with each size's peak memory (VmHWM) measured
//! in its own process. Also the whole `dolphin backtest`-equivalent time on the real files.
//!
//! `cargo run --release -p dolphin-runtime --example replay_bench [-- DAYS_DIR]`

use dolphin_engine::synthetic::synthetic_days;
use dolphin_engine::{DayContext, EngineConfig, NDAlphaEngine};
use dolphin_runtime::{SystemConfig, day_files, run_backtest};
use std::path::PathBuf;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn real(dir: PathBuf) {
    let files = day_files(&dir, None, None).expect("day files");
    let frames: Vec<_> = files
        .iter()
        .map(|(_, p)| dolphin_data::read_day_file(p).expect("day file"))
        .collect();
    let bars: usize = frames.iter().map(|f| f.len()).sum();
    let n = frames[0].n_assets();
    let reps = (2_000_000 / bars).max(3);
    let t = Instant::now();
    let mut trades = 0;
    for _ in 0..reps {
        let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            e.process_day(f, DayContext::default(), i + 1 == frames.len())
                .unwrap();
        }
        trades = e.trade_history().len();
    }
    let secs = t.elapsed().as_secs_f64();
    let bps = (bars * reps) as f64 / secs;
    // Whole run including parquet reading.
    let t = Instant::now();
    let r = run_backtest(
        &SystemConfig::blue(),
        &files,
        &dolphin_runtime::Providers::none(),
        &mut |_| {},
    )
    .unwrap();
    let whole = t.elapsed().as_secs_f64();
    println!(
        "| {n} (real, {} days) | {bars} | {trades} | {:.0} | {:.0} | {:.1} | {:.3} s ({} trades) |",
        frames.len(),
        bps,
        bps * n as f64,
        peak_rss_mb(),
        whole,
        r.trades.len()
    );
}

fn generated(n: usize, days: usize) {
    let rows = 1440;
    let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
    let mut secs = 0.0;
    let mut date = "2025-01-01".parse().unwrap();
    for d in 0..days {
        let f = synthetic_days(date, 1, rows, n, 1000 + d as u32)
            .pop()
            .unwrap();
        date = f.date.succ();
        let t = Instant::now();
        e.process_day(&f, DayContext::default(), d + 1 == days)
            .unwrap();
        secs += t.elapsed().as_secs_f64();
    }
    let bars = rows * days;
    let bps = bars as f64 / secs;
    println!(
        "| {n} (generated, {days} days) | {bars} | {} | {:.0} | {:.0} | {:.1} | – |",
        e.trade_history().len(),
        bps,
        bps * n as f64,
        peak_rss_mb()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 3 && args[1] == "--one" {
        match args[2].as_str() {
            "real" => real(PathBuf::from(&args[3])),
            n => generated(n.parse().unwrap(), 30),
        }
        return;
    }
    let dir = args.get(1).cloned().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/days").to_string()
    });
    println!(
        "| assets | bars | trades | bars/s | asset-bars/s | peak RSS MB | whole run incl. reading |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().unwrap();
    for one in [vec!["real", dir.as_str()], vec!["48"], vec!["400"]] {
        let st = std::process::Command::new(&exe)
            .arg("--one")
            .args(&one)
            .status()
            .unwrap();
        assert!(st.success());
    }
}
