//! The DOLPHIN risk control plane (seeds B §10, §11, S §6, §7, §14; SPEC D4, D5, D7).
//!
//! * [`acb`] — ACBv6, the adaptive circuit breaker: daily base boost from external factors
//!   (scale 1) and dynamic beta from the w750 eigenvalue velocity (scale 3); implements
//!   [`dolphin_engine::AcbProvider`].
//! * [`survival_stack`] / [`sensors`] — the five-sensor Survival Stack: Rm, posture,
//!   hysteresis and bounded recovery; [`posture_trace`] replays a recorded watchdog trace.
//! * [`circuit_breaker`] — `CircuitBreakerManager`: daily-loss, losing-streak and drawdown
//!   trips that block new entries.
//! * [`mc_forewarner`] — the MC-Forewarner's Monte Carlo: the engine over block-bootstrapped
//!   day sequences ([`block_bootstrap`], [`split_mix`]) with perturbed configs; [`envelope`]
//!   saves the path table and answers `assess(config)` by a kernel surrogate
//!   ([`DolphinForewarner`], implements [`dolphin_engine::McForewarner`]); [`mc_stats`] holds
//!   the catastrophic probability and envelope score.
//!
//! The volatility detector lives in the engine.

pub mod acb;
pub mod acb_config;
pub mod block_bootstrap;
pub mod circuit_breaker;
pub mod envelope;
pub mod mc_forewarner;
pub mod mc_stats;
pub mod percentile;
pub mod posture_trace;
pub mod sensors;
pub mod split_mix;
pub mod survival_stack;

pub use acb::{
    ALLOWED_CUTS, AcbError, AcbExplain, AdaptiveCircuitBreaker, FactorSignals,
    apply_cut_to_position_size, base_boost, dynamic_beta, factor_signals, should_force_exit,
    w750_of_day, w750_of_first_rows,
};
pub use acb_config::{AcbConfig, AcbConfigError};
pub use block_bootstrap::{BootstrapKind, bootstrap_days};
pub use circuit_breaker::{
    CircuitBreakerConfig, CircuitBreakerError, CircuitBreakerManager, CircuitBreakerStatus,
    TripReason,
};
pub use envelope::{
    Assessment, DolphinForewarner, ENVELOPE_FORMAT, EnvelopeModel, EnvelopePoint, McDecision,
};
pub use mc_forewarner::{
    Distribution, McConfig, McError, McParams, McRun, McSummary, PathResult, Perturbation,
    run_engine, run_path, run_sequence, simulate, simulate_on_threads, simulate_with_progress,
    summarize,
};
pub use mc_stats::{catastrophic_probability, envelope_report, envelope_score, weighted_quantile};
pub use percentile::percentile_linear;
pub use posture_trace::{PostureTrace, PostureTraceError};
pub use sensors::{SensorError, SensorReadings};
pub use split_mix::SplitMix64;
pub use survival_stack::{
    SurvivalConfig, SurvivalError, SurvivalStack, SurvivalState, abs_max_leverage_eff,
    bounded_recovery, combine, posture_for_rm,
};
