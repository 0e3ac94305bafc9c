//! Capital continuity and results (S §17.6, B §14.5): the trader's state in
//! `DOLPHIN_STATE_BLUE["latest"]` on every change of position or capital, each day's result in
//! `DOLPHIN_PNL_BLUE[date]` exactly once (a date already there is never written again).

use crate::error::ServiceError;
use crate::schedule::EventMs;
use dolphin_core::{Direction, UtcDate};
use dolphin_engine::{DayResult, NDAlphaEngine};
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_PNL_BLUE, DOLPHIN_STATE_BLUE, KEY_LATEST, to_json};
use serde::{Deserialize, Serialize};

/// The open position as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionState {
    pub trade_id: u32,
    pub asset: String,
    pub direction: Direction,
    pub entry_price: f64,
    pub notional: f64,
    pub leverage: f64,
    pub entry_bar: u64,
}

/// `DOLPHIN_STATE_BLUE["latest"]` as the services write it: S §10's `{capital, date, pnl}`
/// plus where the trader stood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraderState {
    pub capital: f64,
    pub date: String,
    /// Capital change of the current day so far.
    pub pnl: f64,
    /// Event time of the last bar stepped.
    pub ts_ms: EventMs,
    /// Global bar index of the next bar.
    pub bar_idx: u64,
    pub trades: usize,
    pub position: Option<PositionState>,
    pub param_hash: String,
    /// Identifies the run (replay folder and first date) so a restart knows it is the same.
    pub run_id: String,
    /// Capital the run started with.
    pub initial_capital: f64,
    /// Set when the run ended normally (nothing to resume).
    #[serde(default)]
    pub finished: bool,
}

impl TraderState {
    /// The state of `engine` after the bar at `ts_ms`.
    pub fn of(
        engine: &NDAlphaEngine,
        date: UtcDate,
        day_start_capital: f64,
        ts_ms: EventMs,
        run_id: &str,
        initial_capital: f64,
    ) -> Self {
        let hash = dolphin_engine::champion::champion_hash(engine.config());
        Self::of_hashed(
            engine,
            date,
            day_start_capital,
            ts_ms,
            run_id,
            initial_capital,
            &hash,
        )
    }

    /// [`Self::of`] with the engine config's `champion_hash` computed once by the caller
    /// (the config does not change during a run; hashing it cost more than the rest).
    pub fn of_hashed(
        engine: &NDAlphaEngine,
        date: UtcDate,
        day_start_capital: f64,
        ts_ms: EventMs,
        run_id: &str,
        initial_capital: f64,
        param_hash: &str,
    ) -> Self {
        Self {
            capital: engine.capital(),
            date: date.to_string(),
            pnl: engine.capital() - day_start_capital,
            ts_ms,
            bar_idx: engine.global_bar_idx(),
            trades: engine.trade_history().len(),
            position: engine.position().map(|p| PositionState {
                trade_id: p.trade_id,
                asset: p.asset.clone(),
                direction: p.direction,
                entry_price: p.entry_price,
                notional: p.notional,
                leverage: p.leverage,
                entry_bar: p.entry_bar,
            }),
            param_hash: param_hash.to_string(),
            run_id: run_id.to_string(),
            initial_capital,
            finished: false,
        }
    }
}

/// Writes the state.
pub fn save_state(mem: &dyn SystemMemory, state: &TraderState) -> Result<(), ServiceError> {
    let json = to_json(DOLPHIN_STATE_BLUE, KEY_LATEST, state)?;
    mem.put(DOLPHIN_STATE_BLUE, KEY_LATEST, &json)?;
    Ok(())
}

/// Reads the state; `None` when absent or not a services state (another writer's format).
pub fn load_state(mem: &dyn SystemMemory) -> Result<Option<TraderState>, ServiceError> {
    Ok(mem
        .get(DOLPHIN_STATE_BLUE, KEY_LATEST)?
        .and_then(|j| serde_json::from_str(&j).ok()))
}

/// Writes a day's result unless the date is already there; `true` if written.
pub fn write_day_once(
    mem: &dyn SystemMemory,
    day: &DayResult,
    stale_state: bool,
) -> Result<bool, ServiceError> {
    let key = day.date.to_string();
    if mem.get(DOLPHIN_PNL_BLUE, &key)?.is_some() {
        return Ok(false);
    }
    let value = dolphin_store::schema::DailyResultValue {
        date: key.clone(),
        pnl: day.pnl,
        capital: day.capital,
        boost: day.boost,
        beta: day.beta,
        mc_status: day.mc_status.as_str().into(),
        trades: u64::from(day.trades),
        stale_state: stale_state.then_some(true),
        extra: [(
            "posture".to_string(),
            serde_json::json!(day.posture.as_str()),
        )]
        .into_iter()
        .collect(),
    };
    mem.put(
        DOLPHIN_PNL_BLUE,
        &key,
        &to_json(DOLPHIN_PNL_BLUE, &key, &value)?,
    )?;
    Ok(true)
}
