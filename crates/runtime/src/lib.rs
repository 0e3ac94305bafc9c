//! Runtime of DOLPHIN: configuration files, the replay backtest, its reports and plots.

pub mod backtest;
pub mod config;
pub mod governor;
pub mod layers;
pub mod mc_plot;
pub mod plot;
pub mod providers;
pub mod report;

pub use backtest::{BacktestError, BacktestResult, Progress, day_files, run_backtest};
pub use config::{ConfigError, SystemConfig};
pub use governor::{BarGate, BarRecord, Governor, GovernorError};
pub use providers::{BuiltProviders, PostureSource, ProviderSources, Providers, build_providers};
pub use report::{ReportError, write_outputs};
