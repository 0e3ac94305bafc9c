//! The data of a sweep, read once and shared by every trial, and one trial's replay
//! (issue 17 item 1). The replay makes the same engine calls as `dolphin backtest`
//! (`begin_day`, `step_row` per row, END_OF_DATA on the last day, `end_day`), so a trial
//! without ACB, or with ACB in [`ThresholdMode::AllDates`], gives the backtest's trades
//! exactly; the causal ACB and sub-day updates of [`crate::causal_acb`] add
//! `update_acb_boost` calls between rows.

use crate::causal_acb::{DayStartAcb, ExpandingW750, Settlements, ThresholdMode, boost_of};
use crate::error::ResearchError;
use crate::stats;
use crate::trial::TrialConfig;
use dolphin_core::{DayFrame, ExternalFactors, UtcDate};
use dolphin_data::{list_day_files, load_external_factors, read_day_file};
use dolphin_engine::{
    DayContext, DayResult, ExitReason, NDAlphaEngine, NDTradeRecord, StepOutcome, Summary,
};
use dolphin_risk::AdaptiveCircuitBreaker;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Day files and ACB inputs, loaded once.
#[derive(Debug, Clone)]
pub struct ResearchData {
    pub dir: PathBuf,
    pub frames: Vec<DayFrame>,
    pub factors: BTreeMap<UtcDate, ExternalFactors>,
    pub settlements: Settlements,
    /// SHA-256 over the day files' names and bytes and the factor inputs (first 16 hex).
    pub fingerprint: String,
}

impl ResearchData {
    /// Reads every day file of `dir` (in parallel) and the optional factor tables.
    pub fn load(
        dir: &Path,
        indicators: Option<&Path>,
        funding: Option<&Path>,
    ) -> Result<Self, ResearchError> {
        let files = list_day_files(dir, None, None)?;
        if files.is_empty() {
            return Err(ResearchError::Other(format!(
                "no day files (YYYY-MM-DD.parquet) in {}",
                dir.display()
            )));
        }
        let read: Vec<Result<(DayFrame, Vec<u8>), ResearchError>> = files
            .par_iter()
            .map(|(_, p)| {
                let frame = read_day_file(p)?;
                let bytes = std::fs::read(p).map_err(|e| ResearchError::io("read", p, e))?;
                Ok((frame, bytes))
            })
            .collect();
        let mut frames = Vec::with_capacity(files.len());
        let mut h = Sha256::new();
        for ((_, p), r) in files.iter().zip(read) {
            let (frame, bytes) = r?;
            h.update(
                p.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            h.update(Sha256::digest(&bytes));
            frames.push(frame);
        }
        let factors = load_external_factors(indicators, funding)?;
        let settlements = load_settlements(indicators, funding)?;
        h.update(serde_json::to_vec(&factors).unwrap_or_default());
        for (t, r) in &settlements.0 {
            h.update(t.to_le_bytes());
            h.update(r.to_le_bytes());
        }
        let fingerprint = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            dir: dir.to_path_buf(),
            frames,
            factors,
            settlements,
            fingerprint,
        })
    }

    /// Dates of the day files, in order.
    pub fn dates(&self) -> Vec<UtcDate> {
        self.frames.iter().map(|f| f.date).collect()
    }

    /// Rows over all day files.
    pub fn bars(&self) -> u64 {
        self.frames.iter().map(|f| f.len() as u64).sum()
    }

    /// The replay inputs of the whole data set.
    pub fn inputs(&self) -> ReplayInputs<'_> {
        ReplayInputs {
            frames: &self.frames,
            factors: &self.factors,
            settlements: &self.settlements,
        }
    }
}

/// BTCUSDT funding settlements from `funding/BTCUSDT-funding.csv` (`calc_time,…,rate`) and
/// `indicators/funding_rate_btcusdt_8h.csv` (`time,rate`), merged: a settlement of the 8 h file
/// within 999 ms of one of the per-symbol file is the same settlement (the per-symbol one is
/// kept). Errors name file and line.
pub fn load_settlements(
    indicators: Option<&Path>,
    funding: Option<&Path>,
) -> Result<Settlements, ResearchError> {
    let mut sym = match funding.map(|d| d.join("BTCUSDT-funding.csv")) {
        Some(p) if p.is_file() => read_settlements(&p, 2)?,
        _ => Vec::new(),
    };
    let eight = match indicators.map(|d| d.join("funding_rate_btcusdt_8h.csv")) {
        Some(p) if p.is_file() => read_settlements(&p, 1)?,
        _ => Vec::new(),
    };
    sym.sort_by_key(|s| s.0);
    let mut out = sym.clone();
    for s in eight {
        let i = sym.partition_point(|x| x.0 < s.0 - 999);
        let dup = sym.get(i).is_some_and(|x| (x.0 - s.0).abs() <= 999);
        if !dup {
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.0);
    Ok(Settlements(out))
}

fn read_settlements(path: &Path, rate_col: usize) -> Result<Vec<(i64, f64)>, ResearchError> {
    let text = std::fs::read_to_string(path).map_err(|e| ResearchError::io("read", path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with(|c: char| c.is_ascii_alphabetic())) {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let bad = |what: &str| {
            ResearchError::Other(format!(
                "{} line {}: {what}: `{line}`",
                path.display(),
                i + 1
            ))
        };
        let t: i64 = f
            .first()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| bad("bad time"))?;
        let r: f64 = f
            .get(rate_col)
            .and_then(|s| s.trim().parse().ok())
            .filter(|r: &f64| r.is_finite())
            .ok_or_else(|| bad("bad rate"))?;
        out.push((t, r));
    }
    Ok(out)
}

/// What a replay reads.
#[derive(Debug, Clone, Copy)]
pub struct ReplayInputs<'a> {
    pub frames: &'a [DayFrame],
    pub factors: &'a BTreeMap<UtcDate, ExternalFactors>,
    pub settlements: &'a Settlements,
}

/// Called after every row: the engine, the day frame, the row, what happened.
pub type RowObserver<'o> = dyn FnMut(&NDAlphaEngine, &DayFrame, usize, StepOutcome) + 'o;

/// Replays `trial` over the inputs. `close_at_end` closes an open position on the last row
/// (END_OF_DATA), as `dolphin backtest` does. Returns the trades and day results.
pub fn replay(
    inputs: ReplayInputs<'_>,
    trial: &TrialConfig,
    close_at_end: bool,
    observer: &mut RowObserver<'_>,
) -> Result<(Vec<NDTradeRecord>, Vec<DayResult>), ResearchError> {
    let mut engine = NDAlphaEngine::new(trial.engine.clone())?;
    let acb = &trial.acb;
    let causal = acb.enabled && acb.threshold == ThresholdMode::Expanding;
    if acb.enabled {
        match acb.threshold {
            ThresholdMode::AllDates => {
                let a = AdaptiveCircuitBreaker::from_day_frames(
                    acb.params.clone(),
                    inputs.factors.clone(),
                    inputs.frames.iter(),
                )?;
                engine.set_acb(Box::new(a));
            }
            ThresholdMode::Expanding => {
                engine.set_acb(Box::new(DayStartAcb {
                    factors: inputs.factors.clone(),
                    cfg: acb.params.clone(),
                }));
            }
        }
    }
    let mut expanding = ExpandingW750::default();
    let first_rows = acb.params.w750_first_rows;
    let mut days = Vec::with_capacity(inputs.frames.len());
    let n = inputs.frames.len();
    for (i, frame) in inputs.frames.iter().enumerate() {
        engine.begin_day(frame.date, &frame.assets, DayContext::default())?;
        let day_factors = inputs.factors.get(&frame.date).copied();
        let mut last_settlement = None;
        let mut beta_known = false;
        for r in 0..frame.len() {
            if acb.enabled && acb.subday_funding {
                let s = inputs.settlements.at(frame.timestamp[r]);
                if r == 0 {
                    last_settlement = s;
                } else if s != last_settlement {
                    last_settlement = s;
                    let f = day_factors.map(|mut f| {
                        f.funding_btc = s.map(|x| x.1);
                        f
                    });
                    let boost = boost_of(f.as_ref(), &acb.params);
                    if boost != engine.day_base_boost() {
                        let beta = engine.day_beta();
                        engine.update_acb_boost(boost, beta);
                    }
                }
            }
            if causal && !beta_known && r == first_rows {
                beta_known = true;
                let beta =
                    expanding.beta_after_first_rows(&frame.v750_vel, &acb.params, acb.min_dates);
                let boost = engine.day_base_boost();
                engine.update_acb_boost(boost, beta);
            }
            let out = engine.step_row(frame, r)?;
            observer(&engine, frame, r, out);
        }
        if causal && !beta_known {
            // A day shorter than the first-rows window: its w750 still counts for later dates.
            expanding.beta_after_first_rows(&frame.v750_vel, &acb.params, acb.min_dates);
        }
        if close_at_end && i + 1 == n {
            engine.close_end_of_data();
        }
        days.push(engine.end_day()?);
    }
    Ok((engine.trade_history().to_vec(), days))
}

/// The metrics of one trial (SPEC §5 "Metrics"; `Summary` of `dolphin backtest`) plus the
/// non-annualised daily Sharpe and exit counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub roi: f64,
    pub sharpe: Option<f64>,
    /// Daily mean / std (ddof 1), not annualised (the deflated Sharpe ratio's SR).
    pub sharpe_daily: Option<f64>,
    pub profit_factor: Option<f64>,
    pub max_drawdown: f64,
    pub win_rate: Option<f64>,
    pub trades: u64,
    pub final_capital: f64,
    pub exits_fixed_tp: u64,
    pub exits_max_hold: u64,
    pub exits_vd_adverse: u64,
    pub exits_subday_acb: u64,
    pub exits_other: u64,
}

/// One trial's result: what the results parquet and the Redis results hash hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Position in the sweep's list of trials.
    pub trial: u64,
    pub hash: String,
    pub config: TrialConfig,
    pub metrics: Metrics,
    /// Day pnl / capital at the day's start, one per day file.
    pub day_returns: Vec<f64>,
    /// Trades closed per day.
    pub day_trades: Vec<u32>,
}

/// Runs one trial over the whole data (END_OF_DATA on the last day).
pub fn run_trial(
    data: &ResearchData,
    index: u64,
    trial: &TrialConfig,
) -> Result<TrialRecord, ResearchError> {
    let (trades, days) = replay(data.inputs(), trial, true, &mut |_, _, _, _| {})?;
    Ok(record(index, trial, &trades, &days))
}

/// Builds a record from a replay's trades and days.
pub fn record(
    index: u64,
    trial: &TrialConfig,
    trades: &[NDTradeRecord],
    days: &[DayResult],
) -> TrialRecord {
    let s = Summary::compute(trial.engine.initial_capital, trades, days);
    let day_returns: Vec<f64> = days.iter().map(|d| d.pnl / d.start_capital).collect();
    let count = |r: ExitReason| trades.iter().filter(|t| t.reason == r).count() as u64;
    let (tp, mh, vd, sd) = (
        count(ExitReason::FixedTp),
        count(ExitReason::MaxHold),
        count(ExitReason::VdAdverse),
        count(ExitReason::SubdayAcbNormalization),
    );
    TrialRecord {
        trial: index,
        hash: trial.hash(),
        config: trial.clone(),
        metrics: Metrics {
            roi: s.roi,
            sharpe: s.sharpe,
            sharpe_daily: stats::sharpe(&day_returns),
            profit_factor: s.profit_factor,
            max_drawdown: s.max_drawdown,
            win_rate: s.win_rate,
            trades: s.trades as u64,
            final_capital: s.final_capital,
            exits_fixed_tp: tp,
            exits_max_hold: mh,
            exits_vd_adverse: vd,
            exits_subday_acb: sd,
            exits_other: s.trades as u64 - tp - mh - vd - sd,
        },
        day_returns,
        day_trades: days.iter().map(|d| d.trades).collect(),
    }
}
