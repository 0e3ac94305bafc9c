//! The running system's hold on an engine it does not own (SPEC §8; issue 11 "Trader"): the
//! paper node's actor steps the engine, the services decide around each step. A [`Governor`]
//! is asked at every date change for the day's posture (having set the day's ACB value and MC
//! report in the providers it handed out, [`Governor::providers`]), before every bar for a
//! sub-day ACB update and the circuit breaker's entry gate, and is told after every bar and
//! every day what happened. `dolphin serve --live` implements it with the services' trader
//! decisions (the very code the replay trader runs), so a live run records the same traces a
//! replay does and `dolphin backtest` given them takes the same decisions.
//!
//! An actor without a governor reads posture and ACB from the store itself (S §5.2, §5.4).

use crate::providers::Providers;
use dolphin_core::UtcDate;
use dolphin_engine::{AcbDay, DayContext, DayResult, NDAlphaEngine, StepOutcome};

/// A governor's failure (a store write, a trace file, the services gone); the actor records
/// it as a bar error and stops, as for an engine error.
pub type GovernorError = Box<dyn std::error::Error + Send + Sync>;

/// What governs one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarGate {
    /// A sub-day ACB value to apply before the bar (B §10.5, `update_acb_boost`).
    pub acb_update: Option<AcbDay>,
    /// The circuit breaker's entry gate (S §14): `false` = no new entry on this bar.
    pub entries_allowed: bool,
}

/// The bar just stepped, as the scan that made it has it.
#[derive(Debug, Clone, Copy)]
pub struct BarRecord<'a> {
    pub date: UtcDate,
    /// Open time of the bar (the day-file row time), ms.
    pub ts: i64,
    pub scan_number: i64,
    pub vel_div: f64,
    pub v750_vel: f64,
    /// The panel (the engine's column order) and one price per asset (NaN where none).
    pub assets: &'a [String],
    pub prices: &'a [f64],
}

/// The services' side of a live trader. Called on the actor's thread, in bar order.
pub trait Governor: Send {
    /// The engine's optional providers (the ACB and MC cells the governor fills at each date
    /// change, an OB provider): installed into the actor's engine.
    fn providers(&self) -> Providers;

    /// Date `date` begins with its first bar opening at `first_ts` (the engine has not begun
    /// it yet; `engine.global_bar_idx()` is that bar's number). Returns the posture context.
    fn begin_day(
        &mut self,
        date: UtcDate,
        first_ts: i64,
        engine: &NDAlphaEngine,
    ) -> Result<DayContext, GovernorError>;

    /// Before the bar of `date` opening at `ts` is stepped.
    fn before_bar(
        &mut self,
        date: UtcDate,
        ts: i64,
        engine: &NDAlphaEngine,
    ) -> Result<BarGate, GovernorError>;

    /// After `bar` was stepped with outcome `out` (a governor publishes the scan for the
    /// store's other readers here, as the replay trader does after its step). Returns whether
    /// the day became stale (the posture changed during it, S §5.3 ⑧).
    fn after_bar(
        &mut self,
        bar: &BarRecord<'_>,
        out: &StepOutcome,
        engine: &NDAlphaEngine,
    ) -> Result<bool, GovernorError>;

    /// Day `result` ended (`last` = the end of the data).
    fn end_day(
        &mut self,
        result: &DayResult,
        engine: &NDAlphaEngine,
        last: bool,
    ) -> Result<(), GovernorError>;

    /// The actor stops (after its last day ended, or mid-day on a stop request).
    fn finish(&mut self, engine: &NDAlphaEngine) -> Result<(), GovernorError>;
}
