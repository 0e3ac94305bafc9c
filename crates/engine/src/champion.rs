//! Champion parameter hash check (S §3 "Verification", §17.1): the frozen champion
//! parameters are hashed; a config that claims to be the champion but differs is refused.

use crate::config::EngineConfig;
use sha2::{Digest, Sha256};

/// SHA-256 of the canonical champion parameter string of the default (champion) config.
pub const CHAMPION_HASH: &str = "725afdbaa3783b37432d53b53698aab37001f474ec3fdae105a0def766432c08";

/// The frozen parameters of S §3, in table order, with their values in `cfg`.
pub fn champion_params(cfg: &EngineConfig) -> Vec<(&'static str, String)> {
    vec![
        ("vel_div_threshold", format!("{:?}", cfg.vel_div_threshold)),
        ("vel_div_extreme", format!("{:?}", cfg.vel_div_extreme)),
        ("fixed_tp_pct", format!("{:?}", cfg.fixed_tp_pct)),
        ("max_hold_bars", cfg.max_hold_bars.to_string()),
        ("fraction", format!("{:?}", cfg.fraction)),
        ("min_leverage", format!("{:?}", cfg.min_leverage)),
        ("max_leverage", format!("{:?}", cfg.max_leverage)),
        ("abs_max_leverage", format!("{:?}", cfg.abs_max_leverage)),
        (
            "leverage_convexity",
            format!("{:?}", cfg.leverage_convexity),
        ),
        ("dc_lookback_bars", cfg.dc_lookback_bars.to_string()),
        (
            "dc_min_magnitude_bps",
            format!("{:?}", cfg.dc_min_magnitude_bps),
        ),
        ("min_irp_alignment", format!("{:?}", cfg.min_irp_alignment)),
        (
            "sp_maker_entry_rate",
            format!("{:?}", cfg.sp_maker_entry_rate),
        ),
        (
            "sp_maker_exit_rate",
            format!("{:?}", cfg.sp_maker_exit_rate),
        ),
        ("seed", cfg.seed.to_string()),
    ]
}

/// Hex SHA-256 over `name=value\n` lines of [`champion_params`].
pub fn champion_hash(cfg: &EngineConfig) -> String {
    let mut h = Sha256::new();
    for (k, v) in champion_params(cfg) {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A champion config whose frozen parameters drifted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "champion parameter drift: hash {found} != {expected}; changed: {}. \
     A config marked `champion: true` must keep the frozen values of S §3 \
     (use `champion: false` for a variant)",
    .changed.iter().map(|(k, got, want)| format!("{k} = {got} (champion {want})")).collect::<Vec<_>>().join(", ")
)]
pub struct ChampionDrift {
    pub found: String,
    pub expected: String,
    /// (name, value in the config, champion value)
    pub changed: Vec<(String, String, String)>,
}

/// Checks `cfg` against the frozen champion.
pub fn check_champion(cfg: &EngineConfig) -> Result<(), ChampionDrift> {
    let found = champion_hash(cfg);
    if found == CHAMPION_HASH {
        return Ok(());
    }
    let champion = champion_params(&EngineConfig::champion());
    let changed = champion_params(cfg)
        .into_iter()
        .zip(champion)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((k, a), (_, b))| (k.to_string(), a, b))
        .collect();
    Err(ChampionDrift {
        found,
        expected: CHAMPION_HASH.to_string(),
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_the_champion() {
        assert_eq!(champion_hash(&EngineConfig::default()), CHAMPION_HASH);
        assert!(check_champion(&EngineConfig::champion()).is_ok());
    }

    #[test]
    fn drift_is_refused_with_the_changed_parameter_named() {
        let cfg = EngineConfig {
            fixed_tp_pct: 0.01,
            ..EngineConfig::default()
        };
        let e = check_champion(&cfg).unwrap_err();
        assert_eq!(e.changed.len(), 1);
        assert!(
            e.to_string()
                .contains("fixed_tp_pct = 0.01 (champion 0.0095)"),
            "{e}"
        );
        // Non-champion parameters do not affect the hash.
        let cfg = EngineConfig {
            initial_capital: 1.0,
            ..EngineConfig::default()
        };
        assert!(check_champion(&cfg).is_ok());
    }
}
