//! `dolphin serve`: the supervised system (issue 11; seeds B §16, S §11, §15.5, §17; SPEC §8).

use crate::paths::sample_days;
use crate::table::{num, pct, render};
use anyhow::Context;
use dolphin_core::UtcDate;
use dolphin_runtime::SystemConfig;
use dolphin_services::{Mode, ServeOptions, ServicesConfig, StoreSpec};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (YAML). Default: the champion, configs/blue.yml (embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Services configuration (cadences, retries, timeouts; configs/services.yml). Default:
    /// the seeds' figures.
    #[arg(long)]
    services_config: Option<PathBuf>,
    /// The store the services share: `embedded` or redis://HOST:PORT[,…] (several = cluster).
    #[arg(long, default_value = "embedded")]
    store: StoreSpec,
    /// Run the services around the NautilusTrader paper node on live market data (Binance, or
    /// the local exchange with --exchange-url) instead of a replay; needs a build with
    /// `--features nautilus`.
    #[arg(long, conflicts_with = "replay")]
    live: bool,
    /// --live: the panel (Binance USD-M symbols). Default: the 16 perpetuals of the shipped data.
    #[arg(long, value_delimiter = ',', requires = "live")]
    assets: Vec<String>,
    /// --live: bar length in seconds (overrides the config's `bar_seconds`; 60 = exchange klines).
    #[arg(long, requires = "live")]
    bar_seconds: Option<u32>,
    /// --live: event-time end of the data (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]Z`); the node
    /// ends the data there (SPEC §6) and the run stops.
    #[arg(long, value_parser = crate::cmd_paper::parse_end, requires = "live")]
    end: Option<i64>,
    /// --live: stop after this many seconds of wall time.
    #[arg(long, requires = "live")]
    run_for: Option<f64>,
    /// Replay the day files in DIR on the event-time clock. Default: the shipped sample.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Replay speed: event seconds per wall second; 0 = as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    speed: f64,
    /// First date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    from: Option<UtcDate>,
    /// Last date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    to: Option<UtcDate>,
    /// Daily indicator tables for the ACB processor's external factors.
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Per-symbol funding tables (SYMBOL-funding.csv) for the ACB processor.
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Envelope model (envelope.json from `dolphin mc`) for the MC-Forewarner flow.
    #[arg(long)]
    mc: Option<PathBuf>,
    /// Run directory (trades, days, summary, traces, heartbeats, services.json, logs/).
    #[arg(long, default_value = "out/serve")]
    out: PathBuf,
    /// Check config, champion hash, store, data and every service's inputs; print the plan.
    #[arg(long)]
    dry_run: bool,
    /// Also serve the observability API and dashboard (docs/OBSERVABILITY.md) from this
    /// process, reading the services' own store (an embedded store included) and the run
    /// folder. After a replay ends the API keeps serving until SIGINT/SIGTERM.
    #[arg(long)]
    api: bool,
    #[command(flatten)]
    api_server: crate::cmd_api::ServerArgs,
    /// Run the OB stream service (docs/LIVE.md §2) in the `ob_stream` slot against this
    /// exchange's REST base (e.g. the local exchange `http://127.0.0.1:PORT`; the websocket is
    /// the same host); the watchdog's Cat3 then reads its book health. Off without it. With
    /// --live the paper node takes its market data from the same exchange, and the OB stream
    /// runs only when --ob-symbols names its symbols.
    #[arg(long)]
    exchange_url: Option<String>,
    /// Symbols of the OB stream (default: every trading perpetual the exchange lists).
    #[arg(long, value_delimiter = ',', requires = "exchange_url")]
    ob_symbols: Vec<String>,
    /// OB stream settings (YAML of `ObStreamConfig`: depth_stream, stale_after_ms, backoff, …).
    #[arg(long, requires = "exchange_url")]
    ob_config: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let config = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let services = match &a.services_config {
        Some(p) => ServicesConfig::load(p)?,
        None => ServicesConfig::default(),
    };
    if !(a.speed >= 0.0 && a.speed.is_finite()) {
        anyhow::bail!(
            "--speed must be ≥ 0 (0 = as fast as possible), got {}",
            a.speed
        );
    }
    let mode = if a.live {
        Mode::Live
    } else {
        Mode::Replay {
            dir: a.replay.clone().unwrap_or_else(sample_days),
            speed: a.speed,
            from: a.from,
            to: a.to,
        }
    };
    let opts = ServeOptions {
        config,
        services,
        store: a.store.clone(),
        mode,
        indicators: a.indicators.clone(),
        funding: a.funding.clone(),
        mc: a.mc.clone(),
        out: a.out.clone(),
        ob_task: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut opts = opts;
    if let Some(url) = a
        .exchange_url
        .as_ref()
        .filter(|_| !a.live || !a.ob_symbols.is_empty())
    {
        opts.ob_task = Some(
            rt.block_on(crate::ob_task::ob_task(
                url,
                &a.ob_symbols,
                a.ob_config.as_deref(),
            ))
            .context("--exchange-url")?,
        );
    }
    if a.dry_run {
        let plan = dolphin_services::dry_run(&opts).context("dry run failed")?;
        println!("DOLPHIN serve — plan (dry run: nothing started)");
        for (i, r) in plan.iter().enumerate() {
            println!(
                "{}. {:<12} {:<9} {}; retries {}, timeout {} ms",
                i + 1,
                r.service,
                if r.enabled { "enabled" } else { "disabled" },
                r.cadence,
                r.retry.retries,
                r.retry.timeout_ms
            );
            for line in &r.inputs {
                println!("   {line}");
            }
        }
        println!(
            "store: {}  out: {}",
            opts.store.describe(),
            opts.out.display()
        );
        return Ok(());
    }
    dolphin_services::logging::init(&a.out)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let flag = stop.clone();
        rt.spawn(async move {
            crate::signals::wait_for_signal().await;
            eprintln!("signal received: finishing the current bar, then writing results");
            flag.store(true, Ordering::SeqCst);
        });
    }
    // One store for the services and, with --api, for the API in the same process.
    let store =
        dolphin_services::connect_store(&opts.store, &opts.services).context("serve failed")?;
    let api = if a.api {
        Some(crate::cmd_api::start_in_process(
            &a.api_server,
            a.out.clone(),
            Some(store.clone()),
        )?)
    } else {
        None
    };
    if a.live {
        let run_for = match a.run_for {
            Some(s) if s > 0.0 && s.is_finite() => Some(std::time::Duration::from_secs_f64(s)),
            Some(s) => anyhow::bail!("--run-for must be a positive number of seconds, got {s}"),
            None => None,
        };
        return run_live(
            opts,
            LiveFlags {
                assets: a.assets.clone(),
                bar_seconds: a.bar_seconds,
                exchange_url: a.exchange_url.clone(),
                end_ms: a.end,
                run_for,
            },
            store,
            stop,
            &rt,
        );
    }
    let report = rt
        .block_on(dolphin_services::serve_with_store(
            opts,
            store,
            stop.clone(),
        ))
        .context("serve failed")?;
    let s = &report.result.summary;
    let t = &report.trader;
    let rows = vec![
        ("store", report.store.clone()),
        (
            "days",
            format!(
                "{} ({} .. {})",
                report.result.days.len(),
                report
                    .files
                    .first()
                    .map(|f| f.0.to_string())
                    .unwrap_or_default(),
                report
                    .files
                    .last()
                    .map(|f| f.0.to_string())
                    .unwrap_or_default()
            ),
        ),
        ("bars", report.result.bars.to_string()),
        ("trades", s.trades.to_string()),
        ("initial capital", format!("{:.2}", s.initial_capital)),
        ("final capital", format!("{:.2}", s.final_capital)),
        ("ROI", pct(Some(s.roi))),
        ("profit factor", num(s.profit_factor, 3)),
        ("max drawdown", pct(Some(s.max_drawdown))),
        ("services", services_line(&report.services)),
        (
            "ACB / MC kept previous",
            format!("{} / {}", t.acb_kept_previous, t.mc_kept_previous),
        ),
        ("stale-state days", t.stale_state_events.to_string()),
        ("store errors", t.store_errors.to_string()),
        (
            "daily results",
            format!(
                "{} written, {} already stored",
                t.pnl_written, t.pnl_already_present
            ),
        ),
        (
            "stopped by signal",
            if t.stopped_by_signal {
                "yes".into()
            } else {
                "no".into()
            },
        ),
        (
            "rows/s",
            format!(
                "{:.0}",
                report.result.bars as f64 / report.elapsed.as_secs_f64().max(1e-9)
            ),
        ),
        ("elapsed", format!("{:.3} s", report.elapsed.as_secs_f64())),
        ("outputs", a.out.display().to_string()),
    ];
    print!("{}", render("DOLPHIN serve", &rows));
    if let Some(api) = api {
        if !stop.load(Ordering::SeqCst) {
            println!(
                "replay finished; the API stays up on http://{} until SIGINT/SIGTERM",
                api.addr
            );
            use std::io::Write;
            std::io::stdout().flush()?;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        drop(api);
        eprintln!("dolphin api: stopped");
    }
    Ok(())
}

/// The node's flags of `--live` (read only by a build with the `nautilus` feature; without it
/// `--live` stops with an error naming the feature).
#[cfg_attr(not(feature = "nautilus"), allow(dead_code))]
struct LiveFlags {
    assets: Vec<String>,
    bar_seconds: Option<u32>,
    exchange_url: Option<String>,
    end_ms: Option<i64>,
    run_for: Option<std::time::Duration>,
}

#[cfg(feature = "nautilus")]
fn run_live(
    opts: ServeOptions,
    f: LiveFlags,
    store: Arc<dyn dolphin_store::SystemMemory>,
    stop: Arc<AtomicBool>,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    crate::serve_live::run(
        opts,
        crate::serve_live::LiveArgs {
            assets: f.assets,
            bar_seconds: f.bar_seconds,
            exchange_url: f.exchange_url,
            end_ms: f.end_ms,
            run_for: f.run_for,
        },
        store,
        stop,
        rt,
    )
}

#[cfg(not(feature = "nautilus"))]
fn run_live(
    _opts: ServeOptions,
    _f: LiveFlags,
    _store: Arc<dyn dolphin_store::SystemMemory>,
    _stop: Arc<AtomicBool>,
    _rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "serve --live runs the NautilusTrader paper node: rebuild with \
         `cargo run --release -p dolphin --features nautilus -- serve --live ...`"
    )
}

/// `N running; down: a, b` (or `none`) for the printed table.
pub(crate) fn services_line(services: &[dolphin_services::supervisor::ServiceStats]) -> String {
    let down: Vec<&str> = services
        .iter()
        .filter(|s| s.state == "down" || s.state == "failed")
        .map(|s| s.name.as_str())
        .collect();
    format!(
        "{} running; down: {}",
        services.len(),
        if down.is_empty() {
            "none".into()
        } else {
            down.join(", ")
        }
    )
}
