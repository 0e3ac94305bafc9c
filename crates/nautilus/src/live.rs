//! The paper-trading live node (issue 7 item 4; S §12.2 "paper on live data"): a Nautilus
//! `LiveNode` with the Binance USD-M futures **data** client (klines of the panel, or its trades
//! for bars shorter than a minute, SPEC D1), the Nautilus
//! **sandbox** execution client on venue `BINANCE` (simulated fills on live prices), the
//! [`ScannerActor`] (klines → `latest_eigen_scan` in the store) and the [`DolphinActor`] in live
//! mode (scan → engine → market orders to the sandbox).
//!
//! [`build_paper_node`] builds and validates the node without connecting; `dolphin paper
//! --dry-run` stops there. [`run_paper_node`] connects and runs until Ctrl-C.

use crate::actor::DolphinActor;
use crate::actor_log::ActorLogHandle;
use crate::config::{ActorMode, DolphinActorConfig, LiveFeed, StoreConnector, embedded_store};
use crate::day_source::DayFrames;
use crate::instruments::{VENUE, bar_type};
use crate::scan_inbox::ScanInbox;
use crate::scan_publisher::ScanPublisher;
use crate::scanner_actor::ScannerActor;
use dolphin_engine::champion::champion_hash;
use dolphin_runtime::{Providers, SystemConfig};
use dolphin_scanner::ScannerConfig;
use nautilus_binance::common::enums::{BinanceEnvironment, BinanceProductType};
use nautilus_binance::config::BinanceDataClientConfig;
use nautilus_binance::factories::BinanceDataClientFactory;
use nautilus_common::enums::Environment;
use nautilus_common::logging::logger::LoggerConfig;
use nautilus_live::node::LiveNode;
use nautilus_model::enums::{AccountType, BookType, OmsType};
use nautilus_model::identifiers::{AccountId, TraderId, Venue};
use nautilus_model::types::{Currency, Money};
use nautilus_sandbox::config::SandboxExecutionClientConfig;
use nautilus_sandbox::factory::SandboxExecutionClientFactory;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which Binance endpoints the data client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperEnvironment {
    /// Production market data (`fstream.binance.com`); orders stay in the sandbox.
    Mainnet,
    /// Binance futures testnet.
    Testnet,
}

/// What the paper node is built from.
#[derive(Clone)]
pub struct PaperOptions {
    /// Engine parameters (blue or green).
    pub system: SystemConfig,
    /// The panel: Binance USD-M symbols (`BTCUSDT`, ...), the scanner's and engine's column order.
    pub assets: Vec<String>,
    pub environment: PaperEnvironment,
    /// Nautilus trader id, `NAME-TAG`.
    pub trader_id: String,
    /// The store both actors use (embedded by default; Redis for a multi-process setup).
    pub store: StoreConnector,
    pub scanner: ScannerConfig,
    /// Nautilus's own log level on stdout.
    pub log_level: log::LevelFilter,
    /// Market data from this exchange instead of Binance: the HTTP base URL of a local
    /// Binance USD-M exchange (`dolphin exchange`), e.g. `http://127.0.0.1:8811`; the
    /// websocket base is the same host with `ws://` and `/ws` (docs/LIVE.md).
    pub exchange_url: Option<String>,
    /// Stop the node after this long (wall time); `None` runs until Ctrl-C.
    pub run_for: Option<std::time::Duration>,
    /// Event-time end of the data, ms since the epoch: the scan of the last bar before it ends
    /// the run as a replay's last row does (SPEC §6), then the node stops. `None` = no end.
    pub end_ms: Option<i64>,
    /// The optional layers' providers (store-backed ones from the services), installed into
    /// the DolphinActor's engine at every start; a posture source here replaces the store's.
    pub providers: Providers,
    /// Write the node's own trade bars (`bar_seconds` ≠ 60) as kline CSVs here.
    pub record_bars: Option<std::path::PathBuf>,
    /// The services' governor (`dolphin serve --live`); its providers (ACB and MC cells) join
    /// `providers`.
    pub governor: Option<crate::config::SharedGovernor>,
}

impl PaperOptions {
    /// Defaults: blue config, mainnet data, trader `DOLPHIN-001`, embedded store, the scanner's
    /// default windows.
    pub fn new(system: SystemConfig, assets: Vec<String>) -> Self {
        Self {
            system,
            assets,
            environment: PaperEnvironment::Mainnet,
            trader_id: "DOLPHIN-001".into(),
            store: embedded_store(),
            scanner: ScannerConfig::default(),
            log_level: log::LevelFilter::Info,
            exchange_url: None,
            run_for: None,
            end_ms: None,
            providers: Providers::none(),
            record_bars: None,
            governor: None,
        }
    }

    /// The bar length the node runs on (SPEC D1 `bar_seconds`): 60 = the exchange's 1-minute
    /// klines; anything else = bars built in the node from the trade stream.
    pub fn bar_seconds(&self) -> u32 {
        self.system.bar_seconds
    }
}

/// `(http, ws)` base URLs of a local exchange given its HTTP URL.
pub fn exchange_urls(http: &str) -> anyhow::Result<(String, String)> {
    let http = http.trim_end_matches('/');
    let ws = if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}/ws")
    } else if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}/ws")
    } else {
        anyhow::bail!("exchange url `{http}` must start with http:// or https://");
    };
    Ok((http.to_string(), ws))
}

/// What was built, for the dry-run report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperReport {
    pub trader_id: String,
    pub environment: String,
    pub data_clients: Vec<String>,
    pub exec_clients: Vec<String>,
    pub actors: Vec<String>,
    pub strategies: Vec<String>,
    /// One kline bar type per panel asset (with 1-minute bars), or the trade streams' bar
    /// length (`5-SECOND bars from trades`).
    pub bar_types: Vec<String>,
    /// The bar type that drives the DolphinActor (the volatility reference asset).
    pub driver: String,
    pub champion_hash: String,
    pub starting_balance: String,
}

/// A built, not yet started, paper node.
pub struct PaperNode {
    pub node: LiveNode,
    pub report: PaperReport,
    /// What the DolphinActor records (day results, trades, orders, latencies).
    pub log: ActorLogHandle,
    /// Set by the actor when the data ended (`PaperOptions::end_ms`).
    pub done: Arc<AtomicBool>,
    /// Set by the actor when the trader started (every client connected).
    pub started: Arc<AtomicBool>,
}

/// Builds the paper node (no network access happens here) and checks that every part is
/// registered: one data client, one execution client, the scanner actor and the strategy.
pub fn build_paper_node(opts: &PaperOptions) -> anyhow::Result<PaperNode> {
    opts.system
        .engine
        .validate()
        .map_err(|m| anyhow::anyhow!("engine config: {m}"))?;
    anyhow::ensure!(!opts.assets.is_empty(), "paper: the asset panel is empty");
    for a in &opts.assets {
        anyhow::ensure!(
            !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            "paper: `{a}` is not a Binance USD-M symbol (e.g. BTCUSDT)"
        );
    }
    let driver_asset = if opts
        .assets
        .contains(&opts.system.engine.vol_reference_asset)
    {
        opts.system.engine.vol_reference_asset.clone()
    } else {
        opts.assets[0].clone()
    };
    let trader_id = TraderId::new(opts.trader_id.as_str());
    let data_config = BinanceDataClientConfig {
        product_types: vec![BinanceProductType::UsdM],
        environment: match opts.environment {
            PaperEnvironment::Mainnet => BinanceEnvironment::Live,
            PaperEnvironment::Testnet => BinanceEnvironment::Testnet,
        },
        api_key: None,
        api_secret: None,
        ..Default::default()
    };
    let mut data_config = data_config;
    if let Some(url) = &opts.exchange_url {
        let (http, ws) = exchange_urls(url)?;
        data_config.base_url_http = Some(http);
        data_config.base_url_ws = Some(ws);
    }
    let balance = Money::new(opts.system.engine.initial_capital, Currency::USDT());
    let sandbox_config = SandboxExecutionClientConfig::builder()
        .trader_id(trader_id)
        .account_id(AccountId::from(format!("{VENUE}-001").as_str()))
        .venue(Venue::from(VENUE))
        .starting_balances(vec![balance])
        .oms_type(OmsType::Netting)
        .account_type(AccountType::Margin)
        .book_type(BookType::L1_MBP)
        .build();
    let mut node = LiveNode::builder(trader_id, Environment::Live)?
        .with_name("DOLPHIN-PAPER")
        .with_logging(LoggerConfig {
            stdout_level: opts.log_level,
            ..Default::default()
        })
        .add_data_client(
            None,
            Box::new(BinanceDataClientFactory::new()),
            Box::new(data_config),
        )?
        .add_simulated_exec_client(
            None,
            Box::new(SandboxExecutionClientFactory::new()),
            Box::new(sandbox_config),
        )?
        .build()?;

    let bar_types: Vec<_> = opts.assets.iter().map(|a| bar_type(a)).collect();
    let bar_seconds = opts.bar_seconds();
    let publisher = ScanPublisher::new(
        opts.assets.clone(),
        opts.scanner.clone(),
        i64::from(bar_seconds) * 1000,
    )
    .map_err(|e| anyhow::anyhow!("scanner config: {e}"))?;
    let inbox = ScanInbox::new();
    let mut scanner = ScannerActor::new(publisher, bar_types.clone(), opts.store.clone())
        .with_inbox(inbox.clone());
    if opts.governor.is_some() {
        scanner = scanner.without_store_scans();
    }
    if bar_seconds != 60 {
        scanner = scanner.with_trade_bars(bar_seconds, opts.record_bars.as_deref(), opts.end_ms);
    }
    node.add_actor(scanner)?;
    let done = Arc::new(AtomicBool::new(false));

    let mut actor_cfg = DolphinActorConfig::new(opts.system.engine.clone());
    actor_cfg.store = opts.store.clone();
    actor_cfg.mode = ActorMode::Live {
        assets: opts.assets.clone(),
    };
    actor_cfg.bar_type = Some(bar_type(&driver_asset));
    actor_cfg.route_venue = Some(VENUE.to_string());
    actor_cfg.restore_capital = true;
    actor_cfg.providers = opts.providers.clone();
    if let Some(g) = &opts.governor {
        let from_services = g
            .lock()
            .map_err(|_| anyhow::anyhow!("paper: governor lock poisoned"))?
            .providers();
        let mut p = opts.providers.clone();
        if let Some(acb) = from_services.acb() {
            p = p.with_shared_acb(acb.clone());
        }
        if let Some(mc) = from_services.mc() {
            p = p.with_shared_mc(mc.clone());
        }
        if let Some(ob) = from_services.ob() {
            p = p.with_shared_ob(ob.clone());
        }
        actor_cfg.providers = p;
        actor_cfg.governor = Some(g.clone());
    }
    let started = Arc::new(AtomicBool::new(false));
    actor_cfg.live_feed = Some(LiveFeed {
        inbox,
        end_ms: opts.end_ms,
        done: done.clone(),
        started: started.clone(),
    });
    let actor = DolphinActor::new(actor_cfg, Box::new(DayFrames::new(std::iter::empty())));
    let log = actor.log();
    node.add_strategy(actor)?;

    let kernel = node.kernel();
    let data_clients: Vec<String> = kernel
        .data_engine()
        .registered_clients()
        .iter()
        .map(ToString::to_string)
        .collect();
    let exec_clients: Vec<String> = kernel
        .exec_engine
        .borrow()
        .client_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let trader = kernel.trader().borrow();
    let actors: Vec<String> = trader.actor_ids().iter().map(ToString::to_string).collect();
    let strategies: Vec<String> = trader
        .strategy_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    drop(trader);
    anyhow::ensure!(
        data_clients.len() == 1,
        "paper: expected one data client, got {data_clients:?}"
    );
    anyhow::ensure!(
        exec_clients.len() == 1,
        "paper: expected one execution client, got {exec_clients:?}"
    );
    anyhow::ensure!(
        strategies.iter().any(|s| s == "DOLPHIN-001"),
        "paper: DolphinActor not registered ({strategies:?})"
    );
    anyhow::ensure!(
        actors.iter().any(|a| a == "DOLPHIN-SCANNER-001"),
        "paper: ScannerActor not registered ({actors:?})"
    );
    let report = PaperReport {
        trader_id: trader_id.to_string(),
        environment: match &opts.exchange_url {
            Some(u) => format!("local exchange {u}"),
            None => format!("{:?}", opts.environment),
        },
        data_clients,
        exec_clients,
        actors,
        strategies,
        bar_types: if bar_seconds == 60 {
            bar_types.iter().map(ToString::to_string).collect()
        } else {
            vec![format!(
                "{bar_seconds}-SECOND bars built in the node from {} trade streams",
                opts.assets.len()
            )]
        },
        driver: bar_type(&driver_asset).to_string(),
        champion_hash: champion_hash(&opts.system.engine),
        starting_balance: balance.to_string(),
    };
    Ok(PaperNode {
        node,
        report,
        log,
        done,
        started,
    })
}

/// Connects and runs the node until it is stopped (Ctrl-C, after `run_for`, or once the data
/// ended at `PaperOptions::end_ms`). Needs network access to Binance, or a local exchange
/// (`exchange_url`). The node is handed back (its actors' logs stay readable).
pub fn run_paper_node(
    paper: &mut PaperNode,
    run_for: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    run_paper_node_until(paper, run_for, Arc::new(AtomicBool::new(false)))
}

/// [`run_paper_node`], also stopping the node once `stop` is set (a supervisor's shutdown).
pub fn run_paper_node_until(
    paper: &mut PaperNode,
    run_for: Option<std::time::Duration>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = paper.node.handle();
    let done = paper.done.clone();
    let started = paper.started.clone();
    let not_started = Arc::new(AtomicBool::new(false));
    let deadline = run_for.map(|d| std::time::Instant::now() + d);
    rt.block_on(async {
        let watch = handle.clone();
        let failed = not_started.clone();
        tokio::spawn(async move {
            // NautilusTrader ignores (and clears) a stop requested while the node starts, so a
            // stop condition is re-applied every tick until the node has stopped.
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
            let mut said = false;
            loop {
                tick.tick().await;
                let why = if watch.is_running() && !started.load(Ordering::SeqCst) {
                    // Running without a trader: a client did not connect (the node logged
                    // which); nothing would ever trade.
                    failed.store(true, Ordering::SeqCst);
                    Some("the trader did not start (a client did not connect)")
                } else if done.load(Ordering::SeqCst) {
                    Some("end of the data")
                } else if stop.load(Ordering::SeqCst) {
                    Some("stop requested")
                } else if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                    Some("run time over")
                } else {
                    None
                };
                if let Some(why) = why {
                    if !said {
                        log::info!("paper: {why}; stopping the node");
                        said = true;
                    }
                    watch.stop();
                }
            }
        });
        paper.node.run().await
    })?;
    anyhow::ensure!(
        !not_started.load(Ordering::SeqCst),
        "paper node: the trader did not start because a client did not connect (see the log)"
    );
    Ok(())
}
