//! `dolphin backtest`.

use crate::paths::sample_days;
use crate::table::{num, pct, render};
use anyhow::Context;
use dolphin_core::UtcDate;
use dolphin_engine::DayContext;
use dolphin_runtime::layers::{Layers, build_acb, explain_acb, posture_context};
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
    /// Turn on ACBv6 with the daily indicator tables in DIR (dvol_btc_daily.csv,
    /// fear_greed_daily.csv, funding_rate_btcusdt_8h.csv, optional taker_ratio_daily.csv).
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Per-symbol funding tables (SYMBOL-funding.csv) for ACBv6's funding_btc.
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Turn on the survival stack from a JSONL trace of timed sensor readings; each date's
    /// posture and Rm are the stack's state at its 00:00 UTC.
    #[arg(long)]
    posture_trace: Option<PathBuf>,
    /// Turn on the OB layer from a recorded OB feature table (parquet, from `dolphin ob`).
    #[arg(long)]
    ob: Option<PathBuf>,
    /// Turn on the MC-Forewarner gate with an envelope model (envelope.json, from `dolphin mc`).
    #[arg(long)]
    mc: Option<PathBuf>,
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
    let mut layers = Layers::default();
    let acb = if a.indicators.is_some() || a.funding.is_some() {
        layers.acb = true;
        Some(build_acb(
            a.indicators.as_deref(),
            a.funding.as_deref(),
            &files,
        )?)
    } else {
        None
    };
    let acb_explain = acb.as_ref().map(|acb| explain_acb(acb, &files));
    let context: Box<dyn Fn(UtcDate) -> DayContext> = match &a.posture_trace {
        Some(p) => {
            layers.survival_stack = true;
            Box::new(posture_context(p)?)
        }
        None => Box::new(|_| DayContext::default()),
    };
    let ob = match &a.ob {
        Some(p) => {
            layers.ob = true;
            Some(dolphin_orderbook::ReplayObProvider::from_parquet(p)?)
        }
        None => None,
    };
    let mc = match &a.mc {
        Some(p) => {
            layers.mc_forewarner = true;
            Some(dolphin_risk::DolphinForewarner::load(p)?)
        }
        None => None,
    };
    let result = run_backtest(
        &cfg,
        &files,
        &*context,
        |e| {
            if let Some(acb) = acb {
                e.set_acb(Box::new(acb));
            }
            if let Some(mc) = mc {
                e.set_mc_forewarner(Box::new(mc));
            }
            if let Some(ob) = ob {
                e.set_ob_engine(Box::new(ob));
            }
        },
        &mut |p| {
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} capital {:.2}", p.day.date, p.day.capital));
        },
    );
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
    let run_info = serde_json::json!({
        "config": cfg.name,
        "champion": cfg.champion,
        "champion_hash": dolphin_engine::champion::champion_hash(&cfg.engine),
        "data": data.display().to_string(),
        "files": files.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>(),
        "layers": layers,
    });
    let mut bytes = serde_json::to_vec_pretty(&run_info)?;
    bytes.push(b'\n');
    dolphin_runtime::report::write_atomic(&a.out.join("run.json"), &bytes)?;
    if let Some(ex) = &acb_explain {
        dolphin_runtime::report::write_atomic(
            &a.out.join("acb.jsonl"),
            &dolphin_runtime::report::jsonl(ex),
        )?;
    }
    let s = &result.summary;
    let rows = [
        ("config", cfg.name.clone()),
        ("layers", layers.label()),
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
