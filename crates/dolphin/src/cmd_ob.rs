//! `dolphin ob`: a raw Binance USD-M depth capture → local books → OB feature table (parquet),
//! with a summary of book health (issue 5 item 5).

use crate::table::render;
use anyhow::Context;
use dolphin_orderbook::capture_to_features;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Capture file: `<local_ts_ns> <json>` lines, gzip or plain (depthUpdate, REST snapshot,
    /// bookTicker, trade).
    #[arg(long)]
    capture: PathBuf,
    /// Output feature table (parquet), one row per (sample time, asset) at 500 ms.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let (table, health) = capture_to_features(&a.capture)?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    table.write_parquet(&a.out)?;
    let secs = started.elapsed().as_secs_f64();
    let rows = [
        ("capture", a.capture.display().to_string()),
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
        ("elapsed", format!("{secs:.2} s")),
        ("output", a.out.display().to_string()),
    ];
    print!("{}", render("DOLPHIN ob", &rows));
    if health.ticker_mismatches > 0 || health.gaps > 0 {
        eprintln!(
            "warning: the book was not healthy for the whole capture ({} gaps, {} ticker mismatches)",
            health.gaps, health.ticker_mismatches
        );
    }
    Ok(())
}
