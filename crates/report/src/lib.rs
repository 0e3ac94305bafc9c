//! Run reports of DOLPHIN (SPEC §4 item 11 "run reports with plots"; B §16.7 monitoring):
//!
//! * [`RunDir`] reads a run folder — what `dolphin backtest` and `dolphin serve --out` write
//!   (`trades.jsonl`, `days.jsonl`, `summary.json`, `run.json`, `acb.jsonl`,
//!   `posture_trace.jsonl`, `mc.jsonl`, `heartbeats.jsonl`, `services.json`) — with a clear
//!   error naming file and line for a bad record, and counted warnings for what is merely odd.
//! * [`stats`] derives what a trader reads off a run: equity and underwater curves, daily and
//!   monthly returns, exits by reason, per-asset results, distributions.
//! * [`tearsheet`] renders one self-contained HTML file with inline SVG charts (no network).

pub mod error;
pub mod run_dir;
pub mod stats;
pub mod svg;
pub mod tearsheet;

pub use error::ReportError;
pub use run_dir::{AcbPoint, McPoint, PosturePoint, RunDir};
pub use stats::RunStats;
pub use tearsheet::render_tearsheet;
