//! The once-a-day gates (seeds B §13.1 `process_day` preamble, §10, §12, §14.1 step 3; SPEC
//! D4, D5, D12): at the start of each date the engine reads its ACB (scale 1 base boost and
//! scale 3 beta), asks the MC-Forewarner about the day's leverage ceiling, and applies the
//! survival-stack posture. The result governs every bar of the day:
//! - `abs_max_leverage_eff = max(1, abs_max_leverage × Rm)` (Rm clamped to [0, 1]; a non-finite
//!   Rm counts as 1);
//! - MC ORANGE scales `regime_size_mult` by `mc_orange_scale`; MC RED halts entries;
//! - posture TURTLE or HIBERNATE halts entries (HIBERNATE also force-closes, see the engine).
//!
//! `entries_halted` is what the seeds call `regime_dd_halt`: despite the name it is set by MC
//! RED or a halting posture, never by drawdown.

use crate::acb::{AcbDay, AcbProvider};
use crate::config::EngineConfig;
use crate::mc::{McForewarner, McStatus};
use crate::ob::ObProvider;
use dolphin_core::{Posture, UtcDate};
use serde::{Deserialize, Serialize};

/// The governance context of a day: survival-stack posture and its risk multiplier Rm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayContext {
    pub posture: Posture,
    pub rm: f64,
}

impl Default for DayContext {
    fn default() -> Self {
        Self {
            posture: Posture::Apex,
            rm: 1.0,
        }
    }
}

/// The gates in force for one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayGates {
    /// ACB scale 1 (`day_base_boost`).
    pub base_boost: f64,
    /// ACB scale 3 (`day_beta`).
    pub beta: f64,
    /// MC-Forewarner size scale: `mc_orange_scale` under ORANGE, else 1.
    pub mc_scale: f64,
    pub mc_status: McStatus,
    /// No new entries today: MC RED or posture TURTLE/HIBERNATE (`regime_dd_halt` in B).
    pub entries_halted: bool,
    /// The hard leverage ceiling scaled by Rm (SPEC D4).
    pub abs_max_leverage_eff: f64,
}

impl DayGates {
    /// Before the first day: neutral ACB, MC OK, no halt, the configured ceiling.
    pub fn initial(cfg: &EngineConfig) -> Self {
        Self {
            base_boost: 1.0,
            beta: 0.0,
            mc_scale: 1.0,
            mc_status: McStatus::Ok,
            entries_halted: false,
            abs_max_leverage_eff: cfg.abs_max_leverage,
        }
    }

    /// Reads the day's gates: ACB for `date` (the OB provider lets OB-4 modulate beta), the MC
    /// assessment of the config with `max_leverage × base_boost`, and the posture.
    pub fn open(
        cfg: &EngineConfig,
        date: UtcDate,
        ctx: DayContext,
        acb: Option<&dyn AcbProvider>,
        mc: Option<&dyn McForewarner>,
        ob: Option<&dyn ObProvider>,
    ) -> Self {
        let acb_day = match acb {
            Some(acb) => acb.day(date, ob),
            None => AcbDay::NEUTRAL,
        };
        let (mc_status, mc_scale) = match mc {
            Some(mc) => {
                let mut mc_cfg = cfg.clone();
                mc_cfg.max_leverage = cfg.max_leverage * acb_day.boost;
                let status = McStatus::classify(&mc.assess(&mc_cfg), cfg);
                let scale = if status == McStatus::Orange {
                    cfg.mc_orange_scale
                } else {
                    1.0
                };
                (status, scale)
            }
            None => (McStatus::Ok, 1.0),
        };
        Self {
            base_boost: acb_day.boost,
            beta: acb_day.beta,
            mc_scale,
            mc_status,
            entries_halted: mc_status == McStatus::Red || ctx.posture.halts_entries(),
            abs_max_leverage_eff: abs_max_leverage_eff(cfg.abs_max_leverage, ctx.rm),
        }
    }

    /// A sub-day ACB update (B §7.3, §10.5): replaces boost and beta; returns whether it is the
    /// fall from ≥ `subday_high` to < `subday_low` that force-closes an open position
    /// (SUBDAY_ACB_NORMALIZATION, when `subday_acb_exit` is on).
    pub fn update_acb(&mut self, cfg: &EngineConfig, boost: f64, beta: f64) -> bool {
        let old = self.base_boost;
        self.base_boost = boost;
        self.beta = beta;
        cfg.subday_acb_exit && old >= cfg.subday_high && boost < cfg.subday_low
    }
}

/// SPEC D4: `max(1, abs_max_leverage × Rm)`, Rm clamped to [0, 1], non-finite Rm = 1.
pub fn abs_max_leverage_eff(abs_max_leverage: f64, rm: f64) -> f64 {
    let rm = if rm.is_finite() {
        rm.clamp(0.0, 1.0)
    } else {
        1.0
    };
    (abs_max_leverage * rm).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mc::McReport;

    struct Acb(f64, f64);
    impl AcbProvider for Acb {
        fn day(&self, _: UtcDate, _: Option<&dyn ObProvider>) -> AcbDay {
            AcbDay {
                boost: self.0,
                beta: self.1,
            }
        }
    }
    /// Answers RED when the assessed max_leverage exceeds a limit, else the given report.
    struct Mc(f64, McReport);
    impl McForewarner for Mc {
        fn assess(&self, cfg: &EngineConfig) -> McReport {
            if cfg.max_leverage > self.0 {
                McReport {
                    catastrophic_probability: 1.0,
                    envelope_score: -2.0,
                }
            } else {
                self.1
            }
        }
    }
    const ORANGE: McReport = McReport {
        catastrophic_probability: 0.15,
        envelope_score: 0.5,
    };

    fn date() -> UtcDate {
        UtcDate::new(2025, 5, 4).unwrap()
    }

    #[test]
    fn rm_scales_the_hard_ceiling() {
        // SPEC D4: max(1, 6 × Rm).
        assert_eq!(abs_max_leverage_eff(6.0, 1.0), 6.0);
        assert_eq!(abs_max_leverage_eff(6.0, 0.5), 3.0);
        assert_eq!(abs_max_leverage_eff(6.0, 0.1), 1.0);
        assert_eq!(abs_max_leverage_eff(6.0, 2.0), 6.0);
        assert_eq!(abs_max_leverage_eff(6.0, f64::NAN), 6.0);
    }

    #[test]
    fn mc_sees_the_boosted_ceiling_and_posture_halts() {
        let cfg = EngineConfig::default();
        let ctx = DayContext::default();
        // 5 × 1.2 = 6.0 ≤ 6.0 → ORANGE (0.15 > 0.10): scale 0.5, entries allowed.
        let g = DayGates::open(
            &cfg,
            date(),
            ctx,
            Some(&Acb(1.2, 0.8)),
            Some(&Mc(6.0, ORANGE)),
            None,
        );
        assert_eq!((g.base_boost, g.beta), (1.2, 0.8));
        assert_eq!((g.mc_status, g.mc_scale), (McStatus::Orange, 0.5));
        assert!(!g.entries_halted);
        // 5 × 1.3 = 6.5 > 6.0 → RED: entries halted, scale stays 1.
        let g = DayGates::open(
            &cfg,
            date(),
            ctx,
            Some(&Acb(1.3, 0.8)),
            Some(&Mc(6.0, ORANGE)),
            None,
        );
        assert_eq!((g.mc_status, g.mc_scale), (McStatus::Red, 1.0));
        assert!(g.entries_halted);
        // No providers: neutral; TURTLE halts entries and Rm 0.25 gives max(1, 1.5).
        let turtle = DayContext {
            posture: Posture::Turtle,
            rm: 0.25,
        };
        let g = DayGates::open(&cfg, date(), turtle, None, None, None);
        assert_eq!((g.base_boost, g.beta, g.mc_scale), (1.0, 0.0, 1.0));
        assert!(g.entries_halted);
        assert_eq!(g.abs_max_leverage_eff, 1.5);
    }

    #[test]
    fn subday_exit_fires_on_the_fall_from_1_25_to_below_1_10() {
        let cfg = EngineConfig::default();
        let mut g = DayGates::initial(&cfg);
        assert!(!g.update_acb(&cfg, 1.25, 0.8), "a rise does not fire");
        assert!(g.update_acb(&cfg, 1.09, 0.2));
        assert_eq!((g.base_boost, g.beta), (1.09, 0.2));
        g.update_acb(&cfg, 1.24, 0.2);
        assert!(!g.update_acb(&cfg, 1.0, 0.2), "from 1.24 it does not fire");
        let off = EngineConfig {
            subday_acb_exit: false,
            ..EngineConfig::default()
        };
        g.update_acb(&off, 1.3, 0.2);
        assert!(!g.update_acb(&off, 1.0, 0.2));
    }
}
