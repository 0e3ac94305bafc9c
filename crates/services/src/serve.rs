//! `dolphin serve`: connect the store, check the champion, start the services in the order of
//! B §16.6 and run the trader; or, with `dry_run`, check everything and print the plan
//! (S §15.5). Writes the serve run directory of the TEAM contract.

use crate::acb_processor::{AcbInputs, AcbProcessor};
use crate::config::{RetryPolicy, ServicesConfig};
use crate::error::ServiceError;
use crate::mc_flow::McFlow;
use crate::persistence::load_state;
use crate::run_files::RunFiles;
use crate::service::{Ctx, Service};
use crate::store_probe::StoreProbe;
use crate::supervisor::{ServiceStats, Supervisor};
use crate::trader::{ReplayTrader, TRADER, TraderStats};
use crate::trader_core::TraderCore;
use crate::watchdog::{TraceLine, Watchdog};
use dolphin_core::UtcDate;
use dolphin_runtime::{BacktestResult, SystemConfig};
use dolphin_store::{EmbeddedMemory, RedisConfig, RedisMemory, SystemMemory};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Which store the services share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Embedded,
    /// `redis://HOST:PORT`, or several comma-separated for a cluster.
    Redis(String),
}

impl FromStr for StoreSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "embedded" {
            Ok(Self::Embedded)
        } else if s.starts_with("redis://") || s.starts_with("rediss://") {
            Ok(Self::Redis(s.to_string()))
        } else {
            Err(format!(
                "`{s}`: expected `embedded` or redis://HOST:PORT[,…]"
            ))
        }
    }
}

impl StoreSpec {
    /// For plans and `run.json` (passwords redacted).
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded => "embedded".into(),
            Self::Redis(u) => u
                .split(',')
                .map(dolphin_store::redis_config::redact_url)
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// What the trader runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Day files on the event-time clock; `speed` event seconds per wall second, 0 = as fast
    /// as possible.
    Replay {
        dir: PathBuf,
        speed: f64,
        from: Option<UtcDate>,
        to: Option<UtcDate>,
    },
    /// The paper node on live data (see docs/SERVICES.md for what is wired).
    Live,
}

/// Everything `dolphin serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub config: SystemConfig,
    pub services: ServicesConfig,
    pub store: StoreSpec,
    pub mode: Mode,
    pub indicators: Option<PathBuf>,
    pub funding: Option<PathBuf>,
    pub mc: Option<PathBuf>,
    pub out: PathBuf,
    /// The OB stream service for the `ob_stream` slot (`--exchange-url`); `None` = off.
    pub ob_task: Option<crate::ObTask>,
}

/// One row of the plan: a service in start order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanRow {
    pub service: String,
    pub enabled: bool,
    pub cadence: String,
    pub retry: RetryPolicy,
    pub inputs: Vec<String>,
}

/// What a run did.
#[derive(Debug)]
pub struct ServeReport {
    pub result: BacktestResult,
    pub trader: TraderStats,
    pub services: Vec<ServiceStats>,
    pub elapsed: Duration,
    pub files: Vec<(UtcDate, PathBuf)>,
    pub store: String,
}

/// Connects the store with the store probe's retry policy (S §11: 3 retries) and probes it.
/// `cfg.store_retry_budget_ms` (when not 0) bounds each Redis call's own retries.
pub fn connect_store(
    spec: &StoreSpec,
    cfg: &ServicesConfig,
) -> Result<Arc<dyn SystemMemory>, ServiceError> {
    let policy = &cfg.store_probe.retry;
    let mut backoff = dolphin_store::Backoff::new(
        Duration::from_millis(policy.backoff_ms),
        Duration::from_millis(policy.backoff_max_ms),
    );
    let mut attempt = 0;
    loop {
        let res: Result<Arc<dyn SystemMemory>, dolphin_store::StoreError> = match spec {
            StoreSpec::Embedded => Ok(Arc::new(EmbeddedMemory::new())),
            StoreSpec::Redis(url) => RedisConfig::from_url_list(url)
                .map(|mut c| {
                    if cfg.store_retry_budget_ms > 0 {
                        c.retry_budget = Duration::from_millis(cfg.store_retry_budget_ms);
                    }
                    c
                })
                .and_then(RedisMemory::connect)
                .map(|m| Arc::new(m) as Arc<dyn SystemMemory>),
        };
        match res.and_then(|m| m.get("DOLPHIN_HEARTBEAT", "store_probe").map(|_| m)) {
            Ok(m) => return Ok(m),
            Err(e) if attempt < policy.retries => {
                attempt += 1;
                tracing::warn!(attempt, error = %e, "store probe failed, retrying");
                std::thread::sleep(backoff.next_delay());
            }
            Err(e) => {
                return Err(ServiceError::service(
                    StoreProbe::NAME,
                    format!(
                        "store {} unreachable after {} attempt(s): {e}",
                        spec.describe(),
                        attempt + 1
                    ),
                ));
            }
        }
    }
}

/// The replay's day files: every date from the first to the last must be there (a gap is a
/// missing day file, named).
pub fn replay_files(
    dir: &Path,
    from: Option<UtcDate>,
    to: Option<UtcDate>,
) -> Result<Vec<(UtcDate, PathBuf)>, ServiceError> {
    let files = dolphin_runtime::day_files(dir, from, to)
        .map_err(|e| ServiceError::DryRun(format!("replay data: {e}")))?;
    for w in files.windows(2) {
        if w[1].0 != w[0].0.succ() {
            return Err(ServiceError::DryRun(format!(
                "missing day file {}",
                dir.join(dolphin_data::day_file::day_file_name(w[0].0.succ()))
                    .display()
            )));
        }
    }
    Ok(files)
}

/// Checks the champion hash (S §17: drift aborts before anything starts).
pub fn check_champion(cfg: &SystemConfig) -> Result<(), ServiceError> {
    if cfg.champion {
        dolphin_engine::champion::check_champion(&cfg.engine).map_err(|e| {
            ServiceError::DryRun(format!("config `{}`: champion drift: {e}", cfg.name))
        })?;
    }
    Ok(())
}

fn run_id(dir: &Path, files: &[(UtcDate, PathBuf)], cfg: &SystemConfig) -> String {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    format!(
        "replay:{}:{}..{}:{}",
        canon.display(),
        files.first().map(|f| f.0.to_string()).unwrap_or_default(),
        files.last().map(|f| f.0.to_string()).unwrap_or_default(),
        &dolphin_engine::champion::champion_hash(&cfg.engine)[..16]
    )
}

/// Runs the system until the replay ends or `stop` is set.
pub async fn serve(opts: ServeOptions, stop: Arc<AtomicBool>) -> Result<ServeReport, ServiceError> {
    check_champion(&opts.config)?;
    opts.services.validate()?;
    let store = connect_store(&opts.store, &opts.services)?;
    serve_with_store(opts, store, stop).await
}

/// [`serve`] on a store the caller has already connected with [`connect_store`] — so that
/// another part of the same process (`dolphin serve --api`) can read the very store the
/// services write, an embedded one included.
pub async fn serve_with_store(
    opts: ServeOptions,
    store: Arc<dyn SystemMemory>,
    stop: Arc<AtomicBool>,
) -> Result<ServeReport, ServiceError> {
    let started = Instant::now();
    check_champion(&opts.config)?;
    opts.services.validate()?;
    let Mode::Replay {
        dir,
        speed,
        from,
        to,
    } = &opts.mode
    else {
        return Err(ServiceError::service(
            TRADER,
            "--live: the paper node under the supervisor is not wired yet (see docs/SERVICES.md); use `dolphin paper` for the node alone",
        ));
    };
    let files = replay_files(dir, *from, *to)?;
    let run_id = run_id(dir, &files, &opts.config);
    let resume = load_state(store.as_ref())?.filter(|s| s.run_id == run_id && !s.finished);
    // A resumed run re-applies the previous process's decisions up to the stored state
    // (trader/prior.rs): read them before the run directory's files are opened again.
    let (prior, prefix) = match &resume {
        Some(s) => {
            let (p, prefix) = crate::trader::PriorDecisions::load(&opts.out, s.ts_ms);
            tracing::info!(at = %crate::schedule::iso(s.ts_ms), capital = s.capital, decisions = p.len(), "resuming a run of the same replay");
            (Some(p), prefix)
        }
        None => (None, Vec::new()),
    };
    let run_files = RunFiles::create_with_prefix(&opts.out, &prefix)?;
    let cfg = Arc::new(opts.services.clone());
    let ctx = Ctx {
        store: store.clone(),
        cfg: cfg.clone(),
        engine: Arc::new(opts.config.engine.clone()),
        files: run_files.clone(),
        pid: std::process::id(),
    };

    let mut sup = Supervisor::new(ctx.clone())?;
    let mc_enabled = add_services(&mut sup, &opts, &cfg, files.clone());

    let t0 = files[0].0.start_ms();
    let core = TraderCore::new(&opts.config.engine, true, mc_enabled, None, |_| {})?;
    // The store holds this run's state from here on, not a previous process's. A resumed run
    // keeps the stored state until its re-run passes it (a kill during the re-run must find
    // the same resume point again).
    if resume.is_none() {
        crate::persistence::save_state(
            store.as_ref(),
            &crate::persistence::TraderState::of(
                &core.engine,
                files[0].0,
                core.engine.capital(),
                t0,
                &run_id,
                core.start_capital(),
            ),
        )?;
    }
    sup.start(t0).await?;
    write_json(&opts.out.join("services.json"), &sup.stats())?;

    let mut trader = ReplayTrader::new(
        core,
        &sup,
        mc_enabled,
        run_id.clone(),
        resume,
        prior,
        *speed,
    )?;
    let outcome = trader.run(&mut sup, &files, stop).await;
    let last_date = trader
        .core
        .engine
        .trade_history()
        .last()
        .map(|t| t.date)
        .unwrap_or(files[0].0);
    let t_end = trader
        .core
        .days
        .last()
        .map_or(t0, |d| d.date.succ().start_ms() - 1);
    sup.set_member_state(TRADER, if outcome.is_ok() { "stopped" } else { "failed" });
    if let Err(e) = &outcome {
        sup.member_error(TRADER, false, &e.to_string());
    }
    sup.beat_all(t_end, "stopped")?;
    run_files.flush()?;
    let result = trader.core.result();
    dolphin_runtime::write_outputs(&opts.out, &result, false)?;
    let services = sup.stats();
    write_json(&opts.out.join("services.json"), &services)?;
    let run_info = serde_json::json!({
        "mode": "serve-replay",
        "config": opts.config.name,
        "champion": opts.config.champion,
        "champion_hash": dolphin_engine::champion::champion_hash(&opts.config.engine),
        "store": opts.store.describe(),
        "data": dir.display().to_string(),
        "files": files.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>(),
        "speed": speed,
        "run_id": run_id,
        "layers": {"acb": true, "survival_stack": cfg.watchdog.enabled, "mc_forewarner": mc_enabled, "ob": opts.ob_task.is_some()},
        "initial_capital": trader.core.start_capital(),
        "trader": trader.stats,
        "error": outcome.as_ref().err().map(|e| e.to_string()),
    });
    write_json(&opts.out.join("run.json"), &run_info)?;
    outcome?;
    trader.finish(t_end, last_date)?;
    Ok(ServeReport {
        result,
        trader: trader.stats.clone(),
        services,
        elapsed: started.elapsed(),
        files,
        store: opts.store.describe(),
    })
}

/// Adds the services in the order of B §16.6 (store probe → factors → ACB → OB stream →
/// watchdog → MC → trader last) with their factories; returns whether the MC flow is on.
/// `days` are the replay's day files (the ACB processor rebuilds a lost w750 from them; a live
/// run has none).
pub(crate) fn add_services(
    sup: &mut Supervisor,
    opts: &ServeOptions,
    cfg: &Arc<ServicesConfig>,
    days: Vec<(UtcDate, PathBuf)>,
) -> bool {
    let mc_enabled = cfg.mc.enabled && (opts.mc.is_some() || cfg.mc_refresh_days > 0);
    sup.add(
        StoreProbe::NAME,
        cfg.store_probe.clone(),
        Some(Box::new(|ctx, t| {
            Ok(Box::new(StoreProbe::start(ctx, t)?) as Box<dyn Service>)
        })),
    );
    let urls = cfg.factor_urls.clone();
    sup.add(
        crate::factors_http::FactorPoller::NAME,
        cfg.factors.clone(),
        Some(Box::new(move |ctx, t| {
            Ok(
                Box::new(crate::factors_http::FactorPoller::start(ctx, t, &urls)?)
                    as Box<dyn Service>,
            )
        })),
    );
    let inputs = AcbInputs {
        indicators: opts.indicators.clone(),
        funding: opts.funding.clone(),
        days,
    };
    sup.add(
        AcbProcessor::NAME,
        cfg.acb.clone(),
        Some(Box::new(move |ctx, t| {
            Ok(Box::new(AcbProcessor::start(ctx, t, &inputs)?) as Box<dyn Service>)
        })),
    );
    let mut ob = cfg.ob_stream.clone();
    ob.enabled = opts.ob_task.is_some();
    let ob_live = opts.ob_task.is_some();
    match opts.ob_task.clone() {
        Some(task) => sup.add(
            crate::ob_slot::ObStreamSlot::NAME,
            ob,
            Some(Box::new(move |ctx, t| {
                Ok(
                    Box::new(crate::ob_slot::ObStreamSlot::start(ctx, t, &task)?)
                        as Box<dyn Service>,
                )
            })),
        ),
        None => sup.add(crate::ob_slot::ObStreamSlot::NAME, ob, None),
    }
    let mut watched: Vec<&'static str> = vec![StoreProbe::NAME, AcbProcessor::NAME, TRADER];
    if mc_enabled {
        watched.push(McFlow::NAME);
    }
    if cfg.factors.enabled {
        watched.push(crate::factors_http::FactorPoller::NAME);
    }
    let trace_path = opts.out.join("posture_trace.jsonl");
    sup.add(
        Watchdog::NAME,
        cfg.watchdog.clone(),
        Some(Box::new(move |ctx, t| {
            // A restarted watchdog continues the run's own trace.
            ctx.files.flush()?;
            let previous: Vec<TraceLine> = if trace_path.exists() {
                crate::traces::read_jsonl(&trace_path)?
            } else {
                Vec::new()
            };
            Ok(Box::new(Watchdog::start(
                ctx,
                t,
                watched.clone(),
                mc_enabled,
                ob_live,
                &previous,
            )?) as Box<dyn Service>)
        })),
    );
    let mut mc_spec = cfg.mc.clone();
    mc_spec.enabled = mc_enabled;
    let model = opts.mc.clone();
    sup.add(
        McFlow::NAME,
        mc_spec,
        Some(Box::new(move |ctx, t| {
            Ok(Box::new(McFlow::start(ctx, t, model.as_ref())?) as Box<dyn Service>)
        })),
    );
    sup.add(TRADER, cfg.trader.clone(), None);
    mc_enabled
}

pub(crate) fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), ServiceError> {
    let mut bytes = serde_json::to_vec_pretty(v).expect("serializable");
    bytes.push(b'\n');
    dolphin_runtime::report::write_atomic(path, &bytes)?;
    Ok(())
}
