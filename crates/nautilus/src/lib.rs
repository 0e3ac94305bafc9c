//! DOLPHIN on NautilusTrader (B §14, S §5, §12; SPEC §4 item 7): the [`DolphinActor`] strategy
//! and the replay on Nautilus's `BacktestEngine` whose outputs match `dolphin backtest`.
//!
//! This crate is outside the Cargo workspace (NautilusTrader is heavy to build); build it with
//! `cargo build` inside `crates/nautilus`.

pub mod actor;
pub mod actor_log;
pub mod backtest;
pub mod config;
pub mod day_source;
pub mod error;
pub mod gate_snap;
pub mod instruments;
pub mod pending_acb;
pub mod reconcile;
pub mod replay_bars;

pub use actor::{DolphinActor, order_quantity};
pub use actor_log::{ActorLog, ActorLogHandle, FillRecord, Leg, OrderIntent};
pub use backtest::{NautilusOptions, NautilusRun, run_nautilus_backtest, run_nautilus_frames};
pub use config::{DolphinActorConfig, OrderRoute, StoreConnector, embedded_store, shared_store};
pub use day_source::{DayFiles, DayFrames, DaySource};
pub use error::NautilusError;
pub use gate_snap::GateSnap;
pub use pending_acb::PendingAcb;
pub use reconcile::{Difference, Reconciliation, reconcile};
