//! The sweep spec (`sweep.yml`, issue 17 item 1): the base configuration, fixed overrides, the
//! parameters to vary (lists, stepped ranges, continuous ranges), grid or seeded random search,
//! the metric to rank by and the walk-forward settings. Parameters are dotted paths into the
//! trial tree of [`crate::trial`].
//!
//! ```yaml
//! name: todo1-vd-exit
//! base: blue                      # blue | green | conservative | growth | aggressive | a YAML path
//! fixed: { engine.vd_enabled: true }
//! params:
//!   engine.vd_exit_threshold: { min: 0.0, max: 0.05, step: 0.005 }
//!   engine.vd_confirm_bars: [1, 2, 3, 4, 5]
//!   engine.fixed_tp_pct: { min: 0.005, max: 0.02 }   # continuous: random search only
//! search: grid                    # or random (with samples and seed)
//! metric: sharpe
//! ```

use crate::error::ResearchError;
use crate::folds::FoldMode;
use crate::trial::TrialConfig;
use dolphin_risk::SplitMix64;
use dolphin_runtime::SystemConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Largest number of configurations a spec may describe.
pub const MAX_TRIALS: usize = 1_000_000;

/// Metrics a sweep can rank by; all are maximised except `max_drawdown`.
pub const METRICS: [&str; 7] = [
    "sharpe",
    "roi",
    "profit_factor",
    "win_rate",
    "max_drawdown",
    "trades",
    "final_capital",
];

/// Grid or random search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    #[default]
    Grid,
    Random,
}

/// How one parameter varies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamSpec {
    /// Exactly these values.
    List(Vec<Value>),
    /// `min..=max` in `step`s (grid or random), or continuous (random only; `log` samples
    /// log-uniformly, `digits` significant digits are kept, default 6).
    Range {
        min: f64,
        max: f64,
        #[serde(default)]
        step: Option<f64>,
        #[serde(default)]
        log: bool,
        #[serde(default)]
        digits: Option<u32>,
    },
}

/// A sweep spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: String,
    #[serde(default = "default_base")]
    pub base: String,
    /// Overrides applied to every trial (dotted path → value).
    #[serde(default)]
    pub fixed: BTreeMap<String, Value>,
    pub params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    pub search: Search,
    /// Random search: number of configurations drawn.
    #[serde(default)]
    pub samples: Option<usize>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Also run the base (with `fixed`) as trial 0, the baseline of the study.
    #[serde(default = "yes")]
    pub include_base: bool,
    /// Best configurations written as YAML.
    #[serde(default = "default_top")]
    pub top: usize,
    #[serde(default)]
    pub folds: usize,
    #[serde(default)]
    pub fold_mode: FoldMode,
    /// CSCV blocks for the probability of backtest overfitting (even).
    #[serde(default = "default_blocks")]
    pub pbo_blocks: usize,
    /// ACB factor tables (relative to the spec's folder).
    #[serde(default)]
    pub indicators: Option<PathBuf>,
    #[serde(default)]
    pub funding: Option<PathBuf>,
    /// The spec's folder (not in the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn default_base() -> String {
    "blue".into()
}
fn default_metric() -> String {
    "sharpe".into()
}
fn yes() -> bool {
    true
}
fn default_top() -> usize {
    5
}
fn default_blocks() -> usize {
    8
}

/// One configuration of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTrial {
    pub index: u64,
    /// The varied parameters' values.
    pub point: Vec<(String, Value)>,
    pub config: TrialConfig,
    pub hash: String,
}

impl SweepSpec {
    /// Parses a spec; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str, dir: &Path) -> Result<Self, ResearchError> {
        let err = |message: String| ResearchError::Spec {
            origin: origin.to_string(),
            message,
        };
        let mut s: SweepSpec = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        s.dir = dir.to_path_buf();
        if !METRICS.contains(&s.metric.as_str()) {
            return Err(err(format!(
                "metric `{}` is not one of {}",
                s.metric,
                METRICS.join(", ")
            )));
        }
        if s.params.is_empty() {
            return Err(err("`params` names no parameter".into()));
        }
        if s.search == Search::Random && s.samples.is_none_or(|n| n == 0) {
            return Err(err("search: random needs `samples` (≥ 1)".into()));
        }
        if s.pbo_blocks < 2 || s.pbo_blocks % 2 == 1 {
            return Err(err(format!(
                "pbo_blocks must be even and ≥ 2, got {}",
                s.pbo_blocks
            )));
        }
        for (path, p) in &s.params {
            if let ParamSpec::Range { min, max, step, .. } = p {
                if !(min.is_finite() && max.is_finite() && min <= max) {
                    return Err(err(format!("param {path}: need finite min ≤ max")));
                }
                if step.is_some_and(|st| !(st.is_finite() && st > 0.0)) {
                    return Err(err(format!("param {path}: step must be positive")));
                }
            }
            if let ParamSpec::List(v) = p
                && v.is_empty()
            {
                return Err(err(format!("param {path}: empty list")));
            }
        }
        Ok(s)
    }

    /// Loads a spec file.
    pub fn load(path: &Path) -> Result<Self, ResearchError> {
        let text = std::fs::read_to_string(path).map_err(|e| ResearchError::io("read", path, e))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_yaml(&text, &path.display().to_string(), &dir)
    }

    /// A path of the spec resolved against its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// The base trial: the base configuration with `fixed` applied.
    pub fn base_trial(&self) -> Result<TrialConfig, ResearchError> {
        let sys = match SystemConfig::factory(&self.base) {
            Some(s) => s,
            None => SystemConfig::load(&self.resolve(Path::new(&self.base)))?,
        };
        let fixed: Vec<(String, Value)> = self
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        TrialConfig::from_system(&sys).with_overrides(&fixed)
    }

    /// The configurations of the sweep, in order, without duplicates (by hash). `seed`
    /// overrides the spec's seed. Points the engine refuses (e.g. a LONG threshold equal to
    /// its extreme) are left out; see [`Self::plan_with_skipped`].
    pub fn plan(&self, seed: Option<u64>) -> Result<Vec<PlannedTrial>, ResearchError> {
        Ok(self.plan_with_skipped(seed)?.0)
    }

    /// [`Self::plan`] and the points left out as invalid, each with the reason.
    pub fn plan_with_skipped(
        &self,
        seed: Option<u64>,
    ) -> Result<(Vec<PlannedTrial>, Vec<String>), ResearchError> {
        let base = self.base_trial()?;
        // Check every path exists before generating anything.
        for path in self.params.keys() {
            if base.get(path).is_none() {
                base.with_overrides(&[(path.clone(), Value::Null)])?;
            }
        }
        let points: Vec<Vec<(String, Value)>> = match self.search {
            Search::Grid => self.grid(&base)?,
            Search::Random => self.random(&base, seed.unwrap_or(self.seed))?,
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut push = |point: Vec<(String, Value)>, config: TrialConfig| {
            let hash = config.hash();
            if seen.insert(hash.clone()) {
                out.push(PlannedTrial {
                    index: out.len() as u64,
                    point,
                    config,
                    hash,
                });
            }
        };
        if self.include_base {
            let point = self
                .params
                .keys()
                .map(|p| (p.clone(), base.get(p).unwrap_or(Value::Null)))
                .collect();
            push(point, base.clone());
        }
        let mut skipped = Vec::new();
        for point in points {
            match base.with_overrides(&point) {
                Ok(config) => push(point, config),
                Err(e) => skipped.push(e.to_string()),
            }
        }
        Ok((out, skipped))
    }

    fn values(
        &self,
        path: &str,
        p: &ParamSpec,
        base: &TrialConfig,
    ) -> Result<Vec<Value>, ResearchError> {
        let integer = base.get(path).is_some_and(|v| v.is_i64() || v.is_u64());
        match p {
            ParamSpec::List(v) => Ok(v.clone()),
            ParamSpec::Range {
                min,
                max,
                step: Some(step),
                ..
            } => {
                let n = ((max - min) / step + 1e-9).floor() as usize + 1;
                if n > MAX_TRIALS {
                    return Err(ResearchError::BadValue {
                        path: path.into(),
                        message: format!("{n} steps"),
                    });
                }
                Ok((0..n)
                    .map(|i| number(round_decimals(min + i as f64 * step, 12), integer))
                    .collect())
            }
            ParamSpec::Range { step: None, .. } => Err(ResearchError::BadValue {
                path: path.into(),
                message:
                    "a range without `step` is continuous: use `search: random` or give a step"
                        .into(),
            }),
        }
    }

    fn grid(&self, base: &TrialConfig) -> Result<Vec<Vec<(String, Value)>>, ResearchError> {
        let axes: Vec<(String, Vec<Value>)> = self
            .params
            .iter()
            .map(|(k, p)| Ok((k.clone(), self.values(k, p, base)?)))
            .collect::<Result<_, ResearchError>>()?;
        let total = axes
            .iter()
            .try_fold(1usize, |a, (_, v)| a.checked_mul(v.len()))
            .filter(|&n| n <= MAX_TRIALS)
            .ok_or_else(|| ResearchError::Spec {
                origin: self.name.clone(),
                message: format!("the grid has more than {MAX_TRIALS} points"),
            })?;
        let mut out = Vec::with_capacity(total);
        for mut i in 0..total {
            // The last parameter varies fastest.
            let mut point = vec![(String::new(), Value::Null); axes.len()];
            for (a, (k, vals)) in axes.iter().enumerate().rev() {
                point[a] = (k.clone(), vals[i % vals.len()].clone());
                i /= vals.len();
            }
            out.push(point);
        }
        Ok(out)
    }

    fn random(
        &self,
        base: &TrialConfig,
        seed: u64,
    ) -> Result<Vec<Vec<(String, Value)>>, ResearchError> {
        let mut rng = SplitMix64::new(seed);
        let n = self.samples.unwrap_or(0);
        let mut lists = BTreeMap::new();
        for (k, p) in &self.params {
            if !matches!(p, ParamSpec::Range { step: None, .. }) {
                lists.insert(k.clone(), self.values(k, p, base)?);
            }
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut point = Vec::with_capacity(self.params.len());
            for (k, p) in &self.params {
                let v = match (lists.get(k), p) {
                    (Some(vals), _) => vals[rng.below(vals.len() as u64) as usize].clone(),
                    (
                        None,
                        ParamSpec::Range {
                            min,
                            max,
                            log,
                            digits,
                            ..
                        },
                    ) => {
                        let integer = base.get(k).is_some_and(|v| v.is_i64() || v.is_u64());
                        let u = rng.next_f64();
                        if integer {
                            let span = (max.floor() - min.ceil()) as u64 + 1;
                            Value::from(min.ceil() as i64 + rng.below(span) as i64)
                        } else {
                            let x = if *log && *min > 0.0 {
                                (min.ln() + u * (max.ln() - min.ln())).exp()
                            } else {
                                min + u * (max - min)
                            };
                            Value::from(round_significant(x, digits.unwrap_or(6)))
                        }
                    }
                    (None, ParamSpec::List(_)) => unreachable!("lists are precomputed"),
                };
                point.push((k.clone(), v));
            }
            out.push(point);
        }
        Ok(out)
    }
}

fn number(x: f64, integer: bool) -> Value {
    if integer {
        Value::from(x.round() as i64)
    } else {
        Value::from(x)
    }
}

/// Rounds to `d` decimals through decimal text (removes binary noise of `min + i·step`).
pub fn round_decimals(x: f64, d: usize) -> f64 {
    format!("{x:.d$}").parse().unwrap_or(x)
}

/// Rounds to `d` significant digits through decimal text.
pub fn round_significant(x: f64, d: u32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let d = d.max(1) as usize;
    format!("{:.*e}", d - 1, x).parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepSpec {
        SweepSpec::from_yaml(text, "t.yml", Path::new(".")).unwrap()
    }

    #[test]
    fn grid_is_the_cartesian_product_in_order() {
        let s = spec(
            "name: g\nfixed: {engine.vd_enabled: true}\nparams:\n  engine.vd_exit_threshold: {min: 0.0, max: 0.03, step: 0.01}\n  engine.vd_confirm_bars: [1, 3]\n",
        );
        let p = s.plan(None).unwrap();
        // base + 4 × 2, minus the grid point equal to the base (3 bars, 0.02): deduplicated.
        assert_eq!(p.len(), 8);
        assert!(p[0].config.engine.vd_enabled);
        assert_eq!(p[0].config.engine.vd_exit_threshold, 0.02);
        // Params are in path order (vd_confirm_bars < vd_exit_threshold); the last is fastest.
        let pts: Vec<(i64, f64)> = p[1..]
            .iter()
            .map(|t| {
                (
                    t.config.engine.vd_confirm_bars as i64,
                    t.config.engine.vd_exit_threshold,
                )
            })
            .collect();
        assert_eq!(
            pts,
            vec![
                (1, 0.0),
                (1, 0.01),
                (1, 0.02),
                (1, 0.03),
                (3, 0.0),
                (3, 0.01),
                (3, 0.03)
            ]
        );
        // 0.03 exactly, not 0.030000000000000002.
        assert_eq!(p[4].config.engine.vd_exit_threshold, 0.03);
        // Indices are positions; hashes unique.
        assert!(p.iter().enumerate().all(|(i, t)| t.index == i as u64));
    }

    #[test]
    fn random_search_is_seeded_and_typed() {
        let text = "name: r\nsearch: random\nsamples: 50\nseed: 7\ninclude_base: false\nparams:\n  engine.fixed_tp_pct: {min: 0.005, max: 0.02}\n  engine.max_hold_bars: {min: 60, max: 240}\n  engine.dc_lookback_bars: [5, 7, 9]\n";
        let a = spec(text).plan(None).unwrap();
        let b = spec(text).plan(None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 50);
        let c = spec(text).plan(Some(8)).unwrap();
        assert_ne!(a[0].hash, c[0].hash);
        for t in &a {
            let e = &t.config.engine;
            assert!((0.005..=0.02).contains(&e.fixed_tp_pct));
            assert!((60..=240).contains(&e.max_hold_bars));
            assert!([5, 7, 9].contains(&e.dc_lookback_bars));
            // 6 significant digits.
            assert_eq!(round_significant(e.fixed_tp_pct, 6), e.fixed_tp_pct);
        }
    }

    #[test]
    fn spec_errors_are_clear() {
        let bad = |t: &str| {
            SweepSpec::from_yaml(t, "s.yml", Path::new("."))
                .and_then(|s| s.plan(None))
                .unwrap_err()
                .to_string()
        };
        let e = bad("name: x\nparams:\n  engine.take_profit: [0.01]\n");
        assert!(
            e.contains("engine.take_profit") && e.contains("fixed_tp_pct"),
            "{e}"
        );
        let e = bad("name: x\nmetric: alpha\nparams:\n  engine.fixed_tp_pct: [0.01]\n");
        assert!(e.contains("metric `alpha`"), "{e}");
        let e = bad("name: x\nparams:\n  engine.fixed_tp_pct: {min: 0.01, max: 0.02}\n");
        assert!(e.contains("continuous"), "{e}");
        let e = bad("name: x\nsearch: random\nparams:\n  engine.fixed_tp_pct: [0.01]\n");
        assert!(e.contains("samples"), "{e}");
        // Invalid combinations are left out, with the reason.
        let s = SweepSpec::from_yaml(
            "name: x\nparams:\n  engine.direction: [1]\n  engine.long_threshold: [0.01, 0.04]\n",
            "s.yml",
            Path::new("."),
        )
        .unwrap();
        let (plan, skipped) = s.plan_with_skipped(None).unwrap();
        assert_eq!(plan.len(), 2); // base (SHORT) + LONG at 0.01; 0.04 = long_extreme
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].contains("must be finite and differ"),
            "{}",
            skipped[0]
        );
        let e = bad("name: x\nparams: {}\n");
        assert!(e.contains("no parameter"), "{e}");
        let e = bad("name: x\nparmas: {}\n");
        assert!(e.contains("parmas"), "{e}");
    }
}
