//! The DOLPHIN risk control plane (seeds B §10, §11, S §6, §7, §14; SPEC D4, D5, D7).
//!
//! * [`acb`] — ACBv6, the adaptive circuit breaker: daily base boost from external factors
//!   (scale 1) and dynamic beta from the w750 eigenvalue velocity (scale 3); implements
//!   [`dolphin_engine::AcbProvider`].
//! * [`survival_stack`] / [`sensors`] — the five-sensor Survival Stack: Rm, posture,
//!   hysteresis and bounded recovery; [`posture_trace`] replays a recorded watchdog trace.
//! * [`circuit_breaker`] — `CircuitBreakerManager`: daily-loss, losing-streak and drawdown
//!   trips that block new entries.
//!
//! The MC-Forewarner and the volatility detector live elsewhere.

pub mod acb;
pub mod acb_config;
pub mod circuit_breaker;
pub mod percentile;
pub mod posture_trace;
pub mod sensors;
pub mod survival_stack;

pub use acb::{
    ALLOWED_CUTS, AcbError, AcbExplain, AdaptiveCircuitBreaker, FactorSignals,
    apply_cut_to_position_size, base_boost, dynamic_beta, factor_signals, should_force_exit,
    w750_of_day, w750_of_first_rows,
};
pub use acb_config::{AcbConfig, AcbConfigError};
pub use circuit_breaker::{
    CircuitBreakerConfig, CircuitBreakerError, CircuitBreakerManager, CircuitBreakerStatus,
    TripReason,
};
pub use percentile::{median, percentile_linear};
pub use posture_trace::{PostureTrace, PostureTraceError};
pub use sensors::{SensorError, SensorReadings};
pub use survival_stack::{
    SurvivalConfig, SurvivalError, SurvivalStack, SurvivalState, abs_max_leverage_eff,
    bounded_recovery, combine, posture_for_rm,
};
