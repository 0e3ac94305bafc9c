//! `DolphinStrategyConfig` (S §13) for the Rust actor: the engine config plus what the actor
//! needs from its surroundings (store, replay data, the bar that drives it, order routing).

use crate::scan_inbox::ScanInbox;
use dolphin_core::{Direction, UtcDate};
use dolphin_engine::EngineConfig;
use dolphin_runtime::Providers;
use dolphin_store::schema::{DOLPHIN_PNL_BLUE, DOLPHIN_PNL_GREEN, DOLPHIN_STATE_BLUE};
use dolphin_store::{EmbeddedMemory, StoreError, SystemMemory};
use nautilus_model::data::BarType;
use nautilus_model::identifiers::InstrumentId;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Opens the store at `on_start` (S §5.2 step 1). An error is not fatal: the actor runs on
/// local state with posture APEX (S §5.2, §17 "HZ unavailability is non-fatal").
pub type StoreConnector = Arc<dyn Fn() -> Result<Arc<dyn SystemMemory>, StoreError>>;

/// The default connector: a fresh in-process [`EmbeddedMemory`] (SPEC §4 item 8).
pub fn embedded_store() -> StoreConnector {
    Arc::new(|| Ok(Arc::new(EmbeddedMemory::new()) as Arc<dyn SystemMemory>))
}

/// A connector that hands out an existing store (shared with other services or a test).
pub fn shared_store(store: Arc<dyn SystemMemory>) -> StoreConnector {
    Arc::new(move || Ok(store.clone()))
}

/// A governor shared between the actor and whoever built it (the services of
/// `dolphin serve --live`), see [`dolphin_runtime::Governor`].
pub type SharedGovernor = Arc<std::sync::Mutex<Box<dyn dolphin_runtime::Governor>>>;

/// Where the actor sends the market orders of an asset (issue 7 item 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRoute {
    pub instrument_id: InstrumentId,
    /// Decimal places of the instrument's quantities.
    pub size_precision: u8,
}

/// Where the actor's rows come from (S §5.3 ④).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ActorMode {
    /// Row `bar_idx_today` of the day file of the bar's date (B §14.3).
    #[default]
    Replay,
    /// The latest scan in `DOLPHIN_FEATURES["latest_eigen_scan"]` (S §9.1), with the staleness
    /// and duplicate-scan checks; `assets` is the panel (the engine's column order).
    Live { assets: Vec<String> },
}

/// Live mode with the scanner in the same node (docs/LIVE.md §5): the actor steps every queued
/// scan once, in order, when the scanner signals it on the node's message bus
/// ([`crate::scan_inbox::SCAN_SIGNAL`]), instead of reading the latest scan from the store on
/// its own bar.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    /// The scans the node's [`crate::ScannerActor`] published.
    pub inbox: ScanInbox,
    /// Event-time end of the run, ms: the scan of the last bar before it is the end of the data
    /// (SPEC §6: an open position closes with END_OF_DATA and the day ends); scans at or after
    /// it are not stepped. `None` = run until stopped.
    pub end_ms: Option<i64>,
    /// Set once the data ended (the runner stops the node when it sees it).
    pub done: Arc<AtomicBool>,
    /// Set when the actor started (NautilusTrader starts the trader only once every client
    /// connected; the runner stops a node whose trader never started).
    pub started: Arc<AtomicBool>,
}

/// Configuration of a [`crate::DolphinActor`] (S §13 `DolphinStrategyConfig`).
#[derive(Clone)]
pub struct DolphinActorConfig {
    /// Nautilus strategy id (`DOLPHIN-001`); its tag becomes the order id tag.
    pub strategy_id: String,
    /// The engine parameters (S §13; the champion by default).
    pub engine: EngineConfig,
    /// How to reach the store at `on_start`.
    pub store: StoreConnector,
    /// The bar type that drives the engine: one bar per day-file row (S §12.3). `None` = the
    /// actor subscribes to nothing and bars are handed to `on_bar` directly (unit tests).
    pub bar_type: Option<BarType>,
    /// Replay (day files) or live (store scans).
    pub mode: ActorMode,
    /// Order routing per asset. Empty (and no `route_venue`) = no orders are sent (the engine
    /// still trades).
    pub routes: BTreeMap<String, OrderRoute>,
    /// Live: route an asset without an entry in `routes` to `<asset>-PERP.<venue>`, its size
    /// precision read from Nautilus's cache when the order is sent (instruments arrive from the
    /// data client at connect).
    pub route_venue: Option<String>,
    /// The last date of a replay: at its last row the actor closes an open position with
    /// END_OF_DATA and ends the day (SPEC §6; the runner's end-of-data rule, S §5.5).
    pub end_of_data: Option<UtcDate>,
    /// Restore capital from `DOLPHIN_STATE_BLUE["latest_nautilus"]` at start when its
    /// `param_hash` matches (S §17 "Capital continuity").
    pub restore_capital: bool,
    /// Map of per-date results: `DOLPHIN_PNL_BLUE` (SHORT) or `DOLPHIN_PNL_GREEN` (LONG), B §14.5.
    pub pnl_map: String,
    /// Map of the capital state (`DOLPHIN_STATE_BLUE`), `None` = not written.
    pub state_map: Option<String>,
    /// The optional layers' providers (ACB, MC-Forewarner, OB), installed into every engine
    /// the actor builds (a restarted actor gets them back), and the posture source that
    /// replaces the store read (none = the store, S §5.2, B §14.4).
    pub providers: Providers,
    /// Live mode: scans handed over in process (see [`LiveFeed`]); `None` = the store's latest
    /// scan on the driver bar (S §5.3 ④).
    pub live_feed: Option<LiveFeed>,
    /// Live mode: the services' governor (posture, ACB, MC, breaker gate and decision traces
    /// from `dolphin serve --live`); `None` = the actor reads posture and sub-day ACB from the
    /// store itself (S §5.2, §5.4).
    pub governor: Option<SharedGovernor>,
}

impl std::fmt::Debug for DolphinActorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DolphinActorConfig")
            .field("strategy_id", &self.strategy_id)
            .field("bar_type", &self.bar_type)
            .field("mode", &self.mode)
            .field("routes", &self.routes.len())
            .field("route_venue", &self.route_venue)
            .field("end_of_data", &self.end_of_data)
            .field("restore_capital", &self.restore_capital)
            .field("pnl_map", &self.pnl_map)
            .field("state_map", &self.state_map)
            .field("providers", &self.providers)
            .field("live_feed", &self.live_feed)
            .field("governor", &self.governor.is_some())
            .finish()
    }
}

impl DolphinActorConfig {
    /// Defaults for `engine`: strategy `DOLPHIN-001`, embedded store, no bar subscription, no
    /// orders, the PnL map of the engine's direction (B §2: blue SHORT, green LONG).
    pub fn new(engine: EngineConfig) -> Self {
        let (pnl_map, state_map) = match engine.direction {
            Direction::Short => (DOLPHIN_PNL_BLUE, Some(DOLPHIN_STATE_BLUE.to_string())),
            Direction::Long => (DOLPHIN_PNL_GREEN, None),
        };
        Self {
            strategy_id: "DOLPHIN-001".into(),
            engine,
            store: embedded_store(),
            bar_type: None,
            mode: ActorMode::Replay,
            routes: BTreeMap::new(),
            route_venue: None,
            end_of_data: None,
            restore_capital: false,
            pnl_map: pnl_map.into(),
            state_map,
            providers: Providers::none(),
            live_feed: None,
            governor: None,
        }
    }
}
