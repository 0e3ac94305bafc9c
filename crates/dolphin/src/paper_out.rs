//! What `dolphin paper` reports when its node stops: a table, and with `--out` the run's
//! `trades.jsonl`, `days.jsonl` and `summary.json` in the backtest's formats (so a paper run
//! and `dolphin backtest` on the same bars compare with `cmp`) plus `paper.json` with the live
//! counters (docs/LIVE.md §5).

use crate::table::render;
use dolphin_engine::Summary;
use dolphin_nautilus::{ActorLog, BarTimeGap};
use dolphin_runtime::{BacktestResult, write_outputs};
use std::path::Path;

/// Latency percentiles of the scans that sent an order, µs (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Latency {
    pub n: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Latency {
    /// `None` when no order was sent.
    pub fn of(samples: &[u64]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_unstable();
        let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Latency {
            n: v.len(),
            p50_us: rank(0.50),
            p99_us: rank(0.99),
            max_us: v[v.len() - 1],
        })
    }
}

/// The outcome of a paper run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaperOutcome {
    /// Capital the run started with (restored from the store when it had one).
    pub start_capital: f64,
    pub end_capital: f64,
    pub days: usize,
    pub trades: usize,
    /// Scans stepped through the engine.
    pub scans_stepped: u64,
    pub scans_skipped: u64,
    pub scans_after_end: u64,
    /// Bar times that never produced a scan (their bars did not arrive: a dropped connection,
    /// a stalled stream), in total and as holes.
    pub bar_times_missed: u64,
    pub bar_time_gaps: Vec<BarTimeGap>,
    pub orders: usize,
    pub fills: usize,
    pub order_problems: usize,
    pub errors: usize,
    pub store_errors: usize,
    pub stale_state_events: u64,
    /// Bar arrival (the bar that completed a scan) → its step done, every scan.
    pub bar_to_step: Option<Latency>,
    /// Bar arrival → order submitted, the scans that sent an order.
    pub bar_to_order: Option<Latency>,
}

impl PaperOutcome {
    /// From the actor's log; `initial_capital` when no day ended.
    pub fn of(log: &ActorLog, initial_capital: f64) -> PaperOutcome {
        let start_capital = log
            .days
            .first()
            .map_or(initial_capital, |d| d.start_capital);
        let end_capital = log.days.last().map_or(start_capital, |d| d.capital);
        PaperOutcome {
            start_capital,
            end_capital,
            days: log.days.len(),
            trades: log.trades.len(),
            scans_stepped: log.bars,
            scans_skipped: log.scans_skipped,
            scans_after_end: log.scans_after_end,
            bar_times_missed: log.bar_time_gaps.iter().map(|g| g.bars).sum(),
            bar_time_gaps: log.bar_time_gaps.clone(),
            orders: log.orders.len(),
            fills: log.fills.len(),
            order_problems: log.order_problems.len(),
            errors: log.errors.len(),
            store_errors: log.store_errors.len(),
            stale_state_events: log.stale_state_events,
            bar_to_step: Latency::of(&log.scan_latency_us),
            bar_to_order: Latency::of(&log.order_latency_us),
        }
    }

    /// The printed table.
    pub fn table(&self) -> String {
        let latency = |l: Option<Latency>| match l {
            Some(l) => format!(
                "p50 {} µs, p99 {} µs, max {} µs ({} scans)",
                l.p50_us, l.p99_us, l.max_us, l.n
            ),
            None => "none".into(),
        };
        let rows = [
            ("start capital", format!("{:.2}", self.start_capital)),
            ("end capital", format!("{:.2}", self.end_capital)),
            ("days ended", self.days.to_string()),
            ("trades", self.trades.to_string()),
            ("scans stepped", self.scans_stepped.to_string()),
            ("scans skipped", self.scans_skipped.to_string()),
            ("scans after the end", self.scans_after_end.to_string()),
            (
                "bar times missed",
                format!(
                    "{} ({} holes)",
                    self.bar_times_missed,
                    self.bar_time_gaps.len()
                ),
            ),
            (
                "orders / fills",
                format!("{} / {}", self.orders, self.fills),
            ),
            ("order problems", self.order_problems.to_string()),
            ("errors", self.errors.to_string()),
            ("store errors", self.store_errors.to_string()),
            ("stale-state events", self.stale_state_events.to_string()),
            ("bar → step", latency(self.bar_to_step)),
            ("bar → order", latency(self.bar_to_order)),
        ];
        render("DOLPHIN paper run", &rows)
    }

    /// `trades.jsonl`, `days.jsonl`, `summary.json` (against the capital the run started
    /// with) and `paper.json` into `out`.
    pub fn write(&self, out: &Path, log: &ActorLog) -> anyhow::Result<()> {
        let result = BacktestResult {
            summary: Summary::compute(self.start_capital, &log.trades, &log.days),
            trades: log.trades.clone(),
            days: log.days.clone(),
            bars: log.bars,
            asset_bars: log.asset_bars,
        };
        write_outputs(out, &result, false)?;
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        dolphin_runtime::report::write_atomic(&out.join("paper.json"), &json)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_percentiles_are_nearest_rank() {
        assert_eq!(Latency::of(&[]), None);
        let l = Latency::of(&[7]).unwrap();
        assert_eq!((l.n, l.p50_us, l.p99_us, l.max_us), (1, 7, 7, 7));
        // 1..=200 shuffled: p50 = the 100th value, p99 = the 198th.
        let v: Vec<u64> = (1..=200).map(|i| (i * 37) % 200 + 1).collect();
        let l = Latency::of(&v).unwrap();
        assert_eq!((l.n, l.p50_us, l.p99_us, l.max_us), (200, 100, 198, 200));
    }
}
