//! `dolphin backtest`.

use crate::inputs;
use crate::paths::sample_days;
use crate::table::{num, pct, render};
use anyhow::Context;
use dolphin_core::UtcDate;
use dolphin_runtime::{
    BacktestError, ProviderSources, Providers, SystemConfig, build_providers, day_files,
    run_backtest, write_outputs,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

/// Which engine replays the day files.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// The engine alone (`process_day` per file).
    #[default]
    Standalone,
    /// The DolphinActor on NautilusTrader's BacktestEngine (orders filled by a simulated
    /// BINANCE venue and reconciled with the trade log).
    Nautilus,
}

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
    /// fear_greed_daily.csv, funding_rate_btcusdt_8h.csv, optional taker_ratio_daily.csv), or
    /// with NG3 output: DIR holds `YYYY-MM-DD/scan_*__Indicators.npz` (or is one such date
    /// folder); then per date the median of the first 10 scans' factors (B §3.2).
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
    /// Replay engine: standalone or inside NautilusTrader (same outputs, plus
    /// reconciliation.json).
    #[arg(long, value_enum, default_value_t = EngineKind::Standalone)]
    engine: EngineKind,
    /// With `--engine nautilus`: the actor's store is this Redis server (e.g.
    /// redis://127.0.0.1:6379) instead of an embedded one; per-date results go to
    /// DOLPHIN_PNL_BLUE and the capital state to DOLPHIN_STATE_BLUE["latest_nautilus"].
    #[arg(long)]
    redis: Option<String>,
    /// With `--engine nautilus`: start from the capital stored by the previous run (S §17.6),
    /// if its champion parameter hash matches this config.
    #[arg(long)]
    resume: bool,
    /// Also write the HTML tear sheet (report.html) beside the other outputs.
    #[arg(long)]
    report: bool,
    /// Take each date's ACB value and every sub-day update from a `dolphin serve` trace
    /// (acb.jsonl), on the bars it records (instead of --indicators/--funding).
    #[arg(long, conflicts_with_all = ["indicators", "funding"])]
    acb_trace: Option<PathBuf>,
    /// Take each date's MC-Forewarner report from a `dolphin serve` trace (mc.jsonl).
    #[arg(long, conflicts_with = "mc")]
    mc_trace: Option<PathBuf>,
    /// Take the circuit breaker's entry gate from a `dolphin serve` trace (cb.jsonl).
    #[arg(long)]
    cb_trace: Option<PathBuf>,
    /// Take each date's posture and Rm from the posture the `dolphin serve` trader applied
    /// (posture.jsonl: including fail-safe HIBERNATE days and a resumed run's re-applied
    /// decisions) instead of recomputing it from --posture-trace's sensor readings.
    #[arg(long, conflicts_with = "posture_trace")]
    posture_log: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.engine != EngineKind::Nautilus && (a.redis.is_some() || a.resume) {
        anyhow::bail!("--redis and --resume need --engine nautilus (the actor owns the store)");
    }
    // Fail before any file is read when Nautilus is asked for but not compiled in.
    if a.engine == EngineKind::Nautilus && !cfg!(feature = "nautilus") {
        anyhow::bail!(
            "--engine nautilus: this dolphin was built without the `nautilus` feature (off by \
             default); rebuild with `cargo run --release -p dolphin --features nautilus -- \
             backtest --engine nautilus ...`"
        );
    }
    let traces = dolphin_services::Traces::load(
        a.acb_trace.as_deref(),
        a.mc_trace.as_deref(),
        a.cb_trace.as_deref(),
    )?;
    if !traces.is_empty() && a.engine == EngineKind::Nautilus {
        anyhow::bail!("--acb-trace/--mc-trace/--cb-trace replay on the standalone engine only");
    }
    let cfg = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let data = a.data.clone().unwrap_or_else(sample_days);
    let files = day_files(&data, a.from, a.to)?;
    // Every day file is read and checked before anything runs or is written (docs/INPUTS.md).
    let checked = dolphin_data::check_day_files(&files)?;
    let mut warnings = checked.warnings;
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} backtest [{bar:30}] {pos}/{len} days {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    // The optional layers, built once; every engine of the run gets them installed.
    let built = build_providers(
        &ProviderSources {
            indicators: a.indicators.clone(),
            funding: a.funding.clone(),
            posture_trace: a.posture_trace.clone(),
            ob_features: a.ob.clone(),
            mc_envelope: a.mc.clone(),
        },
        &files,
        &mut warnings,
    )?;
    let providers = built.providers;
    let acb_explain = built.acb_explain;
    let mut layers = providers.layers();
    layers.acb |= traces.acb.is_some();
    layers.mc_forewarner |= traces.mc.is_some();
    let posture_log = match &a.posture_log {
        Some(p) => Some(posture_log(p, &files)?),
        None => None,
    };
    layers.survival_stack |= posture_log.is_some();
    let day_context = |d: UtcDate| match &posture_log {
        Some(m) => m.get(&d).copied().unwrap_or_default(),
        None => providers.day_context(d),
    };
    let mut reconciliation = None;
    let result = match a.engine {
        EngineKind::Standalone if !traces.is_empty() || posture_log.is_some() => {
            Ok(dolphin_services::run_traced_backtest(
                &cfg,
                &files,
                &day_context,
                &traces,
                |e| providers.install(e),
                &mut |done, _| {
                    bar.set_position(done as u64);
                },
            )
            .context("traced backtest failed")?)
        }
        EngineKind::Standalone => run_backtest(&cfg, &files, &providers, &mut |p| {
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} capital {:.2}", p.day.date, p.day.capital));
        }),
        EngineKind::Nautilus => {
            let store = NautilusStore {
                redis: a.redis.clone(),
                resume: a.resume,
            };
            let run = run_nautilus(&cfg, &files, &providers, &store, &bar)?;
            reconciliation = Some(run.1);
            Ok(run.0)
        }
    };
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
    if let Some(r) = &reconciliation {
        let mut bytes = serde_json::to_vec_pretty(r)?;
        bytes.push(b'\n');
        dolphin_runtime::report::write_atomic(&a.out.join("reconciliation.json"), &bytes)?;
    }
    let mut run_info = serde_json::json!({
        "engine": format!("{:?}", a.engine).to_lowercase(),
        "config": cfg.name,
        "champion": cfg.champion,
        "champion_hash": dolphin_engine::champion::champion_hash(&cfg.engine),
        "data": data.display().to_string(),
        "files": files.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>(),
        "layers": layers,
    });
    inputs::add_to_run_json(&mut run_info, &warnings, Some(&checked.missing));
    inputs::write_run_json(&a.out.join("run.json"), &run_info)?;
    if let Some(ex) = &acb_explain {
        dolphin_runtime::report::write_atomic(
            &a.out.join("acb.jsonl"),
            &dolphin_runtime::report::jsonl(ex),
        )?;
    }
    if a.report {
        crate::cmd_report::write_report(&a.out, &a.out.join("report.html"))?;
    }
    let s = &result.summary;
    let mut rows = vec![
        ("config", cfg.name.clone()),
        ("engine", format!("{:?}", a.engine).to_lowercase()),
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
        inputs::missing_row(&checked.missing),
        inputs::table_row(&warnings),
        ("elapsed", format!("{:.3} s", elapsed.as_secs_f64())),
        ("outputs", a.out.display().to_string()),
    ];
    if let Some(r) = &reconciliation {
        rows.push((
            "reconciliation",
            format!(
                "{} difference(s); {}/{} orders filled",
                r.differences.len(),
                r.orders_filled,
                r.expected_orders
            ),
        ));
    }
    inputs::print_warnings(&warnings);
    print!("{}", render("DOLPHIN backtest", &rows));
    Ok(())
}

/// Where the Nautilus actor keeps its state.
#[cfg_attr(not(feature = "nautilus"), allow(dead_code))]
struct NautilusStore {
    redis: Option<String>,
    resume: bool,
}

/// The replay on NautilusTrader (`--engine nautilus`): the same providers value (ACB, MC, OB,
/// posture) as the standalone run, the day files read up front (a bad file fails before anything runs).
#[cfg(feature = "nautilus")]
fn run_nautilus(
    cfg: &SystemConfig,
    files: &[(UtcDate, PathBuf)],
    providers: &Providers,
    store: &NautilusStore,
    bar: &ProgressBar,
) -> anyhow::Result<(
    dolphin_runtime::BacktestResult,
    dolphin_nautilus::Reconciliation,
)> {
    let progress = bar.clone();
    let mut opts = dolphin_nautilus::NautilusOptions {
        restore_capital: store.resume,
        providers: providers.clone(),
        on_day_read: Some(std::rc::Rc::new(move |done, _| {
            progress.set_position(done as u64);
            progress.set_message("read; running on Nautilus");
        })),
        ..Default::default()
    };
    if let Some(url) = &store.redis {
        // Fail here, naming the server, rather than run on local state (the actor would only
        // warn: S §17 makes an unreachable store non-fatal for a live node).
        let mem = dolphin_store::RedisMemory::connect(dolphin_store::RedisConfig::single(url))
            .with_context(|| format!("cannot reach the store at {url}"))?;
        let mem: std::sync::Arc<dyn dolphin_store::SystemMemory> = std::sync::Arc::new(mem);
        opts.store = dolphin_nautilus::shared_store(mem);
    }
    let run = dolphin_nautilus::run_nautilus_backtest_with(cfg, files, &opts)
        .context("Nautilus backtest failed")?;
    for e in &run.log.store_errors {
        eprintln!("warning: store: {e}");
    }
    if !run.reconciliation.is_clean() {
        eprintln!(
            "warning: Nautilus reconciliation found {} difference(s); see reconciliation.json",
            run.reconciliation.differences.len()
        );
    }
    Ok((run.result, run.reconciliation))
}

#[cfg(not(feature = "nautilus"))]
fn run_nautilus(
    _cfg: &SystemConfig,
    _files: &[(UtcDate, PathBuf)],
    _providers: &Providers,
    _store: &NautilusStore,
    _bar: &ProgressBar,
) -> anyhow::Result<(dolphin_runtime::BacktestResult, NoReconciliation)> {
    anyhow::bail!(
        "this dolphin was built without the `nautilus` feature (off by default); rebuild with \
         `cargo run --release -p dolphin --features nautilus -- backtest --engine nautilus ...`"
    )
}

/// Stands in for the reconciliation type when Nautilus is not compiled in.
#[cfg(not(feature = "nautilus"))]
#[derive(serde::Serialize)]
struct NoReconciliation {
    differences: Vec<()>,
    orders_filled: usize,
    expected_orders: usize,
}

/// `--posture-log`: each date's posture and Rm as the serve trader applied them; every date of
/// the replay must have one.
fn posture_log(
    path: &std::path::Path,
    files: &[(UtcDate, PathBuf)],
) -> anyhow::Result<std::collections::BTreeMap<UtcDate, dolphin_engine::DayContext>> {
    let lines: Vec<dolphin_services::traces::PostureDecision> =
        dolphin_services::traces::read_jsonl(path)?;
    let map: std::collections::BTreeMap<_, _> = lines
        .iter()
        .map(|d| {
            (
                d.date,
                dolphin_engine::DayContext {
                    posture: d.posture,
                    rm: d.rm,
                },
            )
        })
        .collect();
    if let Some((d, _)) = files.iter().find(|(d, _)| !map.contains_key(d)) {
        anyhow::bail!("{}: no posture for {d}", path.display());
    }
    Ok(map)
}
