//! Replay on NautilusTrader's `BacktestEngine` (S §12.1, issue 7 item 2): a simulated BINANCE
//! venue, one perpetual per asset, one external 1-minute bar per asset per day-file row, the
//! `DolphinActor` driven by the reference asset's bars and sending the engine's entries and
//! exits as market orders. The outputs are a `dolphin_runtime::BacktestResult`, so
//! `dolphin_runtime::write_outputs` writes the same files as `dolphin backtest`.

use crate::actor::DolphinActor;
use crate::actor_log::ActorLog;
use crate::config::{
    DayContextFn, DolphinActorConfig, EngineSetup, OrderRoute, StoreConnector, embedded_store,
};
use crate::day_source::DayFrames;
use crate::error::NautilusError;
use crate::instruments::{AssetInstrument, VENUE};
use crate::reconcile::{Reconciliation, reconcile};
use crate::replay_bars::{driver_asset, first_prices, replay_bars};
use dolphin_core::{DayFrame, UtcDate};
use dolphin_data::read_day_file;
use dolphin_engine::Summary;
use dolphin_runtime::{BacktestResult, SystemConfig};
use nautilus_backtest::config::{BacktestEngineConfig, SimulatedVenueConfig};
use nautilus_backtest::engine::BacktestEngine;
use nautilus_common::logging::logger::LoggerConfig;
use nautilus_model::enums::{AccountType, BookType, OmsType};
use nautilus_model::identifiers::Venue;
use nautilus_model::types::{Currency, Money};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Options of a Nautilus replay beyond the system config.
#[derive(Clone)]
pub struct NautilusOptions {
    /// The store the actor connects to (embedded by default).
    pub store: StoreConnector,
    /// Nautilus's own log level on stdout (`Off` by default: the runner prints its table).
    pub log_level: log::LevelFilter,
    /// Injects the optional layers' providers into the actor's engine (see [`EngineSetup`]).
    pub engine_setup: Option<EngineSetup>,
    /// Posture per date from a replayed survival-stack trace instead of the store.
    pub day_context: Option<DayContextFn>,
    /// Called once per day file read (progress reporting).
    pub on_day_read: Option<std::rc::Rc<dyn Fn(usize, usize)>>,
    /// Start from the capital in `DOLPHIN_STATE_BLUE["latest_nautilus"]` when its parameter
    /// hash matches (S §17.6 capital continuity across runs).
    pub restore_capital: bool,
}

impl Default for NautilusOptions {
    fn default() -> Self {
        Self {
            store: embedded_store(),
            log_level: log::LevelFilter::Off,
            engine_setup: None,
            day_context: None,
            on_day_read: None,
            restore_capital: false,
        }
    }
}

/// The outcome of a replay on Nautilus.
#[derive(Debug, Clone)]
pub struct NautilusRun {
    /// Same type and content as the standalone `run_backtest` gives (SPEC D6 parity).
    pub result: BacktestResult,
    /// Engine trade log vs Nautilus fills.
    pub reconciliation: Reconciliation,
    /// The asset whose bars drove the actor.
    pub driver: String,
    /// Perpetuals added to the venue.
    pub instruments: usize,
    /// Bars handed to Nautilus (all assets).
    pub nautilus_bars: usize,
    /// What the actor recorded.
    pub log: ActorLog,
}

/// `dolphin backtest --engine nautilus`: reads `files` (as `dolphin_runtime::day_files` lists
/// them) and replays them on Nautilus with an embedded store.
pub fn run_nautilus_backtest(
    cfg: &SystemConfig,
    files: &[(UtcDate, PathBuf)],
) -> Result<NautilusRun, NautilusError> {
    run_nautilus_backtest_with(cfg, files, &NautilusOptions::default())
}

/// [`run_nautilus_backtest`] with options (store, layers, posture source, progress).
pub fn run_nautilus_backtest_with(
    cfg: &SystemConfig,
    files: &[(UtcDate, PathBuf)],
    opts: &NautilusOptions,
) -> Result<NautilusRun, NautilusError> {
    let mut frames = Vec::with_capacity(files.len());
    for (i, (_, path)) in files.iter().enumerate() {
        frames.push((path.clone(), read_day_file(path)?));
        if let Some(f) = &opts.on_day_read {
            f(i + 1, files.len());
        }
    }
    run_nautilus_frames(cfg, frames, opts)
}

/// Replays day frames (each with the file it came from, for error messages) on Nautilus.
pub fn run_nautilus_frames(
    cfg: &SystemConfig,
    frames: Vec<(PathBuf, DayFrame)>,
    opts: &NautilusOptions,
) -> Result<NautilusRun, NautilusError> {
    let last = frames.last().ok_or(NautilusError::NoDays)?;
    let last_date = last.1.date;
    let last_file = last.0.clone();
    cfg.engine.validate().map_err(|m| NautilusError::Engine {
        file: PathBuf::from("<config>"),
        source: dolphin_engine::EngineError::Config(m),
    })?;

    let instruments: BTreeMap<String, AssetInstrument> = first_prices(&frames)
        .into_iter()
        .map(|(a, p)| (a.clone(), AssetInstrument::new(&a, p)))
        .collect();
    let universe: Vec<String> = instruments.keys().cloned().collect();
    let driver = driver_asset(&frames, &universe, &cfg.engine.vol_reference_asset)
        .ok_or(NautilusError::NoPrices)?;
    let bars = replay_bars(&frames, &instruments, &driver)?;
    let nautilus_bars = bars.len();

    let engine_cfg = BacktestEngineConfig::builder()
        .logging(LoggerConfig {
            stdout_level: opts.log_level,
            bypass_logging: opts.log_level == log::LevelFilter::Off,
            ..Default::default()
        })
        .bypass_logging(opts.log_level == log::LevelFilter::Off)
        .run_analysis(false)
        .build();
    let mut engine =
        BacktestEngine::new(engine_cfg).map_err(|e| NautilusError::nautilus("engine", e))?;
    engine
        .add_venue(
            SimulatedVenueConfig::builder()
                .venue(Venue::from(VENUE))
                .oms_type(OmsType::Netting)
                .account_type(AccountType::Margin)
                .book_type(BookType::L1_MBP)
                .starting_balances(vec![Money::new(
                    cfg.engine.initial_capital,
                    Currency::USDT(),
                )])
                .build(),
        )
        .map_err(|e| NautilusError::nautilus("add_venue", e))?;
    for inst in instruments.values() {
        engine
            .add_instrument(&inst.instrument)
            .map_err(|e| NautilusError::nautilus("add_instrument", e))?;
    }

    let routes: BTreeMap<String, OrderRoute> = instruments
        .iter()
        .map(|(a, i)| (a.clone(), i.route()))
        .collect();
    let mut actor_cfg = DolphinActorConfig::new(cfg.engine.clone());
    actor_cfg.store = opts.store.clone();
    actor_cfg.bar_type = Some(instruments[&driver].bar_type);
    actor_cfg.routes = routes.clone();
    actor_cfg.end_of_data = Some(last_date);
    actor_cfg.engine_setup = opts.engine_setup.clone();
    actor_cfg.day_context = opts.day_context.clone();
    actor_cfg.restore_capital = opts.restore_capital;
    let actor = DolphinActor::new(
        actor_cfg,
        Box::new(DayFrames::new(frames.into_iter().map(|(_, f)| f))),
    );
    let log = actor.log();
    engine
        .add_strategy(actor)
        .map_err(|e| NautilusError::nautilus("add_strategy", e))?;
    engine
        .add_data(bars, None, true, true)
        .map_err(|e| NautilusError::nautilus("add_data", e))?;
    engine
        .run(None, None, None, false)
        .map_err(|e| NautilusError::nautilus("run", e))?;

    let open_positions: Vec<String> = {
        let cache = engine.kernel().cache.borrow();
        cache
            .positions_open(None, None, None, None, None)
            .iter()
            .map(|p| format!("{} {:?} {}", p.instrument_id, p.side, p.quantity))
            .collect()
    };
    engine.dispose();

    let log = log.borrow().clone();
    if let Some(e) = log.errors.first() {
        return Err(NautilusError::Actor {
            date: e.date,
            row: e.row,
            message: e.message.clone(),
        });
    }
    if log.days.last().map(|d| d.date) != Some(last_date) {
        return Err(NautilusError::Actor {
            date: last_date,
            row: 0,
            message: format!(
                "{}: the last day did not end (days ended: {})",
                last_file.display(),
                log.days.len()
            ),
        });
    }
    let reconciliation = reconcile(&log.trades, &log, &routes, &open_positions);
    // Reports of a resumed run are computed from the capital it started with (S §17.6,
    // issue 11), not the configured initial capital.
    let start_capital = log
        .days
        .first()
        .map_or(cfg.engine.initial_capital, |d| d.start_capital);
    let result = BacktestResult {
        summary: Summary::compute(start_capital, &log.trades, &log.days),
        trades: log.trades.clone(),
        days: log.days.clone(),
        bars: log.bars,
        asset_bars: log.asset_bars,
    };
    Ok(NautilusRun {
        result,
        reconciliation,
        driver,
        instruments: instruments.len(),
        nautilus_bars,
        log,
    })
}
