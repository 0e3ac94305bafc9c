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

use crate::block_bootstrap::bootstrap_days;
use crate::mc_stats::{envelope_score, weighted_mean_std};
use crate::percentile::percentile_of_sorted;
use crate::split_mix::SplitMix64;
use dolphin_core::{DayFrame, UtcDate};
use dolphin_engine::{DayContext, DayResult, EngineConfig, EngineError, NDAlphaEngine, Summary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use crate::mc_config::{McConfig, McParams, Perturbation};
pub use crate::mc_error::McError;

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
