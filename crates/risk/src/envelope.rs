//! The envelope model and `DolphinForewarner` (SPEC §3 "MC-Forewarner", seeds B §12, S §5.2
//! step 5): the per-path table of a Monte-Carlo run (parameters → final ROI, max drawdown),
//! saved as JSON, and a kernel surrogate over it that answers `assess(config)`.
//!
//! Surrogate (docs/MC_FOREWARNER.md "Surrogate"): the coordinate of a configuration in
//! parameter `k` is `ln|x_k| / σ_k` (σ_k the run's relative perturbation sigma; parameters with
//! σ_k = 0 are not coordinates). Path `i` gets the Gaussian weight
//! `w_i = exp(−(d_i² − d_min²) / (2 h²))`, `d_i` its distance to the assessed config and `h`
//! the bandwidth; the shift by the nearest distance `d_min` leaves the Nadaraya–Watson ratios
//! unchanged and keeps far-away configs answerable (by their nearest paths). The report is
//! the weighted catastrophic probability and envelope score of [`crate::mc_stats`].

use crate::mc_forewarner::{McConfig, McError, McParams, McRun, McSummary, summarize};
use crate::mc_stats::envelope_report;
use dolphin_core::{Posture, UtcDate};
use dolphin_engine::{EngineConfig, McForewarner, McReport, McStatus};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` tag of an envelope model file.
pub const ENVELOPE_FORMAT: &str = "dolphin-mc-envelope/1";

/// One row of the model's path table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnvelopePoint {
    pub params: McParams,
    pub final_roi: f64,
    pub max_drawdown: f64,
}

/// The envelope model file (`envelope.json`): how it was made and its path table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeModel {
    pub format: String,
    pub mc: McConfig,
    pub base_config: EngineConfig,
    pub base: McParams,
    pub dates: Vec<UtcDate>,
    pub horizon_days: usize,
    pub summary: McSummary,
    pub paths: Vec<EnvelopePoint>,
}

impl EnvelopeModel {
    /// The model of a finished run.
    pub fn from_run(run: &McRun) -> Self {
        Self {
            format: ENVELOPE_FORMAT.to_string(),
            mc: run.mc.clone(),
            base_config: run.base_config.clone(),
            base: run.base,
            dates: run.dates.clone(),
            horizon_days: run.horizon_days,
            summary: run.summary(),
            paths: run
                .paths
                .iter()
                .map(|p| EnvelopePoint {
                    params: p.params,
                    final_roi: p.final_roi,
                    max_drawdown: p.max_drawdown,
                })
                .collect(),
        }
    }

    /// A model from a hand-made path table (tests, imported runs); the summary is computed.
    pub fn from_points(mc: McConfig, base_config: EngineConfig, paths: Vec<EnvelopePoint>) -> Self {
        let table: Vec<_> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| crate::mc_forewarner::PathResult {
                path: i,
                days: Vec::new(),
                params: p.params,
                fill_seed: 0,
                final_roi: p.final_roi,
                max_drawdown: p.max_drawdown,
                trades: 0,
                win_rate: None,
            })
            .collect();
        Self {
            format: ENVELOPE_FORMAT.to_string(),
            summary: summarize(&table, mc.dd_limit),
            base: McParams::of(&base_config),
            mc,
            base_config,
            dates: Vec::new(),
            horizon_days: 0,
            paths,
        }
    }

    /// Writes the model as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), McError> {
        let text = serde_json::to_string_pretty(self).expect("the model serializes");
        // Temporary file and rename: `path` is the old model or the complete new one.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| McError::Io {
                path: path.display().to_string(),
                source,
            })
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Self, McError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| McError::Io {
            path: name.clone(),
            source,
        })?;
        let model: Self = serde_json::from_str(&text).map_err(|e| McError::Json {
            path: name.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        model.check(&name)?;
        Ok(model)
    }

    /// Checks what the surrogate relies on.
    pub fn check(&self, origin: &str) -> Result<(), McError> {
        let bad = |field: String, reason: String| McError::Model {
            path: origin.to_string(),
            field,
            reason,
        };
        if self.format != ENVELOPE_FORMAT {
            return Err(bad(
                "format".into(),
                format!("expected `{ENVELOPE_FORMAT}`, found `{}`", self.format),
            ));
        }
        self.mc
            .validate()
            .map_err(|e| bad("mc".into(), e.to_string()))?;
        if self.paths.is_empty() {
            return Err(bad("paths".into(), "the path table is empty".into()));
        }
        for (i, p) in self.paths.iter().enumerate() {
            let vals = p.params.to_array();
            for (name, v) in McParams::NAMES.iter().zip(vals) {
                if !(v.is_finite() && v != 0.0) {
                    return Err(bad(
                        format!("paths[{i}].params.{name}"),
                        format!("{v} is not a finite non-zero number"),
                    ));
                }
            }
            if !p.final_roi.is_finite() || !(0.0..=1.0).contains(&p.max_drawdown) {
                return Err(bad(
                    format!("paths[{i}]"),
                    format!(
                        "final_roi {} must be finite and max_drawdown {} within [0, 1]",
                        p.final_roi, p.max_drawdown
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A surrogate answer with its diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub report: McReport,
    /// Kish effective number of paths, (Σw)² / Σw².
    pub effective_paths: f64,
    /// Distance to the nearest path, in bandwidth-scaled sigma units; ≫ 1 means the config is
    /// outside the sampled envelope and the answer extrapolates.
    pub nearest_distance: f64,
}

/// The day's gate (B §12): status, `day_mc_scale` and whether entries halt for the day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McDecision {
    pub report: McReport,
    pub status: McStatus,
    /// `mc_orange_scale` (0.5) when ORANGE, else 1.0 (B §12).
    pub day_mc_scale: f64,
    /// `regime_dd_halt`: RED, or posture TURTLE/HIBERNATE (B §12, SPEC D4/D5).
    pub regime_dd_halt: bool,
}

impl McDecision {
    /// B §12 applied to a report: the classification thresholds and the ORANGE scale come
    /// from `cfg` (`mc_red_*`, `mc_orange_*`).
    pub fn new(report: McReport, cfg: &EngineConfig, posture: Posture) -> Self {
        let status = McStatus::classify(&report, cfg);
        Self {
            report,
            status,
            day_mc_scale: if status == McStatus::Orange {
                cfg.mc_orange_scale
            } else {
                1.0
            },
            regime_dd_halt: status == McStatus::Red || posture.halts_entries(),
        }
    }
}

/// The MC-Forewarner of S §5.2 step 5 (`DolphinForewarner`): a kernel surrogate over an
/// envelope model; implements [`McForewarner`] for `engine.set_mc_forewarner`.
#[derive(Debug, Clone)]
pub struct DolphinForewarner {
    model: EnvelopeModel,
    /// Coordinates used: (parameter index, 1 / (σ_k · h)).
    dims: Vec<(usize, f64)>,
    /// Per path, the scaled log coordinates of the used dimensions.
    coords: Vec<Vec<f64>>,
    roi: Vec<f64>,
    dd: Vec<f64>,
}

impl DolphinForewarner {
    /// A forewarner over a checked model.
    pub fn new(model: EnvelopeModel) -> Result<Self, McError> {
        model.check("<model>")?;
        let h = model.mc.bandwidth;
        let dims: Vec<(usize, f64)> = model
            .mc
            .perturbation
            .to_array()
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0.0)
            .map(|(k, s)| (k, 1.0 / (s * h)))
            .collect();
        let coords = model
            .paths
            .iter()
            .map(|p| scaled(&dims, &p.params))
            .collect();
        Ok(Self {
            roi: model.paths.iter().map(|p| p.final_roi).collect(),
            dd: model.paths.iter().map(|p| p.max_drawdown).collect(),
            dims,
            coords,
            model,
        })
    }

    /// `DolphinForewarner::load(path)`: reads `envelope.json` (for `dolphin backtest --mc`).
    pub fn load(path: &Path) -> Result<Self, McError> {
        Self::new(EnvelopeModel::load(path)?)
    }

    pub fn model(&self) -> &EnvelopeModel {
        &self.model
    }

    /// The surrogate's answer for `cfg` with its diagnostics.
    pub fn assess_detail(&self, cfg: &EngineConfig) -> Assessment {
        let x = scaled(&self.dims, &McParams::of(cfg));
        let d2: Vec<f64> = self
            .coords
            .iter()
            .map(|c| c.iter().zip(&x).map(|(a, b)| (a - b) * (a - b)).sum())
            .collect();
        let d_min = d2.iter().copied().fold(f64::INFINITY, f64::min);
        let w: Vec<f64> = d2.iter().map(|d| (-(d - d_min) / 2.0).exp()).collect();
        let sw: f64 = w.iter().sum();
        let sw2: f64 = w.iter().map(|v| v * v).sum();
        let report = envelope_report(&self.roi, &self.dd, &w, self.model.mc.dd_limit)
            .expect("the nearest path has weight 1");
        Assessment {
            report,
            effective_paths: sw * sw / sw2,
            nearest_distance: d_min.sqrt(),
        }
    }

    /// B §12 for `cfg` in `posture`: the report and the day's gate.
    pub fn decide(&self, cfg: &EngineConfig, posture: Posture) -> McDecision {
        McDecision::new(self.assess(cfg), cfg, posture)
    }

    /// Fields of `cfg` that differ from the model's base config and are not perturbed
    /// dimensions (nor `seed`): the model says nothing about them. Empty when compatible.
    pub fn uncovered_fields(&self, cfg: &EngineConfig) -> Vec<String> {
        let mut a = serde_json::to_value(cfg).expect("config serializes");
        let mut b = serde_json::to_value(&self.model.base_config).expect("config serializes");
        let covered = [
            "max_leverage",
            "fraction",
            "fixed_tp_pct",
            "vel_div_threshold",
            "long_threshold",
            "max_hold_bars",
            "seed",
        ];
        let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object_mut()) else {
            return Vec::new();
        };
        a.iter()
            .filter(|(k, v)| !covered.contains(&k.as_str()) && b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

impl McForewarner for DolphinForewarner {
    /// SPEC §3 `assess(config) → {catastrophic_probability, envelope_score}`.
    fn assess(&self, cfg: &EngineConfig) -> McReport {
        self.assess_detail(cfg).report
    }
}

/// The scaled log coordinates `ln|x_k| / (σ_k h)` of the used dimensions.
fn scaled(dims: &[(usize, f64)], p: &McParams) -> Vec<f64> {
    let v = p.to_array();
    dims.iter()
        .map(|&(k, inv)| v[k].abs().max(f64::MIN_POSITIVE).ln() * inv)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mc_forewarner::Perturbation;

    fn base_cfg() -> EngineConfig {
        EngineConfig::default()
    }

    /// A table of paths all at the base parameters (distance 0: equal weights).
    fn table(roi: &[f64], dd: &[f64]) -> DolphinForewarner {
        let base = McParams::of(&base_cfg());
        let pts = roi
            .iter()
            .zip(dd)
            .map(|(&r, &d)| EnvelopePoint {
                params: base,
                final_roi: r,
                max_drawdown: d,
            })
            .collect();
        DolphinForewarner::new(EnvelopeModel::from_points(
            McConfig::default(),
            base_cfg(),
            pts,
        ))
        .unwrap()
    }

    /// 20 paths, `n_bad` of them with DD 0.35 (> 0.30), ROI given.
    fn with_bad(n_bad: usize, roi: &[f64]) -> DolphinForewarner {
        let dd: Vec<f64> = (0..20)
            .map(|i| if i < n_bad { 0.35 } else { 0.05 })
            .collect();
        table(roi, &dd)
    }

    fn positive_roi() -> Vec<f64> {
        (0..20).map(|i| 0.01 * (i as f64 + 1.0)).collect()
    }

    fn decide(fw: &DolphinForewarner) -> McDecision {
        fw.decide(&base_cfg(), Posture::Apex)
    }

    #[test]
    fn golden_catastrophic_thresholds_of_b12() {
        let roi = positive_roi();
        // 2/20 = 0.10: not > 0.10 → OK.
        let d = decide(&with_bad(2, &roi));
        assert_eq!(d.report.catastrophic_probability, 0.10);
        assert_eq!(
            (d.status, d.day_mc_scale, d.regime_dd_halt),
            (McStatus::Ok, 1.0, false)
        );
        // 3/20 = 0.15 → ORANGE, scale 0.5, no halt.
        let d = decide(&with_bad(3, &roi));
        assert_eq!(d.report.catastrophic_probability, 0.15);
        assert_eq!(
            (d.status, d.day_mc_scale, d.regime_dd_halt),
            (McStatus::Orange, 0.5, false)
        );
        // 5/20 = 0.25: not > 0.25 → still ORANGE.
        let d = decide(&with_bad(5, &roi));
        assert_eq!(d.report.catastrophic_probability, 0.25);
        assert_eq!(d.status, McStatus::Orange);
        // 6/20 = 0.30 → RED: halt, scale 1.
        let d = decide(&with_bad(6, &roi));
        assert_eq!(d.report.catastrophic_probability, 0.30);
        assert_eq!(
            (d.status, d.day_mc_scale, d.regime_dd_halt),
            (McStatus::Red, 1.0, true)
        );
    }

    #[test]
    fn golden_envelope_thresholds_of_b12() {
        // 10 × −0.5 and 10 × +0.5: P25 = −0.5, mean 0, std 0.5 → score exactly −1.0:
        // not < −1.0 → ORANGE (score < 0).
        let roi: Vec<f64> = (0..20).map(|i| if i < 10 { -0.5 } else { 0.5 }).collect();
        let d = decide(&with_bad(0, &roi));
        assert_eq!(d.report.envelope_score, -1.0);
        assert_eq!(d.status, McStatus::Orange);
        // 11 × −0.5, 9 × +0.5: mean −0.05, var (11·0.2025 + 9·0.3025)/20 = 0.2475 →
        // score −0.5/√0.2475 = −1.00504 → RED.
        let roi: Vec<f64> = (0..20).map(|i| if i < 11 { -0.5 } else { 0.5 }).collect();
        let d = decide(&with_bad(0, &roi));
        assert!((d.report.envelope_score - (-0.5 / 0.2475f64.sqrt())).abs() < 1e-12);
        assert!((d.report.envelope_score - -1.005_037_815_259_212).abs() < 1e-12);
        assert_eq!((d.status, d.regime_dd_halt), (McStatus::Red, true));
        // Sorted positions 4 and 5 are 0 → P25 = 0 → score 0: not < 0 → OK.
        let mut roi: Vec<f64> = vec![-0.1; 4];
        roi.extend([0.0, 0.0]);
        roi.extend((0..14).map(|i| 0.02 * (i as f64 + 1.0)));
        let d = decide(&with_bad(0, &roi));
        assert_eq!(d.report.envelope_score, 0.0);
        assert_eq!(d.status, McStatus::Ok);
        // A fifth loser moves position 4 below 0: P25 = −0.1 + 0.75·0.1 = −0.025 → ORANGE.
        roi[4] = -0.1;
        let d = decide(&with_bad(0, &roi));
        assert!(d.report.envelope_score < 0.0);
        assert_eq!((d.status, d.day_mc_scale), (McStatus::Orange, 0.5));
        // Posture TURTLE halts even when OK (B §12).
        let d = table(&positive_roi(), &[0.0; 20]).decide(&base_cfg(), Posture::Turtle);
        assert_eq!((d.status, d.regime_dd_halt), (McStatus::Ok, true));
    }

    #[test]
    fn hand_worked_kernel_weights() {
        // σ(max_leverage) = 0.25, h = 1. Path A at the base (5.0), path B at 5·e^0.25 (one
        // unit away), path C at 5·e^0.5 (two units).
        let cfg = base_cfg();
        let at = |k: f64| McParams {
            max_leverage: 5.0 * (0.25 * k).exp(),
            ..McParams::of(&cfg)
        };
        let pts = vec![
            EnvelopePoint {
                params: at(0.0),
                final_roi: 0.10,
                max_drawdown: 0.05,
            },
            EnvelopePoint {
                params: at(1.0),
                final_roi: 0.00,
                max_drawdown: 0.40,
            },
            EnvelopePoint {
                params: at(2.0),
                final_roi: -0.20,
                max_drawdown: 0.60,
            },
        ];
        let fw = DolphinForewarner::new(EnvelopeModel::from_points(
            McConfig::default(),
            cfg.clone(),
            pts,
        ))
        .unwrap();
        // At the base: weights 1, e^−0.5, e^−2.
        let (w1, w2) = ((-0.5f64).exp(), (-2.0f64).exp());
        let a = fw.assess_detail(&cfg);
        let cat = (w1 + w2) / (1.0 + w1 + w2);
        assert!((a.report.catastrophic_probability - cat).abs() < 1e-12);
        let kish = (1.0 + w1 + w2).powi(2) / (1.0 + w1 * w1 + w2 * w2);
        assert!((a.effective_paths - kish).abs() < 1e-12);
        assert!(a.nearest_distance < 1e-12);
        // Envelope score by hand: sorted ROI −0.2 (w2), 0.0 (w1), 0.1 (1).
        let tot = 1.0 + w1 + w2;
        let denom = tot - w2 / 2.0 - 0.5;
        let p_mid = (w2 + w1 - w1 / 2.0 - w2 / 2.0) / denom;
        let p25 = -0.2 + 0.2 * (0.25 / p_mid);
        let mean = (0.1 - 0.2 * w2) / tot;
        let var = ((0.1 - mean).powi(2) + w1 * mean * mean + w2 * (-0.2 - mean).powi(2)) / tot;
        assert!((a.report.envelope_score - p25 / var.sqrt()).abs() < 1e-9);
        // The engine's day config with boost e^0.25 sits on path B: weights e^−0.5, 1, e^−0.5.
        let mut boosted = cfg.clone();
        boosted.max_leverage = 5.0 * 0.25f64.exp();
        let b = fw.assess_detail(&boosted);
        let cat = (1.0 + w1) / (1.0 + 2.0 * w1);
        assert!((b.report.catastrophic_probability - cat).abs() < 1e-12);
        // Far outside: answered by the nearest path (C) with weight 1, others ~0.
        boosted.max_leverage = 5.0 * 40f64.exp();
        let c = fw.assess_detail(&boosted);
        assert!((c.report.catastrophic_probability - 1.0).abs() < 1e-12);
        assert!((c.nearest_distance - 158.0).abs() < 1e-9);
        // A dimension with sigma 0 is ignored.
        let mut other = cfg.clone();
        other.max_leverage = 5.0;
        other.fraction = 0.9;
        let mut fw0 = fw.model().clone();
        fw0.mc.perturbation = Perturbation {
            fraction: 0.0,
            ..fw0.mc.perturbation
        };
        let fw0 = DolphinForewarner::new(fw0).unwrap();
        assert_eq!(fw0.assess(&other), fw0.assess(&cfg));
    }

    #[test]
    fn model_file_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let fw = with_bad(3, &positive_roi());
        let path = dir.path().join("envelope.json");
        fw.model().save(&path).unwrap();
        let back = DolphinForewarner::load(&path).unwrap();
        assert_eq!(back.model(), fw.model());
        assert_eq!(back.assess(&base_cfg()), fw.assess(&base_cfg()));

        std::fs::write(&path, "{\n \"format\": 3\n}").unwrap();
        let e = DolphinForewarner::load(&path).unwrap_err().to_string();
        assert!(e.contains("envelope.json: line 2"), "{e}");

        let mut m = fw.model().clone();
        m.paths[7].max_drawdown = f64::NAN;
        let e = m.check("m.json").unwrap_err().to_string();
        assert!(e.contains("m.json: field `paths[7]`"), "{e}");
        let mut m = fw.model().clone();
        m.format = "other/9".into();
        assert!(
            m.check("m.json")
                .unwrap_err()
                .to_string()
                .contains("`format`")
        );
        let e = DolphinForewarner::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(e.to_string().contains("missing.json"));
    }

    #[test]
    fn uncovered_fields_name_what_the_model_ignores() {
        let fw = with_bad(0, &positive_roi());
        let mut cfg = base_cfg();
        cfg.max_leverage = 7.0;
        cfg.seed = 3;
        assert!(fw.uncovered_fields(&cfg).is_empty());
        cfg.stop_pct = 0.02;
        cfg.use_alpha_layers = false;
        assert_eq!(
            fw.uncovered_fields(&cfg),
            vec!["stop_pct", "use_alpha_layers"]
        );
    }
}
