//! Research at scale (issue 17): parameter sweeps over any engine / ACB / exit parameter,
//! walk-forward evaluation, overfitting guards (deflated Sharpe ratio, probability of backtest
//! overfitting), the look-ahead check, and sweep workers on Redis Streams.
//!
//! * [`trial`] — one configuration of a sweep: the engine and ACB settings as one serde tree,
//!   overridden by dotted paths, hashed.
//! * [`spec`] — the sweep spec (`sweep.yml`): grid or seeded random search.
//! * [`replay`] — the day files read once and shared; one trial replayed through the engine,
//!   with the causal ACB of [`causal_acb`].
//! * [`folds`], [`dsr`], [`pbo`] — walk-forward splits and the overfitting statistics.
//! * [`results`], [`heatmap`], [`sweep`] — the results parquet, plots and the orchestration.
//! * [`lookahead`] — the truncation check of issue 17 item 3.
//! * [`queue`] — jobs and results on Redis Streams for workers on several machines.

pub mod causal_acb;
pub mod dsr;
pub mod error;
pub mod folds;
pub mod heatmap;
pub mod lookahead;
pub mod pbo;
pub mod queue;
pub mod replay;
pub mod results;
pub mod spec;
pub mod stats;
pub mod sweep;
pub mod trial;

pub use error::ResearchError;
pub use replay::{ResearchData, TrialRecord, run_trial};
pub use spec::SweepSpec;
pub use trial::TrialConfig;
