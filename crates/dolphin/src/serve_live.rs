//! `dolphin serve --live` (issue 11 item 5; docs/SERVICES.md, "Live mode"): the services of
//! `dolphin serve` around the NautilusTrader paper node. The node runs on its own thread with
//! the services' governor (`dolphin_services::live`) and the very store the services write;
//! the services run on this process's runtime on the node's event time. At the end: the
//! node's `trades.jsonl`, `days.jsonl`, `summary.json` and `paper.json` beside the services'
//! traces, heartbeats, `services.json` and `run.json`.

use crate::table::render;
use anyhow::Context;
use dolphin_nautilus::{
    ActorLog, PaperOptions, SharedGovernor, build_paper_node, run_paper_node_until, shared_store,
};
use dolphin_runtime::SystemConfig;
use dolphin_services::ServeOptions;
use dolphin_store::SystemMemory;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// What the node needs besides the serve options.
pub struct LiveArgs {
    pub assets: Vec<String>,
    pub bar_seconds: Option<u32>,
    pub exchange_url: Option<String>,
    pub end_ms: Option<i64>,
    pub run_for: Option<std::time::Duration>,
}

pub fn run(
    opts: ServeOptions,
    live: LiveArgs,
    store: Arc<dyn SystemMemory>,
    stop: Arc<AtomicBool>,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let mut system: SystemConfig = opts.config.clone();
    if let Some(b) = live.bar_seconds {
        anyhow::ensure!(
            b > 0 && 86_400 % b == 0,
            "--bar-seconds {b}: must divide a day (1, 5, 60, 300, ...)"
        );
        system.bar_seconds = b;
    }
    let assets = if live.assets.is_empty() {
        crate::cmd_paper::DEFAULT_PANEL
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        live.assets.clone()
    };
    // With the OB stream service running, the engine's OB layer reads the shard maps it
    // writes (B §16.2: the store-backed OB provider).
    let ob = match &opts.ob_task {
        Some(_) => Some(dolphin_live::StoreObProvider::connect(
            store.clone(),
            dolphin_orderbook::provider::DEFAULT_STALENESS_MS,
            60 * 60 * 1000,
            dolphin_orderbook::MarketMultiplier::default(),
        )?),
        None => None,
    };
    let link = dolphin_services::live::live_link(&opts, store.clone()).context("serve --live")?;
    let (governor, services) = link.split();
    let governor: SharedGovernor = Arc::new(Mutex::new(Box::new(governor)));
    let out = opts.out.clone();
    let node_stop = stop.clone();
    let node_store = store.clone();
    let initial_capital = system.engine.initial_capital;
    // The node is built on its own thread (a LiveNode stays on the thread that made it).
    let node = std::thread::Builder::new()
        .name("paper-node".into())
        .spawn(move || -> anyhow::Result<ActorLog> {
            let mut p = PaperOptions::new(system, assets);
            p.store = shared_store(node_store);
            p.exchange_url = live.exchange_url;
            p.end_ms = live.end_ms;
            p.run_for = live.run_for;
            p.governor = Some(governor);
            if let Some(ob) = ob {
                p.providers = p.providers.clone().with_ob(ob);
            }
            if p.bar_seconds() != 60 {
                p.record_bars = Some(out.join("bars"));
            }
            let mut paper = build_paper_node(&p)?;
            run_paper_node_until(&mut paper, p.run_for, node_stop)?;
            let log = paper.log.borrow().clone();
            Ok(log)
        })?;
    let services_result = rt.block_on(dolphin_services::live::serve_live_services(
        &opts,
        services,
        stop.clone(),
    ));
    let log = node
        .join()
        .map_err(|_| anyhow::anyhow!("the paper node's thread panicked"))?
        .context("paper node")?;
    let report = services_result.context("serve --live: services")?;
    let outcome = crate::paper_out::PaperOutcome::of(&log, initial_capital);
    outcome.write(&opts.out, &log)?;
    print!("{}", outcome.table());
    let t = &report.trader;
    let rows = [
        ("store", opts.store.describe()),
        (
            "OB provider",
            if opts.ob_task.is_some() {
                "store shard maps (the OB stream service)".into()
            } else {
                "none".into()
            },
        ),
        (
            "event time",
            report.last_event_ms.map_or("no bar arrived".into(), |t| {
                format!("last bar {}", dolphin_services::schedule::iso(t))
            }),
        ),
        (
            "services",
            crate::cmd_serve::services_line(&report.services),
        ),
        (
            "ACB / MC kept previous",
            format!("{} / {}", t.acb_kept_previous, t.mc_kept_previous),
        ),
        ("stale-state days", t.stale_state_events.to_string()),
        ("store errors", t.store_errors.to_string()),
        ("state writes", t.state_writes.to_string()),
        ("elapsed", format!("{:.1} s", report.elapsed.as_secs_f64())),
        ("outputs", opts.out.display().to_string()),
    ];
    print!("{}", render("DOLPHIN serve --live", &rows));
    Ok(())
}
