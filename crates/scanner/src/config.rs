//! Scanner configuration (SPEC §3 "Eigenvalue scanner", decision D2 for the slow window).

use crate::error::ScanError;
use serde::{Deserialize, Serialize};

/// Configuration of the eigenvalue scanner (SPEC §3; slow window per SPEC D2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// The four correlation windows in bars, ascending (SPEC §3: 50, 150, 300, 750). The first
    /// two also give `instability_50` / `instability_150`.
    pub windows: [usize; 4],
    /// Window whose velocity is subtracted in `vel_div = v50 − v_slow` (SPEC D2: default 750;
    /// must be one of `windows[1..]`).
    pub slow_window: usize,
    /// Rebuild the windowed sums from scratch every this many bars (None = every `w` bars
    /// for window `w`), so incremental rounding cannot drift.
    pub rebuild_every: Option<usize>,
    /// Relative residual tolerance of the iterative eigen solver: stop when
    /// `‖Cv − θv‖ ≤ tolerance · θ`. The eigenvalue error is then ≤ `tolerance · θ` always and
    /// ≈ `(tolerance · θ)² / gap` in practice.
    pub tolerance: f64,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            windows: [50, 150, 300, 750],
            slow_window: 750,
            rebuild_every: None,
            tolerance: 1e-10,
        }
    }
}

impl ScannerConfig {
    /// Checks the fields; the error names the offending field.
    pub fn validate(&self) -> Result<(), ScanError> {
        let w = self.windows;
        if w[0] < 2 {
            return Err(ScanError::InvalidConfig {
                field: "windows",
                reason: format!("windows must be ≥ 2 bars, got {}", w[0]),
            });
        }
        if !(w[0] < w[1] && w[1] < w[2] && w[2] < w[3]) {
            return Err(ScanError::InvalidConfig {
                field: "windows",
                reason: format!("windows must be strictly ascending, got {w:?}"),
            });
        }
        if !w[1..].contains(&self.slow_window) {
            return Err(ScanError::InvalidConfig {
                field: "slow_window",
                reason: format!(
                    "slow_window {} is not one of windows[1..] = {:?}",
                    self.slow_window,
                    &w[1..]
                ),
            });
        }
        if let Some(k) = self.rebuild_every
            && k == 0
        {
            return Err(ScanError::InvalidConfig {
                field: "rebuild_every",
                reason: "must be ≥ 1 bar".into(),
            });
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0 && self.tolerance < 1e-3) {
            return Err(ScanError::InvalidConfig {
                field: "tolerance",
                reason: format!("must be in (0, 1e-3), got {}", self.tolerance),
            });
        }
        Ok(())
    }

    /// Index into `windows` of the slow window.
    pub fn slow_index(&self) -> usize {
        self.windows
            .iter()
            .position(|&w| w == self.slow_window)
            .unwrap_or(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_slow_is_750() {
        let c = ScannerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.slow_index(), 3);
        let c150 = ScannerConfig {
            slow_window: 150,
            ..ScannerConfig::default()
        };
        assert_eq!(c150.slow_index(), 1);
    }

    #[test]
    fn rejects_bad_fields_naming_them() {
        let bad = ScannerConfig {
            slow_window: 50,
            ..ScannerConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ScanError::InvalidConfig {
                field: "slow_window",
                ..
            })
        ));
        let bad = ScannerConfig {
            windows: [50, 40, 300, 750],
            ..ScannerConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ScanError::InvalidConfig {
                field: "windows",
                ..
            })
        ));
        let bad = ScannerConfig {
            rebuild_every: Some(0),
            ..ScannerConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ScanError::InvalidConfig {
                field: "rebuild_every",
                ..
            })
        ));
        let bad = ScannerConfig {
            tolerance: f64::NAN,
            ..ScannerConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ScanError::InvalidConfig {
                field: "tolerance",
                ..
            })
        ));
    }

    #[test]
    fn deserializes_with_defaults() {
        let c: ScannerConfig = serde_json::from_str(r#"{"slow_window":300}"#).unwrap();
        assert_eq!(c.slow_window, 300);
        assert_eq!(c.windows, [50, 150, 300, 750]);
    }
}
