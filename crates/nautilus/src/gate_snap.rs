//! `_GateSnap` (S §5.3 ⑤/⑧): the gates a bar was decided under, captured before and after
//! `step_bar` to detect state that changed while the bar ran.

use dolphin_core::Posture;
use dolphin_engine::{McStatus, NDAlphaEngine};

/// The gate state around one bar (S §5.3 ⑤ `_GateSnap(acb_boost, acb_beta, posture,
/// mc_gate_open)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSnap {
    pub acb_boost: f64,
    pub acb_beta: f64,
    pub posture: Posture,
    /// The MC-Forewarner gate: open unless the day's status is RED.
    pub mc_gate_open: bool,
}

impl GateSnap {
    /// The engine's day gates with the given posture (S §5.3 ⑤, ⑧).
    pub fn of(engine: &NDAlphaEngine, posture: Posture) -> Self {
        Self {
            acb_boost: engine.day_base_boost(),
            acb_beta: engine.day_beta(),
            posture,
            mc_gate_open: engine.day_mc_status() != McStatus::Red,
        }
    }

    /// Whether `after` differs from `self` (S §5.3 ⑧ `_snap != _snap_post`). Values are compared
    /// bit for bit so that a NaN boost does not count as a change on every bar.
    pub fn is_stale(&self, after: &GateSnap) -> bool {
        self.acb_boost.to_bits() != after.acb_boost.to_bits()
            || self.acb_beta.to_bits() != after.acb_beta.to_bits()
            || self.posture != after.posture
            || self.mc_gate_open != after.mc_gate_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_engine::EngineConfig;

    #[test]
    fn detects_a_posture_or_boost_change_only() {
        let engine = NDAlphaEngine::new(EngineConfig::champion()).unwrap();
        let a = GateSnap::of(&engine, Posture::Apex);
        assert_eq!(
            a,
            GateSnap {
                acb_boost: 1.0,
                acb_beta: 0.0,
                posture: Posture::Apex,
                mc_gate_open: true
            }
        );
        assert!(!a.is_stale(&a));
        assert!(a.is_stale(&GateSnap {
            posture: Posture::Turtle,
            ..a
        }));
        assert!(a.is_stale(&GateSnap {
            acb_boost: 1.2,
            ..a
        }));
        let n = GateSnap {
            acb_boost: f64::NAN,
            ..a
        };
        assert!(!n.is_stale(&n));
    }
}
