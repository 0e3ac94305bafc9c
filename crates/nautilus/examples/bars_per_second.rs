//! Bench (issue 7 item 5): rows/s of the Nautilus replay vs the standalone replay on generated
//! day files of 16 assets. Prints a table.
//!
//! `cargo run --release --example bars_per_second -- [days] [rows_per_day] [assets]`

use dolphin_core::UtcDate;
use dolphin_data::write_day_file;
use dolphin_engine::synthetic::synthetic_days;
use dolphin_nautilus::run_nautilus_backtest;
use dolphin_runtime::{SystemConfig, day_files, run_backtest};
use std::time::Instant;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (days, rows, assets) = (arg(1, 8), arg(2, 1440), arg(3, 16));
    let tmp = tempfile::tempdir()?;
    for f in synthetic_days(UtcDate::new(2026, 3, 1).unwrap(), days, rows, assets, 5) {
        write_day_file(&tmp.path().join(format!("{}.parquet", f.date)), &f)?;
    }
    let files = day_files(tmp.path(), None, None)?;
    let cfg = SystemConfig::blue();
    let reps = 3;
    let mut best_s = f64::INFINITY;
    let mut best_n = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let a = run_backtest(
            &cfg,
            &files,
            &dolphin_runtime::Providers::none(),
            &mut |_| {},
        )?;
        best_s = best_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let n = run_nautilus_backtest(&cfg, &files)?;
        best_n = best_n.min(t.elapsed().as_secs_f64());
        assert_eq!(
            a, n.result,
            "Nautilus replay differs from the standalone one"
        );
        out = Some((a, n));
    }
    let (a, n) = out.expect("ran");
    let rows_total = a.bars as f64;
    println!(
        "| path | rows | Nautilus bars | trades | best of {reps} (s) | rows/s | asset-bars/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| standalone (run_backtest) | {} | – | {} | {best_s:.3} | {:.0} | {:.0} |",
        a.bars,
        a.trades.len(),
        rows_total / best_s,
        a.asset_bars as f64 / best_s
    );
    println!(
        "| Nautilus (BacktestEngine + DolphinActor) | {} | {} | {} | {best_n:.3} | {:.0} | {:.0} |",
        n.result.bars,
        n.nautilus_bars,
        n.result.trades.len(),
        rows_total / best_n,
        n.result.asset_bars as f64 / best_n
    );
    println!(
        "\n{days} days × {rows} rows × {assets} assets; reconciliation clean: {} ({} orders filled)",
        n.reconciliation.is_clean(),
        n.reconciliation.orders_filled
    );
    Ok(())
}
