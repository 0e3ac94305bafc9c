//! What a trader reads off a run (the tear sheet's numbers), derived from its trades and days
//! with the project's metric definitions (SPEC §5 "Metrics", §6; [`Summary::compute`]).

use crate::run_dir::RunDir;
use dolphin_core::{Posture, UtcDate};
use dolphin_engine::Summary;
use serde::Serialize;
use std::collections::BTreeMap;

/// One day of the run (`days.jsonl`), with its return.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyRow {
    pub date: UtcDate,
    pub start_capital: f64,
    pub pnl: f64,
    /// pnl / capital at the day's start.
    pub ret: f64,
    pub capital: f64,
    pub trades: u32,
    pub posture: Posture,
    pub boost: f64,
    pub beta: f64,
    pub mc_status: String,
}

/// One calendar month: compounded return of its days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthRow {
    pub year: i32,
    pub month: u32,
    /// Capital at the end of the month's last day / capital at the start of its first − 1.
    pub ret: f64,
    pub pnl: f64,
    pub trades: u32,
    pub days: usize,
}

/// Trades grouped by a key (exit reason or asset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    pub key: String,
    pub trades: usize,
    pub wins: usize,
    pub pnl: f64,
    pub avg_leverage: f64,
    pub avg_bars_held: f64,
}

/// Equal-width bins `[edges[i], edges[i+1])` (the last bin is closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<usize>,
}

impl Histogram {
    /// `⌈√n⌉` bins (at most `max_bins`, at least 1) over `[min, max]` of the values.
    pub fn of(values: &[f64], max_bins: usize) -> Self {
        let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if vals.is_empty() {
            return Self {
                edges: vec![],
                counts: vec![],
            };
        }
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let bins = if hi > lo {
            ((vals.len() as f64).sqrt().ceil() as usize).clamp(1, max_bins.max(1))
        } else {
            1
        };
        let width = if hi > lo {
            (hi - lo) / bins as f64
        } else {
            1.0
        };
        let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
        let mut counts = vec![0usize; bins];
        for v in vals {
            let i = (((v - lo) / width) as usize).min(bins - 1);
            counts[i] += 1;
        }
        Self { edges, counts }
    }
}

/// The derived statistics of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStats {
    pub summary: Summary,
    pub total_pnl: f64,
    pub best_trade: Option<f64>,
    pub worst_trade: Option<f64>,
    pub avg_trade: Option<f64>,
    pub avg_leverage: Option<f64>,
    pub avg_bars_held: Option<f64>,
    /// Capital at the start and after each trade (closing order).
    pub equity: Vec<f64>,
    /// Drawdown from the running peak at each equity point, as a fraction ≤ 0.
    pub underwater: Vec<f64>,
    pub daily: Vec<DailyRow>,
    pub monthly: Vec<MonthRow>,
    pub exits: Vec<GroupRow>,
    pub assets: Vec<GroupRow>,
    pub pnl_hist: Histogram,
    pub leverage_hist: Histogram,
    pub hold_hist: Histogram,
    /// `summary.json` disagrees with what its trades and days give (field names).
    pub summary_mismatch: Vec<String>,
}

impl RunStats {
    /// Derives the statistics of a run folder.
    pub fn of(run: &RunDir) -> Self {
        let initial = run.initial_capital();
        let summary = Summary::compute(initial, &run.trades, &run.days);
        let mut equity = Vec::with_capacity(run.trades.len() + 1);
        let mut underwater = Vec::with_capacity(run.trades.len() + 1);
        let (mut capital, mut peak) = (initial, initial);
        equity.push(capital);
        underwater.push(0.0);
        for t in &run.trades {
            capital += t.pnl;
            peak = peak.max(capital);
            equity.push(capital);
            underwater.push(if peak > 0.0 {
                capital / peak - 1.0
            } else {
                0.0
            });
        }
        let daily: Vec<DailyRow> = run
            .days
            .iter()
            .map(|d| DailyRow {
                date: d.date,
                start_capital: d.start_capital,
                pnl: d.pnl,
                ret: if d.start_capital != 0.0 {
                    d.pnl / d.start_capital
                } else {
                    0.0
                },
                capital: d.capital,
                trades: d.trades,
                posture: d.posture,
                boost: d.boost,
                beta: d.beta,
                mc_status: d.mc_status.as_str().to_string(),
            })
            .collect();
        let pnls: Vec<f64> = run.trades.iter().map(|t| t.pnl).collect();
        let levs: Vec<f64> = run.trades.iter().map(|t| t.leverage).collect();
        let holds: Vec<f64> = run
            .trades
            .iter()
            .map(|t| t.exit_bar.saturating_sub(t.entry_bar) as f64)
            .collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let mut summary_mismatch = Vec::new();
        if let Some(s) = &run.summary {
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
            if !close(s.final_capital, summary.final_capital) {
                summary_mismatch.push("final_capital".into());
            }
            if s.trades != summary.trades {
                summary_mismatch.push("trades".into());
            }
            if s.days != summary.days {
                summary_mismatch.push("days".into());
            }
            if !close(s.max_drawdown, summary.max_drawdown) {
                summary_mismatch.push("max_drawdown".into());
            }
        }
        Self {
            total_pnl: pnls.iter().sum(),
            best_trade: pnls.iter().copied().reduce(f64::max),
            worst_trade: pnls.iter().copied().reduce(f64::min),
            avg_trade: mean(&pnls),
            avg_leverage: mean(&levs),
            avg_bars_held: mean(&holds),
            monthly: monthly(&daily),
            exits: group(run, |t| t.reason.as_str().to_string()),
            assets: group(run, |t| t.asset.clone()),
            pnl_hist: Histogram::of(&pnls, 30),
            leverage_hist: Histogram::of(&levs, 20),
            hold_hist: Histogram::of(&holds, 20),
            equity,
            underwater,
            daily,
            summary,
            summary_mismatch,
        }
    }
}

fn monthly(daily: &[DailyRow]) -> Vec<MonthRow> {
    let mut out: Vec<MonthRow> = Vec::new();
    let mut start = 0.0;
    for d in daily {
        let same = out
            .last()
            .is_some_and(|m| m.year == d.date.year && m.month == d.date.month);
        if !same {
            start = d.start_capital;
            out.push(MonthRow {
                year: d.date.year,
                month: d.date.month,
                ret: 0.0,
                pnl: 0.0,
                trades: 0,
                days: 0,
            });
        }
        let m = out.last_mut().expect("pushed above");
        m.pnl += d.pnl;
        m.trades += d.trades;
        m.days += 1;
        m.ret = if start != 0.0 {
            d.capital / start - 1.0
        } else {
            0.0
        };
    }
    out
}

fn group(run: &RunDir, key: impl Fn(&dolphin_engine::NDTradeRecord) -> String) -> Vec<GroupRow> {
    let mut by: BTreeMap<String, Vec<&dolphin_engine::NDTradeRecord>> = BTreeMap::new();
    for t in &run.trades {
        by.entry(key(t)).or_default().push(t);
    }
    let mut rows: Vec<GroupRow> = by
        .into_iter()
        .map(|(k, ts)| {
            let n = ts.len() as f64;
            GroupRow {
                key: k,
                trades: ts.len(),
                wins: ts.iter().filter(|t| t.pnl > 0.0).count(),
                pnl: ts.iter().map(|t| t.pnl).sum(),
                avg_leverage: ts.iter().map(|t| t.leverage).sum::<f64>() / n,
                avg_bars_held: ts
                    .iter()
                    .map(|t| t.exit_bar.saturating_sub(t.entry_bar) as f64)
                    .sum::<f64>()
                    / n,
            }
        })
        .collect();
    // Most trades first; ties by key (already sorted by key, the sort is stable).
    rows.sort_by_key(|r| std::cmp::Reverse(r.trades));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_cover_every_value() {
        let h = Histogram::of(&[1.0, 2.0, 3.0, 4.0, 5.0], 20);
        // ⌈√5⌉ = 3 bins of width 4/3 over [1, 5].
        assert_eq!(h.counts, vec![2, 1, 2]);
        assert_eq!(h.edges.len(), 4);
        assert_eq!(h.edges[3], 5.0);
        let one = Histogram::of(&[2.0, 2.0], 20);
        assert_eq!(one.counts, vec![2]);
        assert!(Histogram::of(&[f64::NAN], 5).counts.is_empty());
    }
}
