//! The MC-Forewarner's run configuration (SPEC §3 "MC-Forewarner", seeds B §12, §16.4): how
//! many paths over how many days, the block bootstrap, the catastrophe limit, and the
//! perturbation of the engine parameters each path draws ([`McParams`]).

use crate::block_bootstrap::BootstrapKind;
use crate::mc_error::McError;
use crate::split_mix::SplitMix64;
use dolphin_core::Direction;
use dolphin_engine::EngineConfig;
use serde::{Deserialize, Serialize};

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
