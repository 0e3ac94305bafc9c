//! DOLPHIN on NautilusTrader (B §14, S §5, §12; SPEC §4 item 7): the [`DolphinActor`] strategy
//! and the replay on Nautilus's `BacktestEngine` whose outputs match `dolphin backtest`.
//!
//! `dolphin backtest --engine nautilus` runs [`run_nautilus_backtest_with`]; `dolphin paper`
//! builds the live node of [`live`].

pub mod actor;
pub mod actor_log;
pub mod backtest;
pub mod bar_recorder;
pub mod config;
pub mod day_source;
pub mod error;
pub mod gate_snap;
pub mod instruments;
pub mod live;
pub mod live_scan;
pub mod pending_acb;
pub mod reconcile;
pub mod replay_bars;
pub mod scan_inbox;
pub mod scan_publisher;
pub mod scanner_actor;

pub use actor::{DolphinActor, QuantityError, order_quantity};
pub use actor_log::{ActorLog, ActorLogHandle, BarTimeGap, FillRecord, Leg, OrderIntent};
pub use backtest::{
    NautilusOptions, NautilusRun, run_nautilus_backtest, run_nautilus_backtest_with,
    run_nautilus_frames,
};
pub use config::{
    ActorMode, DolphinActorConfig, LiveFeed, OrderRoute, SharedGovernor, StoreConnector,
    embedded_store, shared_store,
};
pub use day_source::{DayFiles, DayFrames, DaySource};
pub use error::NautilusError;
pub use gate_snap::GateSnap;
pub use live::{
    PaperEnvironment, PaperNode, PaperOptions, PaperReport, build_paper_node, run_paper_node,
    run_paper_node_until,
};
pub use live_scan::{LiveScan, LiveScanError};
pub use pending_acb::PendingAcb;
pub use reconcile::{Difference, Reconciliation, reconcile};
pub use scan_inbox::{QueuedScan, ScanInbox};
pub use scan_publisher::{PublisherStats, ScanPublisher};
pub use scanner_actor::ScannerActor;
