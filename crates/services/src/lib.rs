//! `dolphin serve`: the supervised DOLPHIN system (seeds B §16, S §11, §15, §17; SPEC §8).
//!
//! * [`supervisor`] — starts the services in B §16.6 order and runs them on the event-time
//!   clock ([`schedule`]), with heartbeats, timeouts, retries with backoff and restarts
//!   ([`config`] holds the S §11 figures).
//! * Services: [`store_probe`], [`factors_http`] (external factors over HTTP), [`acb_processor`]
//!   (B §16.1), [`watchdog`] (B §16.3), [`mc_flow`] (B §16.4); [`ob_slot`] runs the OB stream
//!   service the binary hands in (`dolphin serve --exchange-url`), [`ob_health`] is its Cat3.
//! * [`trader`] — the replay trader on [`trader_core`] and [`decisions`] (shared with the live
//!   governor), every provider wired from the store
//!   ([`pending_acb`]), state and results persisted ([`persistence`]), every decision traced
//!   ([`traces`], [`run_files`]); [`traced_replay`] is `dolphin backtest` driven by those traces.
//! * [`serve`] — the command's body; [`plan`] — its dry run (S §15.5); [`logging`] — JSON logs
//!   under `OUT/logs/`.

pub mod acb_processor;
pub mod config;
pub mod decisions;
pub mod error;
pub mod factors_http;
pub mod json_text;
pub mod live;
pub mod logging;
pub mod mc_flow;
pub mod ob_health;
pub mod ob_slot;
pub mod pending_acb;
pub mod persistence;
pub mod plan;
pub mod run_files;
pub mod schedule;
pub mod sensor_parse;
pub mod serve;
pub mod service;
pub mod store_probe;
pub mod supervisor;
pub mod traced_replay;
pub mod traces;
pub mod trader;
pub mod trader_core;
pub mod typed_values;
pub mod w750_rebuild;
pub mod watchdog;

pub use config::{RetryPolicy, ServiceSpec, ServicesConfig};
pub use error::ServiceError;
pub use ob_slot::ObTask;
pub use plan::dry_run;
pub use serve::{
    Mode, PlanRow, ServeOptions, ServeReport, StoreSpec, connect_store, serve, serve_with_store,
};
pub use traced_replay::run_traced_backtest;
pub use traces::Traces;
