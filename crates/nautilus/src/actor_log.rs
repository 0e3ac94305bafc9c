//! What the actor did, shared with whoever runs it (the replay runner, tests): day results,
//! the trade log, bar counts, the orders it sent to Nautilus and the fills it got back.

use dolphin_core::UtcDate;
use dolphin_engine::{DayResult, NDTradeRecord};
use std::cell::RefCell;
use std::rc::Rc;

/// Which side of a trade an order opens or closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    Entry,
    Exit,
}

/// An order the actor sent (or meant to send) for an engine entry or exit (issue 7 item 2).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderIntent {
    /// Engine trade id (1-based).
    pub trade_id: u32,
    pub leg: Leg,
    pub asset: String,
    /// `XXXUSDT-PERP.BINANCE`.
    pub instrument_id: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// Quantity in base units at the instrument's size precision, as Nautilus prints it.
    pub quantity: String,
    /// The client order id Nautilus assigned; `None` when the order was not sent (`note` says why).
    pub client_order_id: Option<String>,
    pub note: Option<String>,
}

/// One fill reported by Nautilus (`on_order_filled`).
#[derive(Debug, Clone, PartialEq)]
pub struct FillRecord {
    pub client_order_id: String,
    pub instrument_id: String,
    pub side: String,
    pub quantity: String,
    pub price: f64,
    pub ts_event_ns: u64,
}

/// An order event that was not a fill but ended the order (denied, rejected).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderProblem {
    pub client_order_id: String,
    pub reason: String,
}

/// An error inside `on_bar`, with where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct BarError {
    pub date: UtcDate,
    pub row: usize,
    pub message: String,
}

/// Bar times that never produced a scan between two scans the actor stepped (live mode): the
/// data for them did not arrive (a dropped connection, a stalled stream). The scanner only
/// scans bar times it saw a close for, so such a hole is neither an incomplete nor a skipped
/// scan; this is where it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BarTimeGap {
    /// Open time of the first missing bar, ms since the epoch.
    pub from_ms: i64,
    /// How many consecutive bar times are missing.
    pub bars: u64,
}

impl BarTimeGap {
    /// The hole between the bar opening at `prev_open_ms` and the next one stepped, opening at
    /// `open_ms`, on a grid of `interval_ms`; `None` when they are consecutive (or the interval
    /// is not positive).
    pub fn between(prev_open_ms: i64, open_ms: i64, interval_ms: i64) -> Option<BarTimeGap> {
        if interval_ms <= 0 || open_ms <= prev_open_ms + interval_ms {
            return None;
        }
        Some(BarTimeGap {
            from_ms: prev_open_ms + interval_ms,
            bars: ((open_ms - prev_open_ms) / interval_ms - 1) as u64,
        })
    }
}

/// The actor's record of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActorLog {
    /// `end_day` results in date order (S §8.2).
    pub days: Vec<DayResult>,
    /// The engine's trade log, copied when the last day ends and on stop.
    pub trades: Vec<NDTradeRecord>,
    /// Rows fed to `step_bar`.
    pub bars: u64,
    /// Rows × asset columns fed to `step_bar`.
    pub asset_bars: u64,
    /// Bars received in total (including ones dropped by the once-per-date guard or past the
    /// end of a day file).
    pub bars_received: u64,
    /// Bars dropped because their date was already processed (B §14.1 step 4).
    pub bars_dropped_processed: u64,
    /// Bars whose `ts_event` did not equal the timestamp of the row fed for them.
    pub ts_mismatches: u64,
    /// `begin_day` calls (the once-per-date guard keeps this at one per date).
    pub days_begun: u64,
    /// Dates with no day file (nothing was stepped for them).
    pub missing_days: Vec<UtcDate>,
    /// ACB values taken from the pending slot and applied to the engine.
    pub acb_applied: u64,
    /// Stale-state events (S §5.3 ⑧).
    pub stale_state_events: u64,
    /// Store reads or writes that failed (non-fatal, S §17 "HZ unavailability").
    pub store_errors: Vec<String>,
    pub orders: Vec<OrderIntent>,
    pub fills: Vec<FillRecord>,
    pub order_problems: Vec<OrderProblem>,
    pub errors: Vec<BarError>,
    /// Live mode (S §5.3 ④): bars with no scan in the store yet.
    pub scans_missing: u64,
    /// Live mode: bars whose scan number equals the last one stepped (skipped).
    pub scans_duplicate: u64,
    /// Live mode: scans more than 10 s from the bar (warned, still stepped).
    pub scans_stale: u64,
    /// Live mode: scans never stepped (gaps in `scan_number` between two stepped scans).
    pub scans_skipped: u64,
    /// Live mode with a feed end: scans not stepped because the data had ended.
    pub scans_after_end: u64,
    /// Live mode: holes in the bar times of the scans stepped (bars that never arrived).
    pub bar_time_gaps: Vec<BarTimeGap>,
    /// Live mode with an in-process scanner: wall time from the arrival of the bar that
    /// completed a scan (its last asset's bar) to the end of the scan's step — the scanner,
    /// the message-bus hand-over, the engine step and any order submission — µs, per scan.
    pub scan_latency_us: Vec<u64>,
    /// The same, only the scans that sent an order (bar close → order submitted).
    pub order_latency_us: Vec<u64>,
}

/// A handle on an [`ActorLog`] shared between the actor and its runner (single thread, as
/// Nautilus actors are).
pub type ActorLogHandle = Rc<RefCell<ActorLog>>;

#[cfg(test)]
mod tests {
    use super::BarTimeGap;

    #[test]
    fn a_hole_in_the_bar_times_is_its_first_open_and_length() {
        let t = 1_746_424_800_000; // 2025-05-05 06:00 UTC
        assert_eq!(BarTimeGap::between(t - 60_000, t, 60_000), None);
        // 06:00..06:04 never arrived: the scan after 05:59 is 06:05's.
        assert_eq!(
            BarTimeGap::between(t - 60_000, t + 5 * 60_000, 60_000),
            Some(BarTimeGap {
                from_ms: t,
                bars: 5
            })
        );
        assert_eq!(
            BarTimeGap::between(t, t + 10_000, 5_000),
            Some(BarTimeGap {
                from_ms: t + 5_000,
                bars: 1
            })
        );
        // Not after the previous one, or no grid: no hole.
        assert_eq!(BarTimeGap::between(t, t, 60_000), None);
        assert_eq!(BarTimeGap::between(t, t - 60_000, 60_000), None);
        assert_eq!(BarTimeGap::between(t, t + 120_000, 0), None);
    }
}
