//! The system configuration file (`configs/blue.yml`, `configs/green.yml`): a name, whether
//! it is the frozen champion, and the engine parameters.

use dolphin_engine::EngineConfig;
use dolphin_engine::champion::{ChampionDrift, check_champion};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The champion (blue) configuration, embedded for the zero-setup path.
pub const BLUE_YML: &str = include_str!("../../../configs/blue.yml");
/// The green (LONG) configuration, embedded.
pub const GREEN_YML: &str = include_str!("../../../configs/green.yml");

/// Errors loading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {origin}: {source}")]
    Parse {
        origin: String,
        source: serde_yaml::Error,
    },
    #[error("config {origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("config {origin}: {source}")]
    Drift {
        origin: String,
        source: ChampionDrift,
    },
}

/// A whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    pub name: String,
    /// A champion config must keep the frozen parameters (S §17.1).
    #[serde(default)]
    pub champion: bool,
    #[serde(default)]
    pub engine: EngineConfig,
    /// Bar length of the live node in seconds (SPEC D1, B §16.5; default 5). The engine counts
    /// bars, not seconds, so a replay of day files is unaffected; the key sits outside
    /// `engine` so that the champion hash does not change. docs/LIVE.md §5-second bars.
    #[serde(default = "default_bar_seconds")]
    pub bar_seconds: u32,
}

/// SPEC D1: 5-second bars by default.
pub const DEFAULT_BAR_SECONDS: u32 = 5;

fn default_bar_seconds() -> u32 {
    DEFAULT_BAR_SECONDS
}

impl SystemConfig {
    /// Parses YAML text; `origin` names it in errors. Validates and, for a champion config,
    /// checks the champion hash.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let cfg: SystemConfig =
            serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        cfg.engine
            .validate()
            .map_err(|message| ConfigError::Invalid {
                origin: origin.to_string(),
                message,
            })?;
        if cfg.bar_seconds == 0 || 86_400 % cfg.bar_seconds != 0 {
            return Err(ConfigError::Invalid {
                origin: origin.to_string(),
                message: format!(
                    "bar_seconds = {}: must divide a day (1, 5, 60, 300, ...)",
                    cfg.bar_seconds
                ),
            });
        }
        if cfg.champion {
            check_champion(&cfg.engine).map_err(|source| ConfigError::Drift {
                origin: origin.to_string(),
                source,
            })?;
        }
        Ok(cfg)
    }

    /// Loads a YAML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// The embedded champion configuration.
    pub fn blue() -> Self {
        Self::from_yaml(BLUE_YML, "configs/blue.yml (embedded)")
            .expect("embedded blue.yml is valid")
    }

    /// The embedded green configuration.
    pub fn green() -> Self {
        Self::from_yaml(GREEN_YML, "configs/green.yml (embedded)")
            .expect("embedded green.yml is valid")
    }

    /// Named factories of S §13.
    pub fn factory(name: &str) -> Option<Self> {
        let engine = match name {
            "champion" | "blue" => return Some(Self::blue()),
            "green" => return Some(Self::green()),
            "conservative" => EngineConfig::conservative(),
            "growth" => EngineConfig::growth(),
            "aggressive" => EngineConfig::aggressive(),
            _ => return None,
        };
        Some(Self {
            name: name.to_string(),
            champion: false,
            engine,
            bar_seconds: DEFAULT_BAR_SECONDS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_configs_load() {
        let b = SystemConfig::blue();
        assert!(b.champion);
        assert_eq!(b.engine, EngineConfig::champion());
        let g = SystemConfig::green();
        assert_eq!(g.engine, EngineConfig::green());
        for f in ["conservative", "growth", "aggressive"] {
            let c = SystemConfig::factory(f).unwrap();
            assert!(!c.champion);
            c.engine.validate().unwrap();
        }
    }

    #[test]
    fn bar_seconds_default_and_checked() {
        assert_eq!(SystemConfig::blue().bar_seconds, 5);
        let one_minute = format!("{BLUE_YML}\nbar_seconds: 60\n");
        let c = SystemConfig::from_yaml(&one_minute, "x.yml").unwrap();
        assert_eq!(c.bar_seconds, 60);
        // Outside `engine`: the champion check still passes and the engine is unchanged.
        assert_eq!(c.engine, SystemConfig::blue().engine);
        let bad = format!("{BLUE_YML}\nbar_seconds: 7\n");
        let msg = SystemConfig::from_yaml(&bad, "x.yml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bar_seconds = 7"), "{msg}");
    }

    #[test]
    fn drifted_champion_is_refused() {
        let text = BLUE_YML.replace("fixed_tp_pct: 0.0095", "fixed_tp_pct: 0.0100");
        let e = SystemConfig::from_yaml(&text, "test.yml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("test.yml"), "{msg}");
        assert!(
            msg.contains("fixed_tp_pct = 0.01 (champion 0.0095)"),
            "{msg}"
        );
        // The same change is fine on a non-champion config.
        let text = text.replace("champion: true", "champion: false");
        assert!(SystemConfig::from_yaml(&text, "test.yml").is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let text = BLUE_YML.replace("max_hold_bars: 120", "max_hold_barz: 120");
        let msg = SystemConfig::from_yaml(&text, "x.yml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("max_hold_barz"), "{msg}");
        let text = BLUE_YML
            .replace("champion: true", "champion: false")
            .replace("fraction: 0.20", "fraction: -1.0");
        let msg = SystemConfig::from_yaml(&text, "x.yml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("fraction"), "{msg}");
    }
}
