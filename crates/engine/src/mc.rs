//! The MC-Forewarner hook of the engine (seeds B §12): assessed once per day with the
//! day's leverage ceiling; RED halts entries for the day, ORANGE halves `regime_size_mult`.

use crate::config::EngineConfig;
use serde::{Deserialize, Serialize};

/// What the forewarner says about one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McReport {
    /// Share of Monte-Carlo paths whose max drawdown exceeds the catastrophe limit.
    pub catastrophic_probability: f64,
    /// P25(final ROI) / std(final ROI).
    pub envelope_score: f64,
}

/// The day's MC status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum McStatus {
    Ok,
    Orange,
    Red,
}

impl McStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            McStatus::Ok => "OK",
            McStatus::Orange => "ORANGE",
            McStatus::Red => "RED",
        }
    }

    /// B §12: RED when catastrophic_probability > 0.25 or envelope_score < −1.0; ORANGE when
    /// not RED and (envelope_score < 0 or catastrophic_probability > 0.10).
    pub fn classify(report: &McReport, cfg: &EngineConfig) -> McStatus {
        let red = report.catastrophic_probability > cfg.mc_red_catastrophic
            || report.envelope_score < cfg.mc_red_envelope;
        if red {
            McStatus::Red
        } else if report.envelope_score < 0.0
            || report.catastrophic_probability > cfg.mc_orange_catastrophic
        {
            McStatus::Orange
        } else {
            McStatus::Ok
        }
    }
}

/// A forewarner: `assess_config_dict` of the seeds. The engine passes its own configuration
/// with `max_leverage` replaced by `base_max_leverage × day_base_boost`.
pub trait McForewarner: Send + Sync {
    fn assess(&self, cfg: &EngineConfig) -> McReport;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cat: f64, env: f64) -> McStatus {
        McStatus::classify(
            &McReport {
                catastrophic_probability: cat,
                envelope_score: env,
            },
            &EngineConfig::default(),
        )
    }

    #[test]
    fn thresholds_of_b12() {
        assert_eq!(r(0.0, 1.0), McStatus::Ok);
        assert_eq!(r(0.10, 0.0), McStatus::Ok);
        assert_eq!(r(0.11, 0.5), McStatus::Orange);
        assert_eq!(r(0.0, -0.01), McStatus::Orange);
        assert_eq!(r(0.25, -1.0), McStatus::Orange);
        assert_eq!(r(0.26, 1.0), McStatus::Red);
        assert_eq!(r(0.0, -1.01), McStatus::Red);
    }
}
