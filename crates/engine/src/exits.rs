//! AlphaExitManager (seeds B §7.1–7.3, SPEC §5 "Exits", §6): exit reasons in priority order
//! and the OB-5 dynamic adjustment of take-profit, stop and max hold.

use crate::ob::{ObMacro, ObSignal};
use dolphin_core::Direction;
use serde::{Deserialize, Serialize};

/// Why a position was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExitReason {
    FixedTp,
    StopLoss,
    VdAdverse,
    MaxHold,
    HibernateHalt,
    SubdayAcbNormalization,
    EndOfData,
}

impl ExitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::FixedTp => "FIXED_TP",
            ExitReason::StopLoss => "STOP_LOSS",
            ExitReason::VdAdverse => "VD_ADVERSE",
            ExitReason::MaxHold => "MAX_HOLD",
            ExitReason::HibernateHalt => "HIBERNATE_HALT",
            ExitReason::SubdayAcbNormalization => "SUBDAY_ACB_NORMALIZATION",
            ExitReason::EndOfData => "END_OF_DATA",
        }
    }
}

/// Take-profit, stop and max hold in force on one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitParams {
    pub tp_pct: f64,
    pub sl_pct: f64,
    pub max_hold: u32,
}

/// Which OB-5 rules changed the exit parameters (bit flags, see [`crate::position::ObRules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObExitRules {
    pub cascade: bool,
    pub stress: bool,
    pub calm_favourable: bool,
    pub withdrawal: bool,
}

/// OB-5 (B §7.2): adjusts the base parameters from the market-wide macro state and the
/// position asset's signal. `pnl_pct` is the position's current return.
pub fn ob_dynamic_exit(
    base: ExitParams,
    macro_state: Option<&ObMacro>,
    signal: Option<&ObSignal>,
    pnl_pct: f64,
    direction: Direction,
) -> (ExitParams, ObExitRules) {
    let mut p = base;
    let mut rules = ObExitRules::default();
    let eff_imb = signal.map(|s| match direction {
        Direction::Short => -s.imbalance_ma5,
        Direction::Long => s.imbalance_ma5,
    });
    let mut stressed = false;
    if let Some(m) = macro_state {
        if m.cascade_count > 0 {
            p.tp_pct *= 1.40;
            p.max_hold = (f64::from(base.max_hold) * 0.50) as u32;
            rules.cascade = true;
            stressed = true;
        } else if m.regime_signal == 1 {
            p.sl_pct = 0.10;
            if pnl_pct > 0.0 {
                p.tp_pct *= 0.60;
            }
            if eff_imb.is_some_and(|e| e < -0.10) {
                p.max_hold = (f64::from(base.max_hold) * 0.40) as u32;
            }
            rules.stress = true;
            stressed = true;
        } else if m.regime_signal == -1 && eff_imb.is_some_and(|e| e > 0.15) {
            p.max_hold = (f64::from(base.max_hold) * 1.50) as u32;
            rules.calm_favourable = true;
        }
    }
    if let Some(s) = signal
        && s.withdrawal_velocity < -0.20
        && !stressed
    {
        p.max_hold = p.max_hold.min((f64::from(base.max_hold) * 0.40) as u32);
        if pnl_pct > 0.0 {
            p.tp_pct *= 0.75;
        }
        rules.withdrawal = true;
    }
    (p, rules)
}

/// The price-driven exits in priority order (B §7.1): FIXED_TP, STOP_LOSS, vel_div adverse
/// turn, MAX_HOLD. `price_pnl` is `None` when the asset has no price on this bar; then only
/// MAX_HOLD can fire (SPEC §6).
pub fn evaluate(
    params: &ExitParams,
    price_pnl: Option<f64>,
    bars_held: u64,
    vd_adverse: bool,
) -> Option<ExitReason> {
    if let Some(pnl) = price_pnl {
        if pnl >= params.tp_pct {
            return Some(ExitReason::FixedTp);
        }
        if pnl <= -params.sl_pct {
            return Some(ExitReason::StopLoss);
        }
        if vd_adverse {
            return Some(ExitReason::VdAdverse);
        }
    }
    if bars_held >= u64::from(params.max_hold) {
        return Some(ExitReason::MaxHold);
    }
    None
}

/// The vel_div adverse-turn counter (B §7.1 item 4, off in the champion): the bars in a row on
/// which `vel_div` stood on the wrong side of `threshold` for the position (SHORT:
/// `vel_div > threshold`; LONG: `vel_div < −threshold`). Returns the new count and whether it
/// reached `confirm_bars`. A NaN `vel_div` is not adverse and resets the count.
pub fn vd_adverse_turn(
    count: u32,
    vel_div: f64,
    direction: Direction,
    threshold: f64,
    confirm_bars: u32,
) -> (u32, bool) {
    let adverse = match direction {
        Direction::Short => vel_div > threshold,
        Direction::Long => vel_div < -threshold,
    };
    let count = if adverse { count + 1 } else { 0 };
    (count, count >= confirm_bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: ExitParams = ExitParams {
        tp_pct: 0.0095,
        sl_pct: 1.0,
        max_hold: 120,
    };

    #[test]
    fn priority_order() {
        assert_eq!(
            evaluate(&BASE, Some(0.0095), 0, false),
            Some(ExitReason::FixedTp)
        );
        assert_eq!(evaluate(&BASE, Some(0.0094), 119, false), None);
        assert_eq!(
            evaluate(&BASE, Some(0.0094), 120, false),
            Some(ExitReason::MaxHold)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.01), 500, true),
            Some(ExitReason::FixedTp)
        );
        assert_eq!(
            evaluate(&BASE, Some(-1.0), 500, true),
            Some(ExitReason::StopLoss)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.0), 5, true),
            Some(ExitReason::VdAdverse)
        );
        // No price: only MAX_HOLD.
        assert_eq!(evaluate(&BASE, None, 119, true), None);
        assert_eq!(evaluate(&BASE, None, 120, false), Some(ExitReason::MaxHold));
    }

    #[test]
    fn ob_dynamic_rules() {
        let mac = |c, r| ObMacro {
            cascade_count: c,
            regime_signal: r,
            agreement_pct: 0.5,
            macro_imbalance: 0.0,
        };
        let sig = |imb, wv| ObSignal {
            imbalance_ma5: imb,
            imbalance_persistence: 0.5,
            withdrawal_velocity: wv,
        };
        let (p, r) = ob_dynamic_exit(BASE, Some(&mac(2, 1)), None, 0.001, Direction::Short);
        assert!((p.tp_pct - 0.0133).abs() < 1e-15);
        assert_eq!(p.max_hold, 60);
        assert!(r.cascade);
        let (p, r) = ob_dynamic_exit(
            BASE,
            Some(&mac(0, 1)),
            Some(&sig(0.2, 0.0)),
            0.001,
            Direction::Short,
        );
        assert_eq!(p.sl_pct, 0.10);
        assert!((p.tp_pct - 0.0057).abs() < 1e-15);
        assert_eq!(p.max_hold, 48);
        assert!(r.stress);
        let (p, r) = ob_dynamic_exit(
            BASE,
            Some(&mac(0, -1)),
            Some(&sig(-0.2, 0.0)),
            -0.001,
            Direction::Short,
        );
        assert_eq!(p.max_hold, 180);
        assert_eq!(p.tp_pct, 0.0095);
        assert!(r.calm_favourable);
        let (p, r) = ob_dynamic_exit(
            BASE,
            Some(&mac(0, -1)),
            Some(&sig(-0.2, -0.3)),
            0.002,
            Direction::Short,
        );
        assert_eq!(p.max_hold, 48);
        assert!((p.tp_pct - 0.0095 * 0.75).abs() < 1e-18);
        assert!(r.calm_favourable && r.withdrawal);
        let (p, _) = ob_dynamic_exit(BASE, None, None, 0.002, Direction::Short);
        assert_eq!(p, BASE);
    }

    #[test]
    fn vd_adverse_turn_needs_confirm_bars_in_a_row() {
        let turn = |c, vd| vd_adverse_turn(c, vd, Direction::Short, 0.02, 3);
        assert_eq!(turn(0, 0.021), (1, false));
        assert_eq!(turn(1, 0.021), (2, false));
        assert_eq!(turn(2, 0.021), (3, true));
        assert_eq!(turn(2, 0.02), (0, false), "at the threshold is not adverse");
        assert_eq!(turn(2, f64::NAN), (0, false));
        let long = |c, vd| vd_adverse_turn(c, vd, Direction::Long, 0.02, 1);
        assert_eq!(long(0, -0.03), (1, true));
        assert_eq!(long(0, 0.03), (0, false));
    }
}
