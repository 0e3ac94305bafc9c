//! MC-Forewarner Monte Carlo (SPEC §3 "MC-Forewarner", seeds B §12, §16.4): the engine run
//! over block-bootstrapped day sequences with perturbed configurations, one fresh
//! [`NDAlphaEngine`] per path, in parallel, reproducibly.
//!
//! Path `i` draws from its own [`SplitMix64::for_path`]`(seed, i)` stream, in this order: the
//! day sequence ([`bootstrap_days`]), one normal deviate per perturbed parameter (in
//! [`McParams::NAMES`] order), then the engine's fill seed. Results are collected in path
//! order, so a run does not depend on the number of threads. Days follow each other as in a
//! backtest; where the sequence jumps (a block boundary, or a gap in the dates) any open
//! position is closed at the day's last price (END_OF_DATA), so no trade spans two
//! unrelated days. Paths run without ACB and in posture APEX: the engine assesses its config
//! with `max_leverage = base × day_base_boost`, so the boost enters through the perturbed
//! `max_leverage` (docs/MC_FOREWARNER.md).

use crate::block_bootstrap::{BootstrapKind, bootstrap_days};
use crate::mc_stats::{envelope_score, weighted_mean_std};
use crate::percentile::percentile_of_sorted;
use crate::split_mix::SplitMix64;
use dolphin_core::{DayFrame, Direction, UtcDate};
use dolphin_engine::{DayContext, DayResult, EngineConfig, EngineError, NDAlphaEngine, Summary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Errors of a Monte-Carlo run or of an envelope model file.
#[derive(Debug, thiserror::Error)]
pub enum McError {
    #[error("MC config field `{field}` = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("Monte Carlo needs at least one day frame")]
    NoDays,
    #[error(
        "day frames must be in strictly increasing date order: day {index} ({date}) follows {prev}"
    )]
    DayOrder {
        index: usize,
        date: UtcDate,
        prev: UtcDate,
    },
    #[error("path {path}, day {date}: {source}")]
    Engine {
        path: usize,
        date: UtcDate,
        source: EngineError,
    },
    #[error("base engine config: {0}")]
    BaseConfig(EngineError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}, column {column}: {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: field `{field}`: {reason}")]
    Model {
        path: String,
        field: String,
        reason: String,
    },
}

/// Relative (log-space) sigmas of the perturbed parameters (SPEC §3 "perturbed configs"):
/// a path's value is `base × exp(σ·z)`, z standard normal, so the base is the median.
/// A sigma of 0 keeps the base value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Perturbation {
    pub max_leverage: f64,
    pub fraction: f64,
    pub fixed_tp_pct: f64,
    pub vel_div_threshold: f64,
    pub max_hold_bars: f64,
}

impl Default for Perturbation {
    fn default() -> Self {
        Self {
            // Wide enough to cover the ACB boost range 1.0–1.7 the engine multiplies in.
            max_leverage: 0.25,
            fraction: 0.15,
            fixed_tp_pct: 0.15,
            vel_div_threshold: 0.10,
            max_hold_bars: 0.15,
        }
    }
}

impl Perturbation {
    /// The sigmas in [`McParams::NAMES`] order.
    pub fn to_array(&self) -> [f64; 5] {
        [
            self.max_leverage,
            self.fraction,
            self.fixed_tp_pct,
            self.vel_div_threshold,
            self.max_hold_bars,
        ]
    }
}

/// The Monte-Carlo run (SPEC §3 "MC-Forewarner"; docs/MC_FOREWARNER.md "Configuration").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McConfig {
    /// Number of paths.
    pub paths: usize,
    /// Block length in days (mean block length for the stationary bootstrap).
    pub block_len: usize,
    pub bootstrap: BootstrapKind,
    /// Days per path; `None` = the number of loaded days.
    pub horizon_days: Option<usize>,
    /// A path is catastrophic when its max drawdown exceeds this (SPEC §3: default 30 %).
    pub dd_limit: f64,
    pub perturbation: Perturbation,
    pub seed: u64,
    /// Give each path its own engine fill seed (drawn from the path's stream); otherwise all
    /// paths use the base config's `seed`.
    pub vary_fill_seed: bool,
    /// Surrogate kernel bandwidth, in units of the perturbation sigmas (see
    /// [`crate::envelope::DolphinForewarner`]).
    pub bandwidth: f64,
}

impl Default for McConfig {
    fn default() -> Self {
        Self {
            paths: 1000,
            block_len: 3,
            bootstrap: BootstrapKind::Moving,
            horizon_days: None,
            dd_limit: 0.30,
            perturbation: Perturbation::default(),
            seed: 42,
            vary_fill_seed: true,
            bandwidth: 1.0,
        }
    }
}

impl McConfig {
    /// Checks the values a run cannot use.
    pub fn validate(&self) -> Result<(), McError> {
        let err = |field, value: String, reason| {
            Err(McError::Config {
                field,
                value,
                reason,
            })
        };
        if self.paths == 0 {
            return err("paths", "0".into(), "at least one path is needed");
        }
        if self.block_len == 0 {
            return err("block_len", "0".into(), "blocks hold at least one day");
        }
        if self.horizon_days == Some(0) {
            return err("horizon_days", "0".into(), "a path holds at least one day");
        }
        if !(self.dd_limit > 0.0 && self.dd_limit < 1.0) {
            return err("dd_limit", self.dd_limit.to_string(), "must lie in (0, 1)");
        }
        if !(self.bandwidth.is_finite() && self.bandwidth > 0.0) {
            return err("bandwidth", self.bandwidth.to_string(), "must be positive");
        }
        for (name, s) in McParams::NAMES.iter().zip(self.perturbation.to_array()) {
            if !(s.is_finite() && (0.0..=2.0).contains(&s)) {
                return err(
                    match *name {
                        "max_leverage" => "perturbation.max_leverage",
                        "fraction" => "perturbation.fraction",
                        "fixed_tp_pct" => "perturbation.fixed_tp_pct",
                        "vel_div_threshold" => "perturbation.vel_div_threshold",
                        _ => "perturbation.max_hold_bars",
                    },
                    s.to_string(),
                    "a relative sigma must lie in [0, 2]",
                );
            }
        }
        Ok(())
    }
}

/// The perturbed parameters of one configuration (the surrogate's coordinates).
/// `vel_div_threshold` is the entry threshold of the configured direction
/// (`long_threshold` for LONG).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McParams {
    pub max_leverage: f64,
    pub fraction: f64,
    pub fixed_tp_pct: f64,
    pub vel_div_threshold: f64,
    pub max_hold_bars: f64,
}

impl McParams {
    /// Parameter names, in the order of [`McParams::to_array`].
    pub const NAMES: [&'static str; 5] = [
        "max_leverage",
        "fraction",
        "fixed_tp_pct",
        "vel_div_threshold",
        "max_hold_bars",
    ];

    /// The parameters of a config.
    pub fn of(cfg: &EngineConfig) -> Self {
        Self {
            max_leverage: cfg.max_leverage,
            fraction: cfg.fraction,
            fixed_tp_pct: cfg.fixed_tp_pct,
            vel_div_threshold: cfg.thresholds().0,
            max_hold_bars: f64::from(cfg.max_hold_bars),
        }
    }

    /// Writes the parameters into a config (the threshold of its direction).
    pub fn apply(&self, cfg: &mut EngineConfig) {
        cfg.max_leverage = self.max_leverage;
        cfg.fraction = self.fraction;
        cfg.fixed_tp_pct = self.fixed_tp_pct;
        match cfg.direction {
            Direction::Short => cfg.vel_div_threshold = self.vel_div_threshold,
            Direction::Long => cfg.long_threshold = self.vel_div_threshold,
        }
        cfg.max_hold_bars = self.max_hold_bars.round().max(1.0) as u32;
    }

    /// The values in [`McParams::NAMES`] order.
    pub fn to_array(&self) -> [f64; 5] {
        [
            self.max_leverage,
            self.fraction,
            self.fixed_tp_pct,
            self.vel_div_threshold,
            self.max_hold_bars,
        ]
    }

    /// Draws a perturbed copy: `base × exp(σ z)` per parameter, then kept valid for `cfg`:
    /// `max_leverage ≥ min_leverage`, `fraction ≤ 1`, the threshold strictly inside its
    /// extreme (|threshold| ≤ 0.95 |extreme|), `max_hold_bars` a whole number ≥ 1. Always
    /// consumes five normals, so the stream layout does not depend on which sigmas are 0.
    pub fn perturbed(
        &self,
        sigma: &Perturbation,
        cfg: &EngineConfig,
        rng: &mut SplitMix64,
    ) -> Self {
        let s = sigma.to_array();
        let mut v = self.to_array();
        for (x, s) in v.iter_mut().zip(s) {
            let z = rng.normal();
            if s > 0.0 {
                *x *= (s * z).exp();
            }
        }
        let extreme = cfg.thresholds().1;
        let thr_limit = 0.95 * extreme.abs();
        let thr = if v[3].abs() > thr_limit {
            v[3].signum() * thr_limit
        } else {
            v[3]
        };
        Self {
            max_leverage: v[0].max(cfg.min_leverage),
            fraction: v[1].min(1.0),
            fixed_tp_pct: v[2],
            vel_div_threshold: thr,
            max_hold_bars: v[4].round().max(1.0),
        }
    }
}

/// One Monte-Carlo path: its draws and its outcome (a line of `paths.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathResult {
    pub path: usize,
    /// Indices into the loaded days, in the order the path ran them.
    pub days: Vec<u32>,
    pub params: McParams,
    /// The engine's fill seed of this path.
    pub fill_seed: u32,
    /// final / initial − 1 (SPEC §5).
    pub final_roi: f64,
    /// Largest peak-to-trough fall after each trade (SPEC §5).
    pub max_drawdown: f64,
    pub trades: usize,
    pub win_rate: Option<f64>,
}

/// Percentiles (numpy linear), mean and std (ddof 0) of one outcome over all paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Distribution {
    /// The distribution of `values` (non-empty).
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let ones = vec![1.0; v.len()];
        let (mean, std) = weighted_mean_std(&v, &ones).expect("non-empty");
        Self {
            p5: percentile_of_sorted(&v, 5.0),
            p25: percentile_of_sorted(&v, 25.0),
            p50: percentile_of_sorted(&v, 50.0),
            p75: percentile_of_sorted(&v, 75.0),
            p95: percentile_of_sorted(&v, 95.0),
            mean,
            std,
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// The unweighted outcome of a whole run (all paths, every perturbation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McSummary {
    pub paths: usize,
    pub final_roi: Distribution,
    pub max_drawdown: Distribution,
    /// Share of paths with max drawdown > `dd_limit` (SPEC §3).
    pub catastrophic_probability: f64,
    /// P25(final ROI) / std(final ROI) (SPEC §3).
    pub envelope_score: f64,
    pub mean_trades: f64,
}

/// A finished run: the inputs that define it and the per-path table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McRun {
    pub mc: McConfig,
    pub base_config: EngineConfig,
    pub base: McParams,
    /// The loaded dates (the index space of [`PathResult::days`]).
    pub dates: Vec<UtcDate>,
    pub horizon_days: usize,
    pub paths: Vec<PathResult>,
}

impl McRun {
    /// The unweighted summary over all paths.
    pub fn summary(&self) -> McSummary {
        summarize(&self.paths, self.mc.dd_limit)
    }
}

/// Summary of a path table (non-empty).
pub fn summarize(paths: &[PathResult], dd_limit: f64) -> McSummary {
    let roi: Vec<f64> = paths.iter().map(|p| p.final_roi).collect();
    let dd: Vec<f64> = paths.iter().map(|p| p.max_drawdown).collect();
    let ones = vec![1.0; paths.len()];
    McSummary {
        paths: paths.len(),
        final_roi: Distribution::of(&roi),
        max_drawdown: Distribution::of(&dd),
        catastrophic_probability: crate::mc_stats::catastrophic_probability(&dd, &ones, dd_limit)
            .unwrap_or(0.0),
        envelope_score: envelope_score(&roi, &ones).unwrap_or(0.0),
        mean_trades: paths.iter().map(|p| p.trades as f64).sum::<f64>() / paths.len() as f64,
    }
}

/// Runs one engine over `order` (indices into `frames`), closing any open position where the
/// sequence is not the next calendar day of the same data, and at the end. Returns the
/// engine (trades, capital) and the day results.
pub fn run_engine(
    frames: &[DayFrame],
    order: &[usize],
    cfg: &EngineConfig,
    path: usize,
) -> Result<(NDAlphaEngine, Vec<DayResult>), McError> {
    let mut engine = NDAlphaEngine::new(cfg.clone()).map_err(McError::BaseConfig)?;
    let mut days = Vec::with_capacity(order.len());
    for (k, &d) in order.iter().enumerate() {
        let frame = &frames[d];
        let continues = order
            .get(k + 1)
            .is_some_and(|&n| n == d + 1 && frames[n].date == frame.date.succ());
        let day = engine
            .process_day(frame, DayContext::default(), !continues)
            .map_err(|source| McError::Engine {
                path,
                date: frame.date,
                source,
            })?;
        days.push(day);
    }
    Ok((engine, days))
}

/// [`run_engine`], reduced to the run's metrics (SPEC §5).
pub fn run_sequence(
    frames: &[DayFrame],
    order: &[usize],
    cfg: &EngineConfig,
    path: usize,
) -> Result<Summary, McError> {
    let (engine, days) = run_engine(frames, order, cfg, path)?;
    Ok(Summary::compute(
        cfg.initial_capital,
        engine.trade_history(),
        &days,
    ))
}

/// Draws and runs path `index` (see the module doc for the draw order).
pub fn run_path(
    frames: &[DayFrame],
    base_cfg: &EngineConfig,
    base: &McParams,
    mc: &McConfig,
    horizon: usize,
    index: usize,
) -> Result<PathResult, McError> {
    let mut rng = SplitMix64::for_path(mc.seed, index as u64);
    let order = bootstrap_days(&mut rng, frames.len(), horizon, mc.block_len, mc.bootstrap);
    let params = base.perturbed(&mc.perturbation, base_cfg, &mut rng);
    let fill_seed = if mc.vary_fill_seed {
        (rng.next_u64() >> 32) as u32
    } else {
        base_cfg.seed
    };
    let mut cfg = base_cfg.clone();
    params.apply(&mut cfg);
    cfg.seed = fill_seed;
    let s = run_sequence(frames, &order, &cfg, index)?;
    Ok(PathResult {
        path: index,
        days: order.iter().map(|&d| d as u32).collect(),
        params,
        fill_seed,
        final_roi: s.roi,
        max_drawdown: s.max_drawdown,
        trades: s.trades,
        win_rate: s.win_rate,
    })
}

/// [`simulate_with_progress`] without progress reports.
pub fn simulate(frames: &[DayFrame], base: &EngineConfig, mc: &McConfig) -> Result<McRun, McError> {
    simulate_with_progress(frames, base, mc, &|_| {})
}

/// Runs `mc.paths` paths over `frames` (in date order, shared by all paths) on the current
/// rayon pool. `progress(done)` is called after each finished path, from worker threads.
pub fn simulate_with_progress(
    frames: &[DayFrame],
    base: &EngineConfig,
    mc: &McConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<McRun, McError> {
    mc.validate()?;
    base.validate()
        .map_err(|e| McError::BaseConfig(EngineError::Config(e)))?;
    if frames.is_empty() {
        return Err(McError::NoDays);
    }
    for (i, w) in frames.windows(2).enumerate() {
        if w[1].date <= w[0].date {
            return Err(McError::DayOrder {
                index: i + 1,
                date: w[1].date,
                prev: w[0].date,
            });
        }
    }
    let horizon = mc.horizon_days.unwrap_or(frames.len());
    let base_params = McParams::of(base);
    let done = AtomicUsize::new(0);
    let paths = (0..mc.paths)
        .into_par_iter()
        .map(|i| {
            let r = run_path(frames, base, &base_params, mc, horizon, i);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            r
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(McRun {
        mc: mc.clone(),
        base_config: base.clone(),
        base: base_params,
        dates: frames.iter().map(|f| f.date).collect(),
        horizon_days: horizon,
        paths,
    })
}

/// [`simulate_with_progress`] on a pool of `threads` workers (`None`: rayon's global pool,
/// one worker per core). Returns the run and the number of workers used.
pub fn simulate_on_threads(
    frames: &[DayFrame],
    base: &EngineConfig,
    mc: &McConfig,
    threads: Option<usize>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(McRun, usize), McError> {
    match threads {
        None => Ok((
            simulate_with_progress(frames, base, mc, progress)?,
            rayon::current_num_threads(),
        )),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|_| McError::Config {
                    field: "threads",
                    value: n.to_string(),
                    reason: "cannot start a thread pool of this size",
                })?;
            let run = pool.install(|| simulate_with_progress(frames, base, mc, progress))?;
            Ok((run, pool.current_num_threads()))
        }
    }
}
