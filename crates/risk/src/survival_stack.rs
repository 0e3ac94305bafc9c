//! The Survival Stack (seeds B §11, S §7; SPEC D4, D5): five sensor categories → a target
//! risk multiplier, bounded recovery → `Rm ∈ [0, 1]`, and a posture with hysteresis.
//!
//! * Combination (B §11.3): `r_target = Cat1·Cat5·min(Cat2, Cat4)·Cat3`, halved when at least
//!   two of Cat2, Cat3, Cat4 are below 0.8 (correlated collapse).
//! * Recovery (B §11.4): a lower target is taken at once; a higher one is approached with
//!   `alpha = min(1, 0.02·dt_min)`, `step = min(alpha·(target − last), 0.05·dt_min)`.
//! * Posture (B §11.5): Rm ≥ 0.90 APEX, ≥ 0.75 STALKER, ≥ 0.50 TURTLE, else HIBERNATE.
//! * Hysteresis (B §11.6), per evaluation (the watchdog's cycle; B says "bars"): going down
//!   needs 2 consecutive evaluations whose Rm maps to a more severe posture than the current
//!   one, and moves to the posture of the latest of them; going up needs 5 consecutive
//!   evaluations at a less severe posture and moves to the most severe posture seen in those
//!   5 (the level that held throughout). An evaluation at the current posture resets both
//!   counts. The very first evaluation sets the posture directly (there is no prior posture to
//!   protect). Decision: Cat1 = 0 (total failure) bypasses hysteresis and gives HIBERNATE at
//!   once, as B §11.2's comment "→ HIBERNATE immediately" says.

use crate::sensors::{
    SensorError, SensorReadings, cat1_invariant, cat2_structural, cat3_microstructure,
    cat4_environmental, cat5_capital,
};
use dolphin_core::Posture;
use serde::{Deserialize, Serialize};

/// Survival Stack parameters; `Default` is B §11 / §18.3 (the "deliberately tight" values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurvivalConfig {
    /// B §11.5: Rm ≥ this is APEX. 0.90.
    pub apex_threshold: f64,
    /// B §11.5: Rm ≥ this is STALKER. 0.75.
    pub stalker_threshold: f64,
    /// B §11.5: Rm ≥ this is TURTLE, below HIBERNATE. 0.50.
    pub turtle_threshold: f64,
    /// B §11.6: consecutive evaluations needed to move to a more severe posture. 2.
    pub hysteresis_down: u32,
    /// B §11.6: consecutive evaluations needed to move to a less severe posture. 5.
    pub hysteresis_up: u32,
    /// B §11.3: a category below this counts as degraded. 0.8.
    pub degraded_below: f64,
    /// B §11.3: this many degraded categories (of Cat2, Cat3, Cat4) trigger the penalty. 2.
    pub collapse_min_degraded: u32,
    /// B §11.3: the correlated-collapse multiplier. 0.5.
    pub collapse_penalty: f64,
    /// B §11.4: recovery gain per minute (`alpha = min(1, 0.02·dt_min)`).
    pub recovery_alpha_per_min: f64,
    /// B §11.4: maximum recovery per minute (5 %/minute).
    pub recovery_max_per_min: f64,
    /// Decision (module doc): Cat1 = 0 gives HIBERNATE without hysteresis.
    pub cat1_bypasses_hysteresis: bool,
}

impl Default for SurvivalConfig {
    fn default() -> Self {
        Self {
            apex_threshold: 0.90,
            stalker_threshold: 0.75,
            turtle_threshold: 0.50,
            hysteresis_down: 2,
            hysteresis_up: 5,
            degraded_below: 0.8,
            collapse_min_degraded: 2,
            collapse_penalty: 0.5,
            recovery_alpha_per_min: 0.02,
            recovery_max_per_min: 0.05,
            cat1_bypasses_hysteresis: true,
        }
    }
}

/// Errors of the Survival Stack.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SurvivalError {
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error("time step dt_min must be finite and ≥ 0, got {0}")]
    BadTimeStep(f64),
    #[error("survival config: {0}")]
    Config(String),
}

impl SurvivalConfig {
    /// Checks thresholds are ordered in [0, 1], hysteresis counts ≥ 1 and rates ≥ 0.
    pub fn validate(&self) -> Result<(), SurvivalError> {
        let t = [
            self.turtle_threshold,
            self.stalker_threshold,
            self.apex_threshold,
        ];
        let in_unit = t.iter().all(|v| (0.0..=1.0).contains(v));
        let ordered = t[0] <= t[1] && t[1] <= t[2];
        if !(in_unit && ordered) {
            return Err(SurvivalError::Config(format!(
                "thresholds must satisfy 0 ≤ turtle ≤ stalker ≤ apex ≤ 1, got {} / {} / {}",
                t[0], t[1], t[2]
            )));
        }
        if self.hysteresis_down == 0 || self.hysteresis_up == 0 {
            return Err(SurvivalError::Config(
                "hysteresis_down and hysteresis_up must be ≥ 1".into(),
            ));
        }
        for (name, v) in [
            ("degraded_below", self.degraded_below),
            ("collapse_penalty", self.collapse_penalty),
            ("recovery_alpha_per_min", self.recovery_alpha_per_min),
            ("recovery_max_per_min", self.recovery_max_per_min),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(SurvivalError::Config(format!(
                    "`{name}` must be finite and ≥ 0, got {v}"
                )));
            }
        }
        if self.collapse_penalty > 1.0 {
            return Err(SurvivalError::Config(format!(
                "`collapse_penalty` must be ≤ 1, got {}",
                self.collapse_penalty
            )));
        }
        Ok(())
    }
}

/// The stack's output after one evaluation (B §11, S §7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurvivalState {
    /// The risk multiplier after bounded recovery, in [0, 1].
    pub rm: f64,
    /// The combined target before recovery (B §11.3).
    pub r_target: f64,
    /// The posture after hysteresis.
    pub posture: Posture,
    /// The posture `rm` maps to without hysteresis.
    pub raw_posture: Posture,
    pub cat1: f64,
    pub cat2: f64,
    pub cat3: f64,
    pub cat4: f64,
    pub cat5: f64,
    /// How many of Cat2, Cat3, Cat4 were below 0.8.
    pub degraded: u32,
}

impl SurvivalState {
    /// The state before any evaluation: Rm 1.0, APEX, every sensor healthy.
    pub const INITIAL: SurvivalState = SurvivalState {
        rm: 1.0,
        r_target: 1.0,
        posture: Posture::Apex,
        raw_posture: Posture::Apex,
        cat1: 1.0,
        cat2: 1.0,
        cat3: 1.0,
        cat4: 1.0,
        cat5: 1.0,
        degraded: 0,
    };

    /// The value the watchdog writes to `DOLPHIN_SAFETY["latest"]` (S §10: `{posture, Rm, …}`).
    pub fn to_safety_json(&self) -> serde_json::Value {
        serde_json::json!({
            "posture": self.posture.as_str(),
            "Rm": self.rm,
            "r_target": self.r_target,
            "raw_posture": self.raw_posture.as_str(),
            "cat1": self.cat1,
            "cat2": self.cat2,
            "cat3": self.cat3,
            "cat4": self.cat4,
            "cat5": self.cat5,
        })
    }
}

/// SPEC D4 / S §7: the Rm-scaled hard leverage ceiling `max(1.0, abs_max × Rm)`.
pub fn abs_max_leverage_eff(abs_max: f64, rm: f64) -> f64 {
    (abs_max * rm).max(1.0)
}

/// B §11.5: the posture an Rm maps to, without hysteresis.
pub fn posture_for_rm(rm: f64, cfg: &SurvivalConfig) -> Posture {
    if rm >= cfg.apex_threshold {
        Posture::Apex
    } else if rm >= cfg.stalker_threshold {
        Posture::Stalker
    } else if rm >= cfg.turtle_threshold {
        Posture::Turtle
    } else {
        Posture::Hibernate
    }
}

/// B §11.3 hierarchical combination: `(r_target, degraded)` from the five categories.
pub fn combine(cats: [f64; 5], cfg: &SurvivalConfig) -> (f64, u32) {
    let [c1, c2, c3, c4, c5] = cats;
    let f_environment = c2.min(c4);
    let mut r = c1 * c5 * f_environment * c3;
    let degraded = [c2, c3, c4]
        .iter()
        .filter(|v| **v < cfg.degraded_below)
        .count() as u32;
    if degraded >= cfg.collapse_min_degraded {
        r *= cfg.collapse_penalty;
    }
    (r, degraded)
}

/// B §11.4 bounded recovery: instant drop to a lower target; otherwise
/// `last + min(min(1, 0.02·dt)·(target − last), 0.05·dt)`.
pub fn bounded_recovery(last: f64, target: f64, dt_min: f64, cfg: &SurvivalConfig) -> f64 {
    if target < last {
        target
    } else {
        let alpha = (cfg.recovery_alpha_per_min * dt_min).min(1.0);
        let step = (alpha * (target - last)).min(cfg.recovery_max_per_min * dt_min);
        last + step
    }
}

/// `SurvivalStack` (B §11): holds the last Rm and the hysteresis state between evaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalStack {
    config: SurvivalConfig,
    state: SurvivalState,
    evaluated: bool,
    down_count: u32,
    up_count: u32,
    /// The most severe raw posture seen in the current upward streak.
    up_floor: Posture,
}

impl SurvivalStack {
    /// A stack at Rm 1.0 / APEX.
    pub fn new(config: SurvivalConfig) -> Result<Self, SurvivalError> {
        config.validate()?;
        Ok(Self {
            config,
            state: SurvivalState::INITIAL,
            evaluated: false,
            down_count: 0,
            up_count: 0,
            up_floor: Posture::Apex,
        })
    }

    /// The parameters in use.
    pub fn config(&self) -> &SurvivalConfig {
        &self.config
    }

    /// The state after the last evaluation ([`SurvivalState::INITIAL`] before the first).
    pub fn state(&self) -> SurvivalState {
        self.state
    }

    /// `compute_rm`: one evaluation with readings taken `dt_min` minutes after the previous
    /// one. Invalid readings are rejected and leave the stack unchanged.
    pub fn update(
        &mut self,
        readings: &SensorReadings,
        dt_min: f64,
    ) -> Result<SurvivalState, SurvivalError> {
        readings.validate()?;
        if !dt_min.is_finite() || dt_min < 0.0 {
            return Err(SurvivalError::BadTimeStep(dt_min));
        }
        let cfg = &self.config;
        let cats = [
            cat1_invariant(readings),
            cat2_structural(readings),
            cat3_microstructure(readings),
            cat4_environmental(readings),
            cat5_capital(readings),
        ];
        let (r_target, degraded) = combine(cats, cfg);
        let rm = bounded_recovery(self.state.rm, r_target, dt_min, cfg).clamp(0.0, 1.0);
        let raw = posture_for_rm(rm, cfg);
        let posture = self.hysteresis(raw, cats[0] == 0.0);
        self.evaluated = true;
        self.state = SurvivalState {
            rm,
            r_target,
            posture,
            raw_posture: raw,
            cat1: cats[0],
            cat2: cats[1],
            cat3: cats[2],
            cat4: cats[3],
            cat5: cats[4],
            degraded,
        };
        Ok(self.state)
    }

    /// B §11.6 hysteresis (rules in the module doc).
    fn hysteresis(&mut self, raw: Posture, cat1_failed: bool) -> Posture {
        let current = self.state.posture;
        let reset = |s: &mut Self| {
            s.down_count = 0;
            s.up_count = 0;
        };
        if cat1_failed && self.config.cat1_bypasses_hysteresis {
            reset(self);
            return Posture::Hibernate;
        }
        if !self.evaluated {
            reset(self);
            return raw;
        }
        // `Posture` orders APEX < STALKER < TURTLE < HIBERNATE (greater = more severe).
        if raw > current {
            self.up_count = 0;
            self.down_count += 1;
            if self.down_count >= self.config.hysteresis_down {
                reset(self);
                return raw;
            }
        } else if raw < current {
            self.down_count = 0;
            self.up_floor = if self.up_count == 0 {
                raw
            } else {
                self.up_floor.max(raw)
            };
            self.up_count += 1;
            if self.up_count >= self.config.hysteresis_up {
                reset(self);
                return self.up_floor;
            }
        } else {
            reset(self);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_engine::McStatus;
    use proptest::prelude::*;

    fn cfg() -> SurvivalConfig {
        SurvivalConfig::default()
    }

    #[test]
    fn posture_thresholds_at_the_boundaries() {
        let p = |rm| posture_for_rm(rm, &cfg());
        assert_eq!(p(1.0), Posture::Apex);
        assert_eq!(p(0.90), Posture::Apex);
        assert_eq!(p(0.8999999), Posture::Stalker);
        assert_eq!(p(0.75), Posture::Stalker);
        assert_eq!(p(0.7499999), Posture::Turtle);
        assert_eq!(p(0.50), Posture::Turtle);
        assert_eq!(p(0.4999999), Posture::Hibernate);
        assert_eq!(p(0.0), Posture::Hibernate);
    }

    #[test]
    fn combination_and_collapse_penalty() {
        let c = cfg();
        // All healthy.
        assert_eq!(combine([1.0; 5], &c), (1.0, 0));
        // min(Cat2, Cat4) is used, Cat3 multiplies: 1·0.9·min(0.85, 0.95)·0.9.
        assert_eq!(
            combine([1.0, 0.85, 0.9, 0.95, 0.9], &c),
            (0.9 * 0.85 * 0.9, 0)
        );
        // One degraded category: no penalty.
        assert_eq!(combine([1.0, 0.5, 1.0, 1.0, 1.0], &c), (0.5, 1));
        // Two degraded (Cat2 0.5 ORANGE, Cat3 0.5 stale OB): 0.5·0.5·0.5 = 0.125.
        assert_eq!(combine([1.0, 0.5, 0.5, 1.0, 1.0], &c), (0.125, 2));
        // Three degraded.
        assert_eq!(combine([1.0, 0.5, 0.5, 0.3, 1.0], &c), (0.3 * 0.5 * 0.5, 3));
        // 0.8 exactly is not degraded.
        assert_eq!(combine([1.0, 0.8, 0.8, 0.8, 1.0], &c).1, 0);
        // Cat1 = 0 kills everything.
        assert_eq!(combine([0.0, 1.0, 1.0, 1.0, 1.0], &c).0, 0.0);
    }

    #[test]
    fn recovery_is_bounded_at_5_percent_per_minute() {
        let c = cfg();
        // From 0 to a target of 1 with 1-minute steps: alpha = 0.02 → step = 0.02·(1 − last),
        // below the 0.05 cap.
        assert_eq!(bounded_recovery(0.0, 1.0, 1.0, &c), 0.02);
        // 10-minute step: alpha 0.2 → 0.2, capped at 0.5? no: min(0.2·1, 0.5) = 0.2.
        assert_eq!(bounded_recovery(0.0, 1.0, 10.0, &c), 0.2);
        // 60-minute step: alpha 1 → 1.0, capped at min(1.0, 3.0) = 1.0.
        assert_eq!(bounded_recovery(0.0, 1.0, 60.0, &c), 1.0);
        // 30-minute step: alpha 0.6 → 0.6 ≤ 1.5 cap.
        assert_eq!(bounded_recovery(0.4, 1.0, 30.0, &c), 0.4 + 0.6 * 0.6);
        // Drops are instant.
        assert_eq!(bounded_recovery(0.9, 0.1, 0.0, &c), 0.1);
        // dt = 0: no recovery.
        assert_eq!(bounded_recovery(0.3, 1.0, 0.0, &c), 0.3);
        // The 5 %/min cap binds only when alpha·gap > 0.05·dt, i.e. never for alpha = 0.02·dt
        // and a gap ≤ 1 — unless the gain is raised: with gain 0.5/min a 1-minute step
        // from 0 to 1 would be 0.5 but is capped at 0.05.
        let fast = SurvivalConfig {
            recovery_alpha_per_min: 0.5,
            ..c
        };
        assert_eq!(bounded_recovery(0.0, 1.0, 1.0, &fast), 0.05);
    }

    #[test]
    fn recovery_sequence_from_hibernate() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        let dead = SensorReadings {
            hz_nodes: 0,
            ..SensorReadings::default()
        };
        let st = s.update(&dead, 1.0).unwrap();
        assert_eq!((st.rm, st.posture), (0.0, Posture::Hibernate));
        // Healthy again (target T = Cat5(0) = 1/(1 + e^−3.6)), one evaluation per minute:
        // rm_k = T·(1 − 0.98^k).
        let healthy = SensorReadings::default();
        let target = crate::sensors::cat5_capital(&healthy);
        assert_eq!(target, 0.973403006423134); // Python repr
        let mut last = 0.0;
        for k in 1..=200 {
            let st = s.update(&healthy, 1.0).unwrap();
            assert_eq!(st.r_target, target);
            assert!(st.rm - last <= 0.05 + 1e-15);
            assert!((st.rm - target * (1.0 - 0.98f64.powi(k))).abs() < 1e-12);
            last = st.rm;
        }
        assert!(last > 0.95);
        assert_eq!(s.state().posture, Posture::Apex);
    }

    #[test]
    fn recovery_cap_sequence_with_a_fast_gain() {
        // Gain 0.5/min: alpha·gap exceeds the 5 %/min cap, so Rm climbs 0.05 per minute
        // until the remaining gap is small: 0.05, 0.10, …
        let mut s = SurvivalStack::new(SurvivalConfig {
            recovery_alpha_per_min: 0.5,
            ..cfg()
        })
        .unwrap();
        let dead = SensorReadings {
            hz_nodes: 0,
            ..SensorReadings::default()
        };
        s.update(&dead, 0.0).unwrap();
        let healthy = SensorReadings::default();
        let target = crate::sensors::cat5_capital(&healthy);
        let mut last = 0.0;
        for k in 1..=18 {
            let st = s.update(&healthy, 1.0).unwrap();
            assert!(
                (st.rm - 0.05 * f64::from(k)).abs() < 1e-12,
                "minute {k}: {}",
                st.rm
            );
            assert!(st.rm - last <= 0.05 + 1e-12);
            last = st.rm;
        }
        // Minute 19: gap 0.0734 → alpha·gap = 0.0367 < 0.05, the gain binds.
        let st = s.update(&healthy, 1.0).unwrap();
        assert!((st.rm - (last + 0.5 * (target - last))).abs() < 1e-12);
        // A 2-minute step may rise up to 0.10.
        let mut s2 = SurvivalStack::new(SurvivalConfig {
            recovery_alpha_per_min: 0.5,
            ..cfg()
        })
        .unwrap();
        s2.update(&dead, 0.0).unwrap();
        assert!((s2.update(&healthy, 2.0).unwrap().rm - 0.10).abs() < 1e-12);
    }

    fn at_rm(target: f64) -> SensorReadings {
        // Cat5 alone sets the target: solve 1/(1 + exp(30(dd − 0.12))) = target.
        let dd = 0.12 + ((1.0 / target) - 1.0).ln() / 30.0;
        SensorReadings {
            drawdown: dd.max(0.0),
            ..SensorReadings::default()
        }
    }

    #[test]
    fn hysteresis_two_down_five_up() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        // First evaluation sets the posture directly.
        assert_eq!(s.update(&at_rm(0.95), 0.0).unwrap().posture, Posture::Apex);
        // One evaluation at STALKER level: stays APEX.
        let st = s.update(&at_rm(0.8), 1.0).unwrap();
        assert_eq!(
            (st.raw_posture, st.posture),
            (Posture::Stalker, Posture::Apex)
        );
        // Second consecutive: goes down.
        assert_eq!(
            s.update(&at_rm(0.8), 1.0).unwrap().posture,
            Posture::Stalker
        );
        // A single TURTLE reading, then back at STALKER: the down count resets.
        assert_eq!(
            s.update(&at_rm(0.6), 1.0).unwrap().posture,
            Posture::Stalker
        );
        let st = s.update(&at_rm(0.8), 60.0).unwrap(); // recovers to ≥ 0.75 within 60 min
        assert_eq!(st.raw_posture, Posture::Stalker);
        assert_eq!(st.posture, Posture::Stalker);
        assert_eq!(
            s.update(&at_rm(0.6), 1.0).unwrap().posture,
            Posture::Stalker
        );
        assert_eq!(s.update(&at_rm(0.6), 1.0).unwrap().posture, Posture::Turtle);
        // Up: need 5 consecutive evaluations at a better level. Rm recovers slowly, so use
        // large steps (alpha = 1 at 50+ minutes).
        for i in 1..=4 {
            let st = s.update(&at_rm(0.95), 60.0).unwrap();
            assert_eq!(st.raw_posture, Posture::Apex, "step {i}");
            assert_eq!(st.posture, Posture::Turtle, "step {i}");
        }
        assert_eq!(s.update(&at_rm(0.95), 60.0).unwrap().posture, Posture::Apex);
    }

    #[test]
    fn up_moves_to_the_level_that_held_throughout() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        assert_eq!(
            s.update(&at_rm(0.3), 0.0).unwrap().posture,
            Posture::Hibernate
        );
        // 4 evaluations at STALKER level, then 1 at APEX → 5 better ones, the worst STALKER.
        for _ in 0..4 {
            assert_eq!(
                s.update(&at_rm(0.8), 60.0).unwrap().posture,
                Posture::Hibernate
            );
        }
        let st = s.update(&at_rm(0.95), 60.0).unwrap();
        assert_eq!(
            (st.raw_posture, st.posture),
            (Posture::Apex, Posture::Stalker)
        );
    }

    #[test]
    fn cat1_failure_bypasses_hysteresis() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        s.update(&SensorReadings::default(), 0.0).unwrap();
        let st = s
            .update(
                &SensorReadings {
                    heartbeat_age_s: 45.0,
                    ..SensorReadings::default()
                },
                1.0,
            )
            .unwrap();
        assert_eq!((st.cat1, st.rm, st.posture), (0.0, 0.0, Posture::Hibernate));
        // Without the bypass it would take 2 evaluations.
        let mut s = SurvivalStack::new(SurvivalConfig {
            cat1_bypasses_hysteresis: false,
            ..cfg()
        })
        .unwrap();
        s.update(&SensorReadings::default(), 0.0).unwrap();
        let dead = SensorReadings {
            hz_nodes: 0,
            ..SensorReadings::default()
        };
        assert_eq!(s.update(&dead, 1.0).unwrap().posture, Posture::Apex);
        assert_eq!(s.update(&dead, 1.0).unwrap().posture, Posture::Hibernate);
    }

    #[test]
    fn mc_red_and_stale_data_go_to_hibernate() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        let red = SensorReadings {
            mc_status: McStatus::Red,
            ..SensorReadings::default()
        };
        let st = s.update(&red, 0.0).unwrap();
        let cat5 = crate::sensors::cat5_capital(&red);
        assert_eq!(st.rm, cat5 * 0.1);
        assert_eq!(st.posture, Posture::Hibernate);
        assert_eq!(st.degraded, 1);
    }

    #[test]
    fn invalid_readings_leave_the_stack_unchanged() {
        let mut s = SurvivalStack::new(cfg()).unwrap();
        let before = s.clone();
        let bad = SensorReadings {
            depth_quality: f64::NAN,
            ..SensorReadings::default()
        };
        assert!(s.update(&bad, 1.0).is_err());
        assert!(matches!(
            s.update(&SensorReadings::default(), -1.0),
            Err(SurvivalError::BadTimeStep(_))
        ));
        assert_eq!(s, before);
    }

    #[test]
    fn leverage_ceiling_of_d4() {
        assert_eq!(abs_max_leverage_eff(6.0, 1.0), 6.0);
        assert_eq!(abs_max_leverage_eff(6.0, 0.6), 6.0 * 0.6);
        assert_eq!(abs_max_leverage_eff(6.0, 0.1), 1.0);
        assert_eq!(abs_max_leverage_eff(6.0, 0.0), 1.0);
    }

    #[test]
    fn safety_json_shape() {
        let j = SurvivalState::INITIAL.to_safety_json();
        assert_eq!(j["posture"], "APEX");
        assert_eq!(j["Rm"], 1.0);
    }

    fn readings() -> impl Strategy<Value = SensorReadings> {
        (
            0u32..3,
            0.0f64..60.0,
            prop_oneof![
                Just(McStatus::Ok),
                Just(McStatus::Orange),
                Just(McStatus::Red)
            ],
            0.0f64..24.0,
            any::<bool>(),
            0.0f64..2.5,
            0.0f64..1.0,
            any::<bool>(),
            proptest::option::of(0.0f64..600.0),
            0.0f64..1.0,
        )
            .prop_map(|(n, hb, mc, st, obs, dq, fp, sp, t, dd)| SensorReadings {
                hz_nodes: n,
                heartbeat_age_s: hb,
                mc_status: mc,
                staleness_hours: st,
                ob_stale: obs,
                depth_quality: dq,
                fill_prob: fp,
                dvol_spike: sp,
                t_since_spike_min: t,
                drawdown: dd,
            })
    }

    proptest! {
        #[test]
        fn rm_stays_in_unit_interval_and_recovery_is_bounded(
            steps in proptest::collection::vec((readings(), 0.0f64..120.0), 1..60)
        ) {
            let mut s = SurvivalStack::new(cfg()).unwrap();
            let mut last = s.state().rm;
            for (r, dt) in steps {
                let st = s.update(&r, dt).unwrap();
                prop_assert!((0.0..=1.0).contains(&st.rm));
                prop_assert!((0.0..=1.0).contains(&st.r_target));
                for c in [st.cat1, st.cat2, st.cat3, st.cat4, st.cat5] {
                    prop_assert!((0.0..=1.0).contains(&c));
                }
                prop_assert!(st.rm - last <= 0.05 * dt + 1e-12);
                // A rise never overshoots the target; a fall lands on it.
                if st.rm > last { prop_assert!(st.rm <= st.r_target + 1e-12); }
                if st.r_target < last { prop_assert_eq!(st.rm, st.r_target); }
                last = st.rm;
            }
        }
    }
}
