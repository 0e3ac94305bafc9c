//! `dolphin scan`: Binance kline CSVs → eigenvalue scanner → day files (SPEC §3, §6).

use crate::table::render;
use anyhow::Context;
use dolphin_core::{DayFrame, UtcDate};
use dolphin_data::{day_file_name, load_kline_dir, split_by_utc_date, write_day_file};
use dolphin_scanner::{Scanner, ScannerConfig, verify_bar};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder of `SYMBOL-<interval>.csv[.gz]` kline files. Default: the shipped sample.
    #[arg(long)]
    klines: Option<PathBuf>,
    /// Output folder for the day files.
    #[arg(long, default_value = "out/days")]
    out: PathBuf,
    /// Slow window of vel_div = v50 − v(slow): 150, 300 or 750.
    #[arg(long, default_value_t = 750)]
    slow_window: usize,
    /// First date written (inclusive); earlier data still warms the windows.
    #[arg(long)]
    from: Option<UtcDate>,
    /// Last date written (inclusive).
    #[arg(long)]
    to: Option<UtcDate>,
    /// Recompute every Nth bar in high precision and report the largest deviation.
    #[arg(long)]
    verify: Option<usize>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let dir = a.klines.clone().unwrap_or_else(crate::paths::sample_klines);
    let started = Instant::now();
    let panel = load_kline_dir(&dir, None, None)?;
    let n = panel.symbols.len();
    let cfg = ScannerConfig {
        slow_window: a.slow_window,
        ..ScannerConfig::default()
    };
    let mut scanner = Scanner::new(n, cfg.clone()).context("scanner config")?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let rows = panel.open_time.len();
    let bar = ProgressBar::new(rows as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} scan [{bar:30}] {pos}/{len} bars {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let (mut written, mut max_dev, mut verified) = (0usize, 0.0f64, 0usize);
    // Day files are encoded and written on a second thread while the scanner goes on with the
    // next day (one writer, in date order, so the files are the same as written in line).
    let (tx, rx) = std::sync::mpsc::sync_channel::<(PathBuf, DayFrame)>(1);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let writer = s.spawn(move || -> anyhow::Result<()> {
            for (path, frame) in rx {
                write_day_file(&path, &frame)?;
            }
            Ok(())
        });
        let scanned = (|| -> anyhow::Result<()> {
            for (date, range) in split_by_utc_date(&panel) {
                let mut frame = DayFrame::empty(date, panel.symbols.clone());
                for r in range.clone() {
                    let closes = &panel.closes[r * n..(r + 1) * n];
                    let row = scanner.push(closes);
                    if let Some(every) = a.verify
                        && every > 0
                        && r % every == 0
                    {
                        let rep = verify_bar(n, &panel.closes[..(r + 1) * n], r, &cfg, &row)
                            .with_context(|| format!("verify bar {r}"))?;
                        if rep.max_deviation.is_finite() {
                            max_dev = max_dev.max(rep.max_deviation);
                        }
                        verified += 1;
                    }
                    row.append_to(&mut frame, panel.open_time[r], r as i64, closes);
                }
                bar.set_position(range.end as u64);
                bar.set_message(date.to_string());
                let in_range = a.from.is_none_or(|f| date >= f) && a.to.is_none_or(|t| date <= t);
                if in_range {
                    let path = a.out.join(day_file_name(date));
                    if tx.send((path, frame)).is_err() {
                        break; // the writer stopped on an error, reported below
                    }
                    written += 1;
                }
            }
            Ok(())
        })();
        drop(tx);
        let wrote = writer.join().expect("day-file writer thread panicked");
        scanned.and(wrote)
    })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut table = vec![
        ("klines", dir.display().to_string()),
        ("symbols", n.to_string()),
        ("interval", panel.interval.clone()),
        ("bars", rows.to_string()),
        ("day files written", written.to_string()),
        ("slow window", a.slow_window.to_string()),
        ("elapsed", format!("{secs:.2} s")),
        ("bars/s", format!("{:.0}", rows as f64 / secs)),
        ("output", a.out.display().to_string()),
        crate::inputs::table_row(&panel.warnings),
    ];
    let st = scanner.stats();
    let per_bar = |f: &dyn Fn(&dolphin_scanner::WindowStats) -> u64| -> String {
        st.windows
            .iter()
            .map(|w| format!("{:.2}", f(w) as f64 / (st.bars.max(1)) as f64))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let total = |f: &dyn Fn(&dolphin_scanner::WindowStats) -> u64| -> String {
        st.windows
            .iter()
            .map(|w| f(w).to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let ws = cfg.windows;
    let wl = format!("(w{}/{}/{}/{})", ws[0], ws[1], ws[2], ws[3]);
    let l_mv = format!("matvecs per bar {wl}");
    let l_fb = format!("dense fallbacks {wl}");
    let l_rb = format!("rebuilds {wl}");
    let l_rr = format!("row refreshes {wl}");
    table.push((&l_mv, per_bar(&|w| w.matvecs)));
    table.push((&l_fb, total(&|w| w.dense_fallbacks)));
    table.push((&l_rb, total(&|w| w.rebuilds)));
    table.push((&l_rr, total(&|w| w.row_refreshes)));
    table.push((
        "windows in parallel",
        if n >= dolphin_scanner::PARALLEL_MIN_ASSETS {
            format!("yes ({} threads)", rayon_threads())
        } else {
            format!("no (< {} assets)", dolphin_scanner::PARALLEL_MIN_ASSETS)
        },
    ));
    if a.verify.is_some() {
        table.push(("verified bars", verified.to_string()));
        table.push(("max |f64 − 320-bit| lambda_hat", format!("{max_dev:.3e}")));
    }
    let mut run = serde_json::json!({
        "command": "scan",
        "klines": dir.display().to_string(),
        "symbols": panel.symbols,
        "interval": panel.interval,
        "bars": rows,
        "day_files_written": written,
    });
    crate::inputs::add_to_run_json(&mut run, &panel.warnings, None);
    crate::inputs::write_run_json(&a.out.join("run.json"), &run)?;
    crate::inputs::print_warnings(&panel.warnings);
    print!("{}", render("DOLPHIN scan", &table));
    Ok(())
}

/// Worker threads of the scanner's thread pool (rayon's default: one per CPU, or
/// `RAYON_NUM_THREADS`).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&k: &usize| k > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |k| k.get()))
}
