//! `dolphin ob`: raw Binance USD-M depth captures → local order books → OB feature table
//! (parquet), with a summary of book health (issue 5 item 5); optionally the captures' trades
//! as kline CSVs for `dolphin scan` (docs/OB_FEATURES.md §8).

use crate::table::render;
use anyhow::Context;
use dolphin_orderbook::{FeatureConfig, parse_interval, replay_captures, write_kline_csvs};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Capture file: `<local_ts_ns> <json>` lines, gzip or plain (depthUpdate, REST snapshot,
    /// bookTicker, trade). Repeat for several symbols (one capture each): they are merged by
    /// local receive time into one table with every asset and the market-wide features.
    #[arg(long, required = true)]
    capture: Vec<PathBuf>,
    /// Output feature table (parquet), one row per (sample time, asset) at 500 ms.
    #[arg(long)]
    out: PathBuf,
    /// Also write the captures' trades as kline CSVs `SYMBOL-<interval>.csv` into DIR
    /// (input of `dolphin scan --klines DIR`).
    #[arg(long)]
    klines_out: Option<PathBuf>,
    /// Bar length of `--klines-out`: `<n>s`, `<n>m` or `<n>h`.
    #[arg(long, default_value = "1s")]
    interval: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let interval_ms = parse_interval(&a.interval)?;
    let replay = replay_captures(&a.capture, &FeatureConfig::default(), interval_ms)?;
    let (table, health) = (&replay.table, &replay.health);
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    table.write_parquet(&a.out)?;
    let mut klines = Vec::new();
    if let Some(dir) = &a.klines_out {
        let bars = replay.trade_bars.bars()?;
        let paths = write_kline_csvs(dir, &a.interval, &bars)?;
        // Paths come back in symbol order, like the map.
        klines = paths.into_iter().zip(bars.values().map(Vec::len)).collect();
    }
    let secs = started.elapsed().as_secs_f64();
    let captures: Vec<String> = a.capture.iter().map(|p| p.display().to_string()).collect();
    let mut rows = vec![
        ("capture", captures.join(", ")),
        ("messages", health.messages.to_string()),
        ("applied diffs", health.applied_diffs.to_string()),
        ("dropped (stale) diffs", health.dropped_diffs.to_string()),
        ("gaps", health.gaps.to_string()),
        ("resyncs", health.resyncs.to_string()),
        ("stale seconds", format!("{:.1}", health.stale_seconds)),
        (
            "bookTicker check",
            format!(
                "{} checked, {} matched, {} mismatched",
                health.ticker_checked, health.ticker_matched, health.ticker_mismatches
            ),
        ),
        ("feature rows", table.rows.len().to_string()),
    ];
    for (p, n) in &klines {
        rows.push((
            "klines",
            format!("{} ({n} bars of {})", p.display(), a.interval),
        ));
    }
    rows.push(("elapsed", format!("{secs:.2} s")));
    rows.push(("output", a.out.display().to_string()));
    rows.push(crate::inputs::table_row(&replay.warnings));
    let mut run = serde_json::json!({
        "command": "ob",
        "captures": captures,
        "health": health,
        "feature_rows": table.rows.len(),
        "output": a.out.display().to_string(),
    });
    crate::inputs::add_to_run_json(&mut run, &replay.warnings, None);
    crate::inputs::write_run_json(&a.out.with_extension("run.json"), &run)?;
    crate::inputs::print_warnings(&replay.warnings);
    print!("{}", render("DOLPHIN ob", &rows));
    if health.ticker_mismatches > 0 || health.gaps > 0 {
        eprintln!(
            "warning: the book was not healthy for the whole capture ({} gaps, {} ticker mismatches)",
            health.gaps, health.ticker_mismatches
        );
    }
    Ok(())
}
