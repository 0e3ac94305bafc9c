//! AlphaSignalGenerator: the vel_div threshold gate and its confidence (seeds B §4.1), and
//! OB sub-system 2, per-asset imbalance confirmation (B §4.3).

use crate::ob::ObSignal;
use dolphin_core::Direction;

/// Signal strength in [0, 1]: `clamp((threshold − vel_div)/(threshold − extreme), 0, 1)`
/// (B §4.1 `ratio`, §6.1 `strength_score`, §10.4 before the cube). NaN gives 0.
#[inline]
pub fn strength(vel_div: f64, threshold: f64, extreme: f64) -> f64 {
    let r = (threshold - vel_div) / (threshold - extreme);
    if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) }
}

/// Whether `vel_div` passes the entry gate: SHORT `vel_div < threshold`, LONG
/// `vel_div > threshold` (B §4.1, strict). NaN never passes.
#[inline]
pub fn passes_gate(vel_div: f64, threshold: f64, direction: Direction) -> bool {
    match direction {
        Direction::Short => vel_div < threshold,
        Direction::Long => vel_div > threshold,
    }
}

/// Whether `vel_div` is at or beyond `level` in the signal's direction (SHORT: ≤, LONG: ≥).
#[inline]
pub fn at_or_beyond(vel_div: f64, level: f64, direction: Direction) -> bool {
    match direction {
        Direction::Short => vel_div <= level,
        Direction::Long => vel_div >= level,
    }
}

/// Confidence of a signal: `0.50 + ratio × 0.40`, in [0.50, 0.90] (B §4.1).
#[inline]
pub fn confidence(vel_div: f64, threshold: f64, extreme: f64) -> f64 {
    0.50 + strength(vel_div, threshold, extreme) * 0.40
}

/// What OB sub-system 2 did to a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObConfirm {
    /// OB confirms: confidence × `1 + min(0.15, eff_imb × persistence × 0.5)`.
    Boost(f64),
    /// Strong persistent contradiction: hard skip.
    Veto,
    /// Moderate contradiction: confidence × `max(0.85, 1 − |eff_imb| × persistence × 0.4)`.
    Dampen(f64),
    /// No effect.
    Neutral,
}

/// OB-2 (B §4.3). `eff_imb` is the imbalance seen from the trade's side: for SHORT
/// `−imbalance_ma5` (sell pressure positive), for LONG `+imbalance_ma5`.
pub fn ob_confirm(sig: &ObSignal, direction: Direction) -> ObConfirm {
    let eff_imb = match direction {
        Direction::Short => -sig.imbalance_ma5,
        Direction::Long => sig.imbalance_ma5,
    };
    let persistence = sig.imbalance_persistence;
    if eff_imb > 0.10 {
        ObConfirm::Boost(1.0 + (eff_imb * persistence * 0.5).min(0.15))
    } else if eff_imb < -0.15 && persistence > 0.60 {
        ObConfirm::Veto
    } else if eff_imb < -0.10 {
        ObConfirm::Dampen((1.0 - eff_imb.abs() * persistence * 0.4).max(0.85))
    } else {
        ObConfirm::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f64 = -0.02;
    const E: f64 = -0.05;

    #[test]
    fn confidence_golden_values() {
        // ratio = (−0.02 − vd)/0.03
        assert_eq!(confidence(-0.02, T, E), 0.5);
        assert!((confidence(-0.035, T, E) - 0.70).abs() < 1e-15);
        assert_eq!(confidence(-0.05, T, E), 0.9);
        assert_eq!(confidence(-0.20, T, E), 0.9);
        assert_eq!(confidence(0.01, T, E), 0.5);
        assert!((strength(-0.026, T, E) - 0.2).abs() < 1e-12);
        assert_eq!(strength(f64::NAN, T, E), 0.0);
    }

    #[test]
    fn gate_is_strict_and_directional() {
        assert!(!passes_gate(-0.02, T, Direction::Short));
        assert!(passes_gate(-0.0200001, T, Direction::Short));
        assert!(!passes_gate(f64::NAN, T, Direction::Short));
        assert!(passes_gate(0.011, 0.01, Direction::Long));
        assert!(!passes_gate(0.01, 0.01, Direction::Long));
        // LONG strength uses the same formula with the LONG thresholds.
        assert!((strength(0.025, 0.01, 0.04) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ob_confirmation_rules() {
        let s = |imb: f64, pers: f64| ObSignal {
            imbalance_ma5: imb,
            imbalance_persistence: pers,
            withdrawal_velocity: 0.0,
        };
        // SHORT: negative imbalance (more asks) confirms.
        match ob_confirm(&s(-0.2, 0.5), Direction::Short) {
            ObConfirm::Boost(m) => assert!((m - 1.05).abs() < 1e-12),
            o => panic!("{o:?}"),
        }
        match ob_confirm(&s(-0.9, 1.0), Direction::Short) {
            ObConfirm::Boost(m) => assert_eq!(m, 1.15),
            o => panic!("{o:?}"),
        }
        assert_eq!(ob_confirm(&s(0.2, 0.7), Direction::Short), ObConfirm::Veto);
        match ob_confirm(&s(0.2, 0.5), Direction::Short) {
            ObConfirm::Dampen(m) => assert!((m - 0.96).abs() < 1e-12),
            o => panic!("{o:?}"),
        }
        assert_eq!(
            ob_confirm(&s(0.05, 0.9), Direction::Short),
            ObConfirm::Neutral
        );
        assert_eq!(ob_confirm(&s(0.2, 0.7), Direction::Long), {
            ObConfirm::Boost(1.0 + (0.2f64 * 0.7 * 0.5).min(0.15))
        });
    }
}
