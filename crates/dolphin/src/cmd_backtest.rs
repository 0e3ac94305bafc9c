//! `dolphin backtest`.

use crate::paths::sample_days;
use crate::table::{num, pct, render};
use anyhow::Context;
use dolphin_core::UtcDate;
use dolphin_engine::DayContext;
use dolphin_runtime::{BacktestError, SystemConfig, day_files, run_backtest, write_outputs};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder of day files (YYYY-MM-DD.parquet). Default: the shipped sample.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder for summary.json, trades.jsonl, days.jsonl, equity.png.
    #[arg(long, default_value = "out/backtest")]
    out: PathBuf,
    /// Configuration file (YAML). Default: the champion, configs/blue.yml (embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// First date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    from: Option<UtcDate>,
    /// Last date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    to: Option<UtcDate>,
    /// Skip equity.png.
    #[arg(long)]
    no_plot: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let cfg = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let data = a.data.clone().unwrap_or_else(sample_days);
    let files = day_files(&data, a.from, a.to)?;
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} backtest [{bar:30}] {pos}/{len} days {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let result = run_backtest(&cfg, &files, &|_| DayContext::default(), |_| {}, &mut |p| {
        bar.set_position(p.done as u64);
        bar.set_message(format!("{} capital {:.2}", p.day.date, p.day.capital));
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let result = match result {
        Ok(r) => r,
        Err(BacktestError::Stopped { source, partial }) => {
            write_outputs(&a.out, &partial, !a.no_plot)?;
            return Err(anyhow::anyhow!(
                "{source}\npartial results of {} day(s) written to {}",
                partial.days.len(),
                a.out.display()
            ));
        }
        Err(e) => return Err(e).context("backtest failed"),
    };
    write_outputs(&a.out, &result, !a.no_plot)?;
    let s = &result.summary;
    let rows = [
        ("config", cfg.name.clone()),
        ("data", data.display().to_string()),
        (
            "days",
            format!(
                "{} ({} .. {})",
                s.days,
                files.first().map(|f| f.0.to_string()).unwrap_or_default(),
                files.last().map(|f| f.0.to_string()).unwrap_or_default()
            ),
        ),
        ("bars", result.bars.to_string()),
        ("trades", s.trades.to_string()),
        ("initial capital", format!("{:.2}", s.initial_capital)),
        ("final capital", format!("{:.2}", s.final_capital)),
        ("ROI", pct(Some(s.roi))),
        ("profit factor", num(s.profit_factor, 3)),
        ("Sharpe", num(s.sharpe, 2)),
        ("max drawdown", pct(Some(s.max_drawdown))),
        ("win rate", pct(s.win_rate)),
        ("elapsed", format!("{:.3} s", elapsed.as_secs_f64())),
        ("outputs", a.out.display().to_string()),
    ];
    print!("{}", render("DOLPHIN backtest", &rows));
    Ok(())
}
