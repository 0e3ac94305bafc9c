//! ACBv6 parameters (seeds B §10.2, §10.3, §18.2; SPEC §3 "External factors", "ACB scale 3").
//!
//! Every threshold of the adaptive circuit breaker lives here as a plain serde struct whose
//! `Default` is the frozen, validated ACBv6 set. Field names are snake case; the seeds' upper
//! case constant names (`FUNDING_VERY_BEARISH`, `BETA_HIGH`, …) are accepted as aliases.

use serde::{Deserialize, Serialize};

/// A configuration value that makes the ACB rules meaningless.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AcbConfigError {
    /// A value is NaN or infinite.
    #[error("ACB config field `{field}` must be finite, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    /// The strong ("very") threshold of a factor is on the wrong side of its mild threshold.
    #[error("ACB config: `{strong}` ({strong_value}) must be {relation} `{mild}` ({mild_value})")]
    Order {
        strong: &'static str,
        strong_value: f64,
        mild: &'static str,
        mild_value: f64,
        relation: &'static str,
    },
    /// A value outside its allowed range.
    #[error("ACB config field `{field}` = {value} is outside {range}")]
    Range {
        field: &'static str,
        value: f64,
        range: &'static str,
    },
}

/// ACBv6 thresholds and weights (B §10.2 table, B §18.2 frozen values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcbConfig {
    /// B §10.2: funding below this is "very bearish" (weight `strong_weight`). −0.0001.
    #[serde(alias = "FUNDING_VERY_BEARISH")]
    pub funding_very_bearish: f64,
    /// B §10.2: funding below this (but not very bearish) is "mild" (weight `mild_weight`). 0.0.
    #[serde(alias = "FUNDING_BEARISH")]
    pub funding_bearish: f64,
    /// B §10.2: DVOL above this is "extreme". 80.
    #[serde(alias = "DVOL_EXTREME")]
    pub dvol_extreme: f64,
    /// B §10.2: DVOL above this (not extreme) is "elevated". 55.
    #[serde(alias = "DVOL_ELEVATED")]
    pub dvol_elevated: f64,
    /// B §10.2: Fear & Greed below this is "extreme fear". 25.
    #[serde(alias = "FNG_EXTREME_FEAR")]
    pub fng_extreme_fear: f64,
    /// B §10.2: Fear & Greed below this (not extreme) is "fear". 40.
    #[serde(alias = "FNG_FEAR")]
    pub fng_fear: f64,
    /// B §10.2: taker buy ratio below this is "selling". 0.80.
    #[serde(alias = "TAKER_SELLING")]
    pub taker_selling: f64,
    /// B §10.2: taker buy ratio below this (not selling) is "mild selling". 0.90.
    #[serde(alias = "TAKER_MILD_SELLING")]
    pub taker_mild_selling: f64,
    /// B §10.2: signal weight of a strong threshold. 1.0.
    pub strong_weight: f64,
    /// B §10.2: signal weight of a mild threshold. 0.5.
    pub mild_weight: f64,
    /// B §10.2: the boost curve starts at this many signals. 1.0.
    pub min_signals_for_boost: f64,
    /// B §10.2: coefficient `c` of `1 + c·ln(1 + signals)` (the "log_0.5" curve). 0.5.
    pub boost_log_coeff: f64,
    /// B §10.3 / §18.2: beta when w750 ≥ threshold. 0.8.
    #[serde(alias = "BETA_HIGH")]
    pub beta_high: f64,
    /// B §10.3 / §18.2: beta when w750 < threshold. 0.2.
    #[serde(alias = "BETA_LOW")]
    pub beta_low: f64,
    /// B §10.3 / §18.2: percentile of all loaded dates' w750 used as threshold. 60.
    #[serde(alias = "W750_THRESHOLD_PCT")]
    pub w750_threshold_pct: f64,
    /// SPEC §3: w750 of a date = median over this many first rows of its day file. 10.
    pub w750_first_rows: usize,
    /// B §9.4 OB-4: beta multiplier under macro withdrawal stress (`regime_signal == 1`):
    /// "+25 % max" → 1.25.
    pub ob4_stress_beta_mult: f64,
}

impl Default for AcbConfig {
    fn default() -> Self {
        Self {
            funding_very_bearish: -0.0001,
            funding_bearish: 0.0,
            dvol_extreme: 80.0,
            dvol_elevated: 55.0,
            fng_extreme_fear: 25.0,
            fng_fear: 40.0,
            taker_selling: 0.80,
            taker_mild_selling: 0.90,
            strong_weight: 1.0,
            mild_weight: 0.5,
            min_signals_for_boost: 1.0,
            boost_log_coeff: 0.5,
            beta_high: 0.8,
            beta_low: 0.2,
            w750_threshold_pct: 60.0,
            w750_first_rows: 10,
            ob4_stress_beta_mult: 1.25,
        }
    }
}

impl AcbConfig {
    /// Checks that every value is finite, that each factor's strong threshold lies beyond its
    /// mild one (B §10.2 table), and that the percentile is in [0, 100].
    pub fn validate(&self) -> Result<(), AcbConfigError> {
        let finite = [
            ("funding_very_bearish", self.funding_very_bearish),
            ("funding_bearish", self.funding_bearish),
            ("dvol_extreme", self.dvol_extreme),
            ("dvol_elevated", self.dvol_elevated),
            ("fng_extreme_fear", self.fng_extreme_fear),
            ("fng_fear", self.fng_fear),
            ("taker_selling", self.taker_selling),
            ("taker_mild_selling", self.taker_mild_selling),
            ("strong_weight", self.strong_weight),
            ("mild_weight", self.mild_weight),
            ("min_signals_for_boost", self.min_signals_for_boost),
            ("boost_log_coeff", self.boost_log_coeff),
            ("beta_high", self.beta_high),
            ("beta_low", self.beta_low),
            ("w750_threshold_pct", self.w750_threshold_pct),
            ("ob4_stress_beta_mult", self.ob4_stress_beta_mult),
        ];
        for (field, value) in finite {
            if !value.is_finite() {
                return Err(AcbConfigError::NotFinite { field, value });
            }
        }
        let below = |strong: &'static str, s: f64, mild: &'static str, m: f64| {
            if s <= m {
                Ok(())
            } else {
                Err(AcbConfigError::Order {
                    strong,
                    strong_value: s,
                    mild,
                    mild_value: m,
                    relation: "at most",
                })
            }
        };
        below(
            "funding_very_bearish",
            self.funding_very_bearish,
            "funding_bearish",
            self.funding_bearish,
        )?;
        below(
            "fng_extreme_fear",
            self.fng_extreme_fear,
            "fng_fear",
            self.fng_fear,
        )?;
        below(
            "taker_selling",
            self.taker_selling,
            "taker_mild_selling",
            self.taker_mild_selling,
        )?;
        if self.dvol_extreme < self.dvol_elevated {
            return Err(AcbConfigError::Order {
                strong: "dvol_extreme",
                strong_value: self.dvol_extreme,
                mild: "dvol_elevated",
                mild_value: self.dvol_elevated,
                relation: "at least",
            });
        }
        if !(0.0..=100.0).contains(&self.w750_threshold_pct) {
            return Err(AcbConfigError::Range {
                field: "w750_threshold_pct",
                value: self.w750_threshold_pct,
                range: "[0, 100]",
            });
        }
        if self.w750_first_rows == 0 {
            return Err(AcbConfigError::Range {
                field: "w750_first_rows",
                value: 0.0,
                range: "[1, ∞)",
            });
        }
        for (field, value) in [
            ("strong_weight", self.strong_weight),
            ("mild_weight", self.mild_weight),
            ("beta_high", self.beta_high),
            ("beta_low", self.beta_low),
            ("ob4_stress_beta_mult", self.ob4_stress_beta_mult),
        ] {
            if value < 0.0 {
                return Err(AcbConfigError::Range {
                    field,
                    value,
                    range: "[0, ∞)",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_frozen_acbv6_values() {
        let c = AcbConfig::default();
        assert_eq!(c.funding_very_bearish, -0.0001);
        assert_eq!(c.dvol_extreme, 80.0);
        assert_eq!(c.fng_extreme_fear, 25.0);
        assert_eq!(c.taker_selling, 0.8);
        assert_eq!(c.beta_high, 0.8);
        assert_eq!(c.beta_low, 0.2);
        assert_eq!(c.w750_threshold_pct, 60.0);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn seed_constant_names_are_accepted() {
        let c: AcbConfig =
            serde_json::from_str(r#"{"BETA_HIGH": 0.9, "W750_THRESHOLD_PCT": 70}"#).unwrap();
        assert_eq!(c.beta_high, 0.9);
        assert_eq!(c.w750_threshold_pct, 70.0);
        assert_eq!(c.beta_low, 0.2);
        assert!(serde_json::from_str::<AcbConfig>(r#"{"beta_hgh": 0.9}"#).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let c = AcbConfig {
            dvol_extreme: 50.0,
            ..AcbConfig::default()
        };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "ACB config: `dvol_extreme` (50) must be at least `dvol_elevated` (55)"
        );
        let c = AcbConfig {
            w750_threshold_pct: 101.0,
            ..AcbConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(AcbConfigError::Range {
                field: "w750_threshold_pct",
                ..
            })
        ));
        let c = AcbConfig {
            beta_high: f64::NAN,
            ..AcbConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(AcbConfigError::NotFinite {
                field: "beta_high",
                ..
            })
        ));
    }
}
