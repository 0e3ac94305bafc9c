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
    /// TF-spread recovery (B §19 TODO-6, off in the champion): [`tf_recovery`].
    TfRecovery,
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
            ExitReason::TfRecovery => "TF_RECOVERY",
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
/// turn, TF-spread recovery (TODO-6), MAX_HOLD. `price_pnl` is `None` when the asset has no
/// price on this bar; then only MAX_HOLD can fire (SPEC §6).
pub fn evaluate(
    params: &ExitParams,
    price_pnl: Option<f64>,
    bars_held: u64,
    vd_adverse: bool,
    tf_recovered: bool,
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
        if tf_recovered {
            return Some(ExitReason::TfRecovery);
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

/// The TF-spread recovery exit's parameters (B §19 TODO-6; `studies/todo6-tf-spread`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfParams {
    /// Exhaustion: exit in profit once the spread has shrunk to this fraction of its size at
    /// entry.
    pub exhaust_ratio: f64,
    /// Flip: exit whatever the pnl once the spread stands on the other side by this fraction
    /// of its size at entry.
    pub flip_ratio: f64,
    /// Bars held before either rule can fire.
    pub min_bars: u32,
}

/// TF-spread recovery (B §19 TODO-6, designed from B §13.3: the exit manager is set up with
/// the entry bar's `v50_vel` and `v750_vel`; their difference is the time-frame spread
/// `vel_div`, SPEC D2). With `e` the spread's size on the entry side at entry (SHORT:
/// `e = −entry_vel_div`, LONG: `e = entry_vel_div`) and `x` the same signed value now:
/// * exhaustion: `x ≤ exhaust_ratio · e` while `pnl_pct > 0` (the impulse that opened the
///   trade has recovered: bank the profit);
/// * flip: `x ≤ −flip_ratio · e` whatever the pnl (the regime reversed).
///
/// Neither fires before `min_bars` bars held, with a NaN spread, or when the entry spread was
/// not on the entry side (`e ≤ 0`). The caller asks only on a bar with a price.
pub fn tf_recovery(
    p: &TfParams,
    entry_vel_div: f64,
    vel_div: f64,
    direction: Direction,
    pnl_pct: f64,
    bars_held: u64,
) -> bool {
    let side = match direction {
        Direction::Short => -1.0,
        Direction::Long => 1.0,
    };
    let (e, x) = (side * entry_vel_div, side * vel_div);
    if bars_held < u64::from(p.min_bars) || e.is_nan() || e <= 0.0 || x.is_nan() {
        return false;
    }
    let exhausted = pnl_pct > 0.0 && x <= p.exhaust_ratio * e;
    let flipped = x <= -p.flip_ratio * e;
    exhausted || flipped
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
            evaluate(&BASE, Some(0.0095), 0, false, false),
            Some(ExitReason::FixedTp)
        );
        assert_eq!(evaluate(&BASE, Some(0.0094), 119, false, false), None);
        assert_eq!(
            evaluate(&BASE, Some(0.0094), 120, false, false),
            Some(ExitReason::MaxHold)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.01), 500, true, false),
            Some(ExitReason::FixedTp)
        );
        assert_eq!(
            evaluate(&BASE, Some(-1.0), 500, true, false),
            Some(ExitReason::StopLoss)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.0), 5, true, false),
            Some(ExitReason::VdAdverse)
        );
        // No price: only MAX_HOLD.
        assert_eq!(evaluate(&BASE, None, 119, true, false), None);
        assert_eq!(
            evaluate(&BASE, None, 120, false, false),
            Some(ExitReason::MaxHold)
        );
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

    /// The worked examples of `studies/todo6-tf-spread/README.md`: exhaustion 0.25, flip 0.5,
    /// 5 bars. A SHORT entered at vel_div −0.0625 has `e = 0.0625`: exhaustion line
    /// `x ≤ 0.015625` (vel_div ≥ −0.015625), flip line `x ≤ −0.03125` (vel_div ≥ +0.03125).
    /// The values are binary-exact, so the lines themselves are tested.
    const TF: TfParams = TfParams {
        exhaust_ratio: 0.25,
        flip_ratio: 0.5,
        min_bars: 5,
    };

    #[test]
    fn tf_recovery_short_exhaustion_needs_profit() {
        let short = |vd, pnl| tf_recovery(&TF, -0.0625, vd, Direction::Short, pnl, 10);
        assert!(!short(-0.03, 0.004), "spread 0.03 still above 0.015625");
        assert!(short(-0.015625, 0.004), "on the exhaustion line, in profit");
        assert!(short(-0.01, 0.004));
        assert!(!short(-0.015625, -0.004), "exhausted but in loss");
        assert!(!short(-0.015625, 0.0), "break-even is not profit");
        assert!(!short(-0.0156251, 0.004), "just outside the line");
    }

    #[test]
    fn tf_recovery_short_flip_fires_whatever_the_pnl() {
        let short = |vd, pnl| tf_recovery(&TF, -0.0625, vd, Direction::Short, pnl, 10);
        assert!(short(0.03125, -0.004), "on the flip line, in loss");
        assert!(short(0.05, -0.02));
        assert!(
            !short(0.03, -0.004),
            "crossed zero, not by half the entry spread"
        );
        assert!(
            !short(0.0, -0.004),
            "at zero: exhausted, but in loss and not flipped"
        );
        assert!(short(0.0, 0.001), "at zero in profit: exhaustion");
    }

    #[test]
    fn tf_recovery_waits_min_bars_and_ignores_nan() {
        let at = |bars| tf_recovery(&TF, -0.0625, 0.1, Direction::Short, -0.004, bars);
        assert!(!at(0));
        assert!(!at(4));
        assert!(at(5));
        assert!(!tf_recovery(
            &TF,
            -0.0625,
            f64::NAN,
            Direction::Short,
            0.004,
            10
        ));
        assert!(!tf_recovery(
            &TF,
            f64::NAN,
            0.1,
            Direction::Short,
            0.004,
            10
        ));
        // Entry spread not on the entry side (e ≤ 0): no reference size, no exit.
        assert!(!tf_recovery(&TF, 0.01, 0.1, Direction::Short, -0.004, 10));
        assert!(!tf_recovery(&TF, 0.0, 0.1, Direction::Short, -0.004, 10));
    }

    #[test]
    fn tf_recovery_long_mirrors_the_short() {
        let long = |vd, pnl| tf_recovery(&TF, 0.0625, vd, Direction::Long, pnl, 10);
        assert!(!long(0.03, 0.004));
        assert!(long(0.015625, 0.004), "exhaustion line");
        assert!(!long(0.015625, -0.004));
        assert!(long(-0.03125, -0.004), "flip line");
        assert!(!long(-0.03, -0.004));
        // A LONG entered on a negative spread has no reference size.
        assert!(!tf_recovery(
            &TF,
            -0.0625,
            -0.1,
            Direction::Long,
            -0.004,
            10
        ));
        // exhaust_ratio 0: the spread must be back to zero.
        let zero = TfParams {
            exhaust_ratio: 0.0,
            ..TF
        };
        assert!(tf_recovery(&zero, 0.0625, 0.0, Direction::Long, 0.001, 10));
        assert!(!tf_recovery(
            &zero,
            0.0625,
            0.001,
            Direction::Long,
            0.001,
            10
        ));
    }

    #[test]
    fn tf_recovery_ranks_after_the_vd_turn_and_before_max_hold() {
        assert_eq!(
            evaluate(&BASE, Some(0.0), 5, false, true),
            Some(ExitReason::TfRecovery)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.0), 5, true, true),
            Some(ExitReason::VdAdverse)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.0095), 5, false, true),
            Some(ExitReason::FixedTp)
        );
        assert_eq!(
            evaluate(&BASE, Some(-1.0), 5, false, true),
            Some(ExitReason::StopLoss)
        );
        assert_eq!(
            evaluate(&BASE, Some(0.0), 500, false, true),
            Some(ExitReason::TfRecovery)
        );
        // No price: the TF exit cannot fire, MAX_HOLD still can.
        assert_eq!(evaluate(&BASE, None, 119, false, true), None);
        assert_eq!(
            evaluate(&BASE, None, 120, false, true),
            Some(ExitReason::MaxHold)
        );
        assert_eq!(ExitReason::TfRecovery.as_str(), "TF_RECOVERY");
    }
}
