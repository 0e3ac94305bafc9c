//! NDPosition (the open position) and NDTradeRecord (a closed trade), seeds B §13.3, S §8.3.

use crate::exits::{ExitReason, ObExitRules};
use crate::ob::ObPlacement;
use dolphin_core::{Direction, UtcDate};
use serde::{Deserialize, Serialize};

/// Which OB rules acted on a trade, for the trade log (issue: OB effects visible per trade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObRules {
    /// OB-1: ARS adjusted by depth quality for the chosen asset.
    pub ars_adjusted: bool,
    /// OB-2: confidence boosted.
    pub confirm_boost: bool,
    /// OB-2: confidence dampened.
    pub confirm_dampen: bool,
    /// OB-3: market multiplier ≠ 1 applied to leverage.
    pub market_mult: bool,
    /// OB-5 exit rules.
    pub exit: ObExitRules,
    /// OB edge added at exit (depth_quality > 0.5).
    pub edge: bool,
}

impl ObRules {
    /// Names of the rules that acted, in a fixed order.
    pub fn names(&self) -> Vec<&'static str> {
        self.flags()
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }

    /// The rules named by [`Self::names`]; `Err(name)` for a name that is not a rule.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut r = Self::default();
        for n in names {
            let flag = match n.as_ref() {
                "OB1_ARS" => &mut r.ars_adjusted,
                "OB2_BOOST" => &mut r.confirm_boost,
                "OB2_DAMPEN" => &mut r.confirm_dampen,
                "OB3_MARKET_MULT" => &mut r.market_mult,
                "OB5_CASCADE" => &mut r.exit.cascade,
                "OB5_STRESS" => &mut r.exit.stress,
                "OB5_CALM" => &mut r.exit.calm_favourable,
                "OB5_WITHDRAWAL" => &mut r.exit.withdrawal,
                "OB_EDGE" => &mut r.edge,
                other => return Err(other.to_string()),
            };
            *flag = true;
        }
        Ok(r)
    }

    fn flags(&self) -> [(bool, &'static str); 9] {
        [
            (self.ars_adjusted, "OB1_ARS"),
            (self.confirm_boost, "OB2_BOOST"),
            (self.confirm_dampen, "OB2_DAMPEN"),
            (self.market_mult, "OB3_MARKET_MULT"),
            (self.exit.cascade, "OB5_CASCADE"),
            (self.exit.stress, "OB5_STRESS"),
            (self.exit.calm_favourable, "OB5_CALM"),
            (self.exit.withdrawal, "OB5_WITHDRAWAL"),
            (self.edge, "OB_EDGE"),
        ]
    }

    pub(crate) fn merge_exit(&mut self, r: ObExitRules) {
        self.exit.cascade |= r.cascade;
        self.exit.stress |= r.stress;
        self.exit.calm_favourable |= r.calm_favourable;
        self.exit.withdrawal |= r.withdrawal;
    }
}

/// The open position.
#[derive(Debug, Clone, PartialEq)]
pub struct NDPosition {
    pub trade_id: u32,
    pub asset: String,
    pub(crate) asset_id: usize,
    pub direction: Direction,
    pub entry_price: f64,
    pub notional: f64,
    pub leverage: f64,
    pub fraction: f64,
    pub entry_bar: u64,
    pub entry_date: UtcDate,
    pub entry_vel_div: f64,
    pub bucket: u8,
    pub(crate) vd_adverse_bars: u32,
    pub(crate) placement: Option<ObPlacement>,
    pub(crate) ob_rules: ObRules,
}

/// A closed trade: the record written to `trades.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NDTradeRecord {
    /// 1-based.
    pub trade_id: u32,
    /// UTC date of the entry bar's day.
    pub date: UtcDate,
    pub asset: String,
    /// −1 SHORT, 1 LONG.
    pub direction: Direction,
    /// Global 0-based bar index of the entry.
    pub entry_bar: u64,
    /// Global 0-based bar index of the exit.
    pub exit_bar: u64,
    pub entry_price: f64,
    /// After slippage.
    pub exit_price: f64,
    pub leverage: f64,
    pub notional: f64,
    /// Net PnL in USDT after fees, refunds and OB edge.
    pub pnl: f64,
    pub reason: ExitReason,
    /// OB rules that acted on this trade (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ob_rules: Vec<String>,
    /// Signal bucket at entry (not written to the log).
    #[serde(skip)]
    pub bucket: u8,
    /// `pnl_pct_raw` incl. refunds and edge (not written to the log).
    #[serde(skip)]
    pub pnl_pct: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_round_trip() {
        let r = ObRules {
            ars_adjusted: true,
            market_mult: true,
            exit: ObExitRules {
                withdrawal: true,
                ..ObExitRules::default()
            },
            edge: true,
            ..ObRules::default()
        };
        let names = r.names();
        assert_eq!(
            names,
            ["OB1_ARS", "OB3_MARKET_MULT", "OB5_WITHDRAWAL", "OB_EDGE"]
        );
        assert_eq!(ObRules::from_names(&names), Ok(r));
        assert_eq!(ObRules::from_names(&["OB9"]), Err("OB9".to_string()));
    }
}
