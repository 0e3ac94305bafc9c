//! The ACB hook of the engine (seeds B §10, §13.1): once per day the engine asks its
//! adaptive circuit breaker for the day's base boost (scale 1) and dynamic beta (scale 3);
//! scale 2 (`regime_size_mult`) is computed per bar in the engine.

use crate::ob::ObProvider;
use dolphin_core::UtcDate;
use serde::{Deserialize, Serialize};

/// The ACB verdict for one date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AcbDay {
    /// Scale 1: `1 + 0.5·ln(1 + signals)` when signals ≥ 1, else 1.0.
    pub boost: f64,
    /// Scale 3: BETA_HIGH (0.8) or BETA_LOW (0.2), 0 when unknown.
    pub beta: f64,
}

impl AcbDay {
    /// No ACB: boost 1.0, beta 0 (SPEC §5 "ACB without factor data").
    pub const NEUTRAL: AcbDay = AcbDay {
        boost: 1.0,
        beta: 0.0,
    };
}

/// A source of daily ACB factors (`AdaptiveCircuitBreaker.get_dynamic_boost_for_date`).
/// The OB provider, when wired, lets OB-4 modulate beta under macro withdrawal stress.
pub trait AcbProvider: Send + Sync {
    fn day(&self, date: UtcDate, ob: Option<&dyn ObProvider>) -> AcbDay;
}
