//! The services' half of `dolphin serve --live` (see the module above): [`live_link`] builds
//! the governor and the channel, [`serve_live_services`] runs the supervisor on the actor's
//! event time until the actor finishes.

use super::{LiveGovernor, LiveMsg};
use crate::decisions::TraderDecisions;
use crate::error::ServiceError;
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use crate::serve::{ServeOptions, add_services, check_champion, write_json};
use crate::service::Ctx;
use crate::supervisor::{ServiceStats, Supervisor};
use crate::trader::{TRADER, TraderStats};
use crate::trader_core::{AcbCell, McCell};
use dolphin_store::SystemMemory;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// What a live serve run did (the trade log comes from the node).
#[derive(Debug)]
pub struct LiveReport {
    pub trader: TraderStats,
    pub services: Vec<ServiceStats>,
    pub elapsed: Duration,
    /// Event time of the last bar the services saw (`None` = the node delivered none).
    pub last_event_ms: Option<EventMs>,
}

/// The governor for the node and the receiving end the services run on.
pub struct LiveLink {
    pub governor: LiveGovernor,
    rx: UnboundedReceiver<LiveMsg>,
    stats: Arc<Mutex<TraderStats>>,
    ctx: Ctx,
}

/// Builds the run directory's files, the trader's decisions and the channel: hand
/// `link.governor` to the paper node (`PaperOptions::governor`), then run
/// [`serve_live_services`] with the link.
pub fn live_link(
    opts: &ServeOptions,
    store: Arc<dyn SystemMemory>,
) -> Result<LiveLink, ServiceError> {
    check_champion(&opts.config)?;
    opts.services.validate()?;
    let files = RunFiles::create_with_prefix(&opts.out, &[])?;
    let cfg = Arc::new(opts.services.clone());
    let mc_enabled = cfg.mc.enabled && (opts.mc.is_some() || cfg.mc_refresh_days > 0);
    let ctx = Ctx {
        store: store.clone(),
        cfg: cfg.clone(),
        engine: Arc::new(opts.config.engine.clone()),
        files: files.clone(),
        pid: std::process::id(),
    };
    let (tx, rx) = unbounded_channel();
    let stats = Arc::new(Mutex::new(TraderStats::default()));
    let param_hash = dolphin_engine::champion::champion_hash(&opts.config.engine);
    let governor = LiveGovernor {
        tx,
        decisions: TraderDecisions::new(store.clone(), files.clone(), &cfg, mc_enabled)?,
        acb: AcbCell::default(),
        mc: mc_enabled.then(McCell::default),
        store,
        files,
        events: Vec::new(),
        stats: stats.clone(),
        reply_timeout: Duration::from_millis(cfg.trader.retry.timeout_ms.max(1_000)),
        run_id: format!("live:{}:{}", opts.config.name, &param_hash[..16]),
        param_hash,
        start_capital: None,
        day_start_capital: opts.config.engine.initial_capital,
        last_persist_ms: EventMs::MIN / 2,
        last_ts: 0,
        last_date: None,
        last_day_end: None,
        finished: false,
        scan: Default::default(),
    };
    Ok(LiveLink {
        governor,
        rx,
        stats,
        ctx,
    })
}

/// Runs the services on the actor's event time until the actor finishes (or its governor is
/// dropped). `stop` is the shutdown request; the caller stops the node with it, the actor then
/// ends and reports `Finished`.
pub async fn serve_live_services(
    opts: &ServeOptions,
    link: LiveLinkServices,
    stop: Arc<AtomicBool>,
) -> Result<LiveReport, ServiceError> {
    let started = Instant::now();
    let LiveLinkServices { mut rx, stats, ctx } = link;
    let cfg = ctx.cfg.clone();
    let mut sup = Supervisor::new(ctx.clone())?;
    let mc_enabled = add_services(&mut sup, opts, &cfg, Vec::new());
    let mut started_at: Option<EventMs> = None;
    let mut last: Option<EventMs> = None;
    let mut failure: Option<ServiceError> = None;
    let mut finished_at: Option<EventMs> = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            LiveMsg::Tick {
                t,
                force,
                events,
                reply,
            } => {
                let res = async {
                    if started_at.is_none() {
                        sup.start(t).await?;
                        started_at = Some(t);
                        write_json(&opts.out.join("services.json"), &sup.stats())?;
                    }
                    for ev in events {
                        sup.notify(ev);
                    }
                    if force || sup.due(t) {
                        sup.tick(t).await?;
                        return Ok(sup.take_events());
                    }
                    Ok::<_, ServiceError>(Vec::new())
                }
                .await;
                last = Some(last.map_or(t, |l: EventMs| l.max(t)));
                if let Err(e) = &res {
                    sup.member_error(TRADER, false, &e.to_string());
                }
                let _ = reply.send(res.map_err(|e| e.to_string()));
            }
            LiveMsg::Finished { t, events } => {
                for ev in events {
                    sup.notify(ev);
                }
                finished_at = (t > 0).then_some(t);
                break;
            }
        }
    }
    let t_end = finished_at.or(last).unwrap_or(0);
    let stopped = stop.load(std::sync::atomic::Ordering::SeqCst);
    sup.set_member_state(TRADER, "stopped");
    if started_at.is_some()
        && let Err(e) = sup.beat_all(t_end, "stopped")
    {
        failure = Some(e);
    }
    ctx.files.flush()?;
    let services = sup.stats();
    write_json(&opts.out.join("services.json"), &services)?;
    let trader = stats.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let run_info = serde_json::json!({
        "mode": "serve-live",
        "config": opts.config.name,
        "champion": opts.config.champion,
        "champion_hash": dolphin_engine::champion::champion_hash(&opts.config.engine),
        "store": opts.store.describe(),
        "first_event": started_at.map(crate::schedule::iso),
        "last_event": last.map(crate::schedule::iso),
        "stopped_by_signal": stopped,
        "layers": {"acb": true, "survival_stack": cfg.watchdog.enabled, "mc_forewarner": mc_enabled, "ob": opts.ob_task.is_some()},
        "trader": trader,
    });
    write_json(&opts.out.join("run.json"), &run_info)?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(LiveReport {
        trader,
        services,
        elapsed: started.elapsed(),
        last_event_ms: last,
    })
}

/// The services' half of a [`LiveLink`] (the governor goes to the node's thread).
pub struct LiveLinkServices {
    rx: UnboundedReceiver<LiveMsg>,
    stats: Arc<Mutex<TraderStats>>,
    ctx: Ctx,
}

impl LiveLink {
    /// Splits the link: the governor for the node, the rest for [`serve_live_services`].
    pub fn split(self) -> (LiveGovernor, LiveLinkServices) {
        (
            self.governor,
            LiveLinkServices {
                rx: self.rx,
                stats: self.stats,
                ctx: self.ctx,
            },
        )
    }
}
