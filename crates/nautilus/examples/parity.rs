//! Parity check on any folder of day files (issue 7 item 3): runs the standalone replay and the
//! Nautilus replay, writes both outputs and compares them byte for byte; prints the
//! reconciliation of Nautilus's fills with the engine's trade log.
//!
//! `cargo run --release --example parity -- <days dir> [out dir]`

use dolphin_nautilus::run_nautilus_backtest;
use dolphin_runtime::{SystemConfig, day_files, run_backtest, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: parity <days dir> [out dir]")?);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "out/parity".into()));
    let cfg = SystemConfig::blue();
    let files = day_files(&dir, None, None)?;
    let t = Instant::now();
    let a = run_backtest(
        &cfg,
        &files,
        &dolphin_runtime::Providers::none(),
        &mut |_| {},
    )?;
    let ts = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let n = run_nautilus_backtest(&cfg, &files)?;
    let tn = t.elapsed().as_secs_f64();
    write_outputs(&out.join("standalone"), &a, false)?;
    write_outputs(&out.join("nautilus"), &n.result, false)?;
    let mut same = true;
    for f in ["summary.json", "trades.jsonl", "days.jsonl"] {
        let eq = std::fs::read(out.join("standalone").join(f))?
            == std::fs::read(out.join("nautilus").join(f))?;
        println!("{f:14} {}", if eq { "identical" } else { "DIFFERENT" });
        same &= eq;
    }
    let r = &n.reconciliation;
    println!(
        "days {} rows {} assets {} trades {} | standalone {ts:.2} s, Nautilus {tn:.2} s ({} bars)",
        a.days.len(),
        a.bars,
        n.instruments,
        a.trades.len(),
        n.nautilus_bars
    );
    println!(
        "reconciliation: {} orders sent, {} filled, {} fills, {} differences",
        r.orders_sent,
        r.orders_filled,
        r.fills,
        r.differences.len()
    );
    for d in r.differences.iter().take(20) {
        println!("  {d:?}");
    }
    if !same || !r.is_clean() {
        return Err("parity check failed".into());
    }
    Ok(())
}
