//! The five sensor categories of the Survival Stack (seeds B §11.2), as pure functions of one
//! [`SensorReadings`] snapshot. Each returns a factor in [0, 1] (1 = healthy).

use dolphin_engine::McStatus;
use serde::{Deserialize, Serialize};

/// One watchdog snapshot of everything the Survival Stack looks at (B §11.2, §16.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorReadings {
    /// Cat1: live store (Hazelcast) cluster members.
    pub hz_nodes: u32,
    /// Cat1: age of the newest engine heartbeat, seconds.
    pub heartbeat_age_s: f64,
    /// Cat2: the MC-Forewarner's status for the day.
    pub mc_status: McStatus,
    /// Cat2: hours since the newest input data (scan files, features).
    pub staleness_hours: f64,
    /// Cat3: the OB feature stream is stale (no fresh snapshot).
    pub ob_stale: bool,
    /// Cat3: OB depth quality ([0, 2+], 1 = usual depth).
    pub depth_quality: f64,
    /// Cat3: maker fill probability, [0, 1].
    pub fill_prob: f64,
    /// Cat4: a DVOL spike is flagged.
    pub dvol_spike: bool,
    /// Cat4: minutes since the last DVOL spike; absent/`null` = no spike on record (∞).
    #[serde(default)]
    pub t_since_spike_min: Option<f64>,
    /// Cat5: drawdown of capital from its peak, as a fraction (0.12 = 12 %).
    pub drawdown: f64,
}

impl Default for SensorReadings {
    /// A fully healthy system: one store node, fresh heartbeat and data, MC OK, a normal book,
    /// no DVOL spike, no drawdown.
    fn default() -> Self {
        Self {
            hz_nodes: 1,
            heartbeat_age_s: 0.0,
            mc_status: McStatus::Ok,
            staleness_hours: 0.0,
            ob_stale: false,
            depth_quality: 1.0,
            fill_prob: 1.0,
            dvol_spike: false,
            t_since_spike_min: None,
            drawdown: 0.0,
        }
    }
}

/// A reading that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SensorError {
    #[error("sensor field `{field}` must be finite, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    #[error("sensor field `{field}` must be ≥ 0, got {value}")]
    Negative { field: &'static str, value: f64 },
}

impl SensorReadings {
    /// Checks every numeric field is finite and that ages, times, depth, fill probability and
    /// drawdown are not negative. (A sensor giving NaN is a broken sensor, not a healthy one.)
    pub fn validate(&self) -> Result<(), SensorError> {
        // A fixed array, no allocation: the watchdog validates every minute of event time.
        let fields = [
            ("heartbeat_age_s", Some(self.heartbeat_age_s)),
            ("staleness_hours", Some(self.staleness_hours)),
            ("depth_quality", Some(self.depth_quality)),
            ("fill_prob", Some(self.fill_prob)),
            ("drawdown", Some(self.drawdown)),
            ("t_since_spike_min", self.t_since_spike_min),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            if !value.is_finite() {
                return Err(SensorError::NotFinite { field, value });
            }
            if value < 0.0 {
                return Err(SensorError::Negative { field, value });
            }
        }
        Ok(())
    }
}

/// Cat1 binary invariant (B §11.2): 0 when `hz_nodes < 1` or `heartbeat_age_s > 30`, else 1.
pub fn cat1_invariant(r: &SensorReadings) -> f64 {
    if r.hz_nodes < 1 || r.heartbeat_age_s > 30.0 {
        0.0
    } else {
        1.0
    }
}

/// Cat2 structural (B §11.2): `{OK 1.0, ORANGE 0.5, RED 0.1}[mc] × exp(−max(0, h − 6)/3)`.
pub fn cat2_structural(r: &SensorReadings) -> f64 {
    let base = match r.mc_status {
        McStatus::Ok => 1.0,
        McStatus::Orange => 0.5,
        McStatus::Red => 0.1,
    };
    base * (-(r.staleness_hours - 6.0).max(0.0) / 3.0).exp()
}

/// Cat3 microstructure (B §11.2): 0.5 when the OB is stale, else
/// `clamp(0.3 + 0.7·min(depth_quality, fill_prob), 0.3, 1.0)`.
pub fn cat3_microstructure(r: &SensorReadings) -> f64 {
    if r.ob_stale {
        return 0.5;
    }
    let score = r.depth_quality.min(r.fill_prob);
    (0.3 + 0.7 * score).clamp(0.3, 1.0)
}

/// Cat4 environmental (B §11.2): 0.3 at the spike (`dvol_spike && t == 0`), else
/// `0.3 + 0.7·(1 − exp(−t/60))` (60-minute recovery). With no spike time on record: 1.0,
/// unless a spike is flagged now (then 0.3, as at the spike).
pub fn cat4_environmental(r: &SensorReadings) -> f64 {
    match r.t_since_spike_min {
        None if r.dvol_spike => 0.3,
        None => 1.0,
        Some(t) if r.dvol_spike && t == 0.0 => 0.3,
        Some(t) => 0.3 + 0.7 * (1.0 - (-t / 60.0).exp()),
    }
}

/// Cat5 capital (B §11.2): `1 / (1 + exp(30·(drawdown − 0.12)))`.
pub fn cat5_capital(r: &SensorReadings) -> f64 {
    1.0 / (1.0 + (30.0 * (r.drawdown - 0.12)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> SensorReadings {
        SensorReadings::default()
    }

    #[test]
    fn cat1_kill_switch() {
        assert_eq!(cat1_invariant(&r()), 1.0);
        assert_eq!(cat1_invariant(&SensorReadings { hz_nodes: 0, ..r() }), 0.0);
        let hb = |s| SensorReadings {
            heartbeat_age_s: s,
            ..r()
        };
        assert_eq!(cat1_invariant(&hb(30.0)), 1.0);
        assert_eq!(cat1_invariant(&hb(30.001)), 0.0);
    }

    #[test]
    fn cat2_decay_values() {
        let c = |mc, h| {
            cat2_structural(&SensorReadings {
                mc_status: mc,
                staleness_hours: h,
                ..r()
            })
        };
        assert_eq!(c(McStatus::Ok, 0.0), 1.0);
        assert_eq!(c(McStatus::Ok, 6.0), 1.0);
        assert_eq!(c(McStatus::Orange, 3.0), 0.5);
        assert_eq!(c(McStatus::Red, 0.0), 0.1);
        // 9 h stale: exp(−1) = 0.36787944117144233.
        assert_eq!(c(McStatus::Ok, 9.0), 0.36787944117144233);
        // 12 h: exp(−2); ORANGE halves it.
        assert_eq!(c(McStatus::Ok, 12.0), (-2f64).exp());
        assert_eq!(c(McStatus::Orange, 12.0), 0.5 * 0.1353352832366127);
        assert_eq!(c(McStatus::Red, 9.0), 0.1 * 0.36787944117144233);
    }

    #[test]
    fn cat3_values() {
        let c = |stale, dq, fp| {
            cat3_microstructure(&SensorReadings {
                ob_stale: stale,
                depth_quality: dq,
                fill_prob: fp,
                ..r()
            })
        };
        assert_eq!(c(true, 2.0, 1.0), 0.5);
        assert_eq!(c(false, 2.0, 1.0), 1.0);
        assert_eq!(c(false, 2.0, 0.5), 0.3 + 0.35);
        assert_eq!(c(false, 0.0, 1.0), 0.3);
        assert_eq!(c(false, 1.5, 1.5), 1.0);
    }

    #[test]
    fn cat4_recovery() {
        let c = |spike, t| {
            cat4_environmental(&SensorReadings {
                dvol_spike: spike,
                t_since_spike_min: t,
                ..r()
            })
        };
        assert_eq!(c(true, Some(0.0)), 0.3);
        assert_eq!(c(false, None), 1.0);
        assert_eq!(c(true, None), 0.3);
        assert_eq!(c(false, Some(0.0)), 0.3);
        // 60 min after the spike: 0.3 + 0.7·(1 − e^−1) = 0.7424843911799903.
        assert_eq!(c(false, Some(60.0)), 0.3 + 0.7 * (1.0 - (-1f64).exp()));
        assert_eq!(c(false, Some(60.0)), 0.7424843911799903);
        // 30 min: 0.3 + 0.7·(1 − e^−0.5).
        assert_eq!(c(true, Some(30.0)), 0.3 + 0.7 * (1.0 - (-0.5f64).exp()));
        // Recovery is monotone and approaches 1.
        assert!(c(false, Some(600.0)) > 0.99996); // 1 − 0.7·e^−10
    }

    #[test]
    fn cat5_sigmoid_golden() {
        let c = |dd| {
            cat5_capital(&SensorReadings {
                drawdown: dd,
                ..r()
            })
        };
        // Python: 1 / (1 + math.exp(30 * (dd - 0.12))).
        assert_eq!(c(0.05), 0.8909031788043871);
        assert_eq!(c(0.12), 0.5);
        assert_eq!(c(0.20), 0.08317269649392235);
        assert!(c(0.0) > 0.97);
    }

    #[test]
    fn validation() {
        assert!(r().validate().is_ok());
        let e = SensorReadings {
            drawdown: f64::NAN,
            ..r()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sensor field `drawdown` must be finite, got NaN"
        );
        let e = SensorReadings {
            t_since_spike_min: Some(-1.0),
            ..r()
        }
        .validate()
        .unwrap_err();
        assert!(matches!(
            e,
            SensorError::Negative {
                field: "t_since_spike_min",
                ..
            }
        ));
    }
}
