//! Run metrics (SPEC §5 "Metrics", §6): ROI, profit factor, Sharpe, max drawdown, win rate.

use crate::engine::DayResult;
use crate::position::NDTradeRecord;
use serde::{Deserialize, Serialize};

/// `summary.json`: every ratio is a fraction; `null` where undefined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub initial_capital: f64,
    pub final_capital: f64,
    /// final / initial − 1.
    pub roi: f64,
    /// Σ winning net / |Σ losing net|; null with no losing trade.
    pub profit_factor: Option<f64>,
    /// mean / std (ddof 1) of daily returns × √365; null with < 2 days or zero std.
    pub sharpe: Option<f64>,
    /// Largest peak-to-trough fall of capital after each trade, as a fraction of the peak
    /// (the initial capital is the first peak).
    pub max_drawdown: f64,
    /// Share of trades with net pnl > 0; null with no trades.
    pub win_rate: Option<f64>,
    pub trades: usize,
    pub days: usize,
}

impl Summary {
    /// Computes the metrics of a run from its trades (in closing order) and days.
    pub fn compute(initial_capital: f64, trades: &[NDTradeRecord], days: &[DayResult]) -> Self {
        let mut capital = initial_capital;
        let mut peak = initial_capital;
        let mut max_dd: f64 = 0.0;
        let (mut win_sum, mut loss_sum, mut wins) = (0.0, 0.0, 0usize);
        for t in trades {
            capital += t.pnl;
            if capital > peak {
                peak = capital;
            }
            if peak > 0.0 {
                max_dd = max_dd.max((peak - capital) / peak);
            }
            if t.pnl > 0.0 {
                win_sum += t.pnl;
                wins += 1;
            } else if t.pnl < 0.0 {
                loss_sum += t.pnl;
            }
        }
        let final_capital = days.last().map_or(capital, |d| d.capital);
        let profit_factor = (loss_sum < 0.0).then(|| win_sum / loss_sum.abs());
        let win_rate = (!trades.is_empty()).then(|| wins as f64 / trades.len() as f64);
        Self {
            initial_capital,
            final_capital,
            roi: final_capital / initial_capital - 1.0,
            profit_factor,
            sharpe: sharpe(days),
            max_drawdown: max_dd,
            win_rate,
            trades: trades.len(),
            days: days.len(),
        }
    }
}

/// Annualised Sharpe of daily returns `pnl / capital at day start` over every day.
pub fn sharpe(days: &[DayResult]) -> Option<f64> {
    if days.len() < 2 {
        return None;
    }
    let rets: Vec<f64> = days.iter().map(|d| d.pnl / d.start_capital).collect();
    let n = rets.len() as f64;
    let mean = rets.iter().sum::<f64>() / n;
    let var = rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    let std = var.sqrt();
    if std == 0.0 || !std.is_finite() {
        return None;
    }
    Some(mean / std * 365f64.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exits::ExitReason;
    use crate::mc::McStatus;
    use dolphin_core::{Direction, Posture};

    fn trade(pnl: f64) -> NDTradeRecord {
        NDTradeRecord {
            trade_id: 1,
            date: "2025-05-05".parse().unwrap(),
            asset: "X".into(),
            direction: Direction::Short,
            entry_bar: 0,
            exit_bar: 1,
            entry_price: 1.0,
            exit_price: 1.0,
            leverage: 1.0,
            notional: 1.0,
            pnl,
            reason: ExitReason::MaxHold,
            ob_rules: vec![],
            bucket: 3,
            pnl_pct: 0.0,
        }
    }

    fn day(start: f64, pnl: f64) -> DayResult {
        DayResult {
            date: "2025-05-05".parse().unwrap(),
            pnl,
            capital: start + pnl,
            boost: 1.0,
            beta: 0.0,
            mc_status: McStatus::Ok,
            trades: 0,
            posture: Posture::Apex,
            bars: 0,
            start_capital: start,
        }
    }

    #[test]
    fn golden_metrics() {
        // 100 → 110 → 99 → 104.5 ; peak 110, trough 99 → DD 0.1
        let trades = [trade(10.0), trade(-11.0), trade(5.5)];
        let days = [day(100.0, -1.0), day(99.0, 5.5)];
        let s = Summary::compute(100.0, &trades, &days);
        assert_eq!(s.final_capital, 104.5);
        assert!((s.roi - 0.045).abs() < 1e-15);
        assert!((s.max_drawdown - 0.1).abs() < 1e-15);
        assert_eq!(s.profit_factor, Some(15.5 / 11.0));
        assert_eq!(s.win_rate, Some(2.0 / 3.0));
        // daily returns −0.01, 0.0555…: mean 0.02278, std (ddof 1) 0.04636
        let r: [f64; 2] = [-0.01, 5.5 / 99.0];
        let m = (r[0] + r[1]) / 2.0;
        let sd = (((r[0] - m).powi(2) + (r[1] - m).powi(2)) / 1.0).sqrt();
        assert_eq!(s.sharpe, Some(m / sd * 365f64.sqrt()));
    }

    #[test]
    fn nulls_where_undefined() {
        let s = Summary::compute(100.0, &[], &[day(100.0, 0.0)]);
        assert_eq!(s.profit_factor, None);
        assert_eq!(s.win_rate, None);
        assert_eq!(s.sharpe, None);
        assert_eq!(s.max_drawdown, 0.0);
        let s = Summary::compute(100.0, &[trade(1.0)], &[day(100.0, 0.0), day(100.0, 0.0)]);
        assert_eq!(s.profit_factor, None);
        assert_eq!(s.sharpe, None);
        // A drawdown from the initial capital counts (initial capital is the first peak).
        let s = Summary::compute(100.0, &[trade(-20.0)], &[]);
        assert!((s.max_drawdown - 0.2).abs() < 1e-15);
    }
}
