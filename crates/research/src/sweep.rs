//! A sweep from plan to outputs (issue 17 items 1–2): run the configurations not yet in the
//! results (locally on all cores, or through Redis workers, [`crate::queue`]), then write
//! `results.parquet`, `report.json` (ranking, walk-forward, deflated Sharpe, PBO), heatmaps
//! and the best configurations as YAML (`champion: false`; never `configs/blue.yml`).
//! Outputs are deterministic: the same spec, seed and data give the same bytes.

use crate::dsr::{DeflatedSharpe, deflated_sharpe};
use crate::error::ResearchError;
use crate::folds::{Fold, FoldMode, fold_score, make_folds, slice_metrics};
use crate::heatmap::plot_heatmap;
use crate::pbo::{Pbo, pbo, sharpe_or_zero};
use crate::replay::{ResearchData, TrialRecord, run_trial};
use crate::results::{metric_value, read_results, write_results};
use crate::spec::{PlannedTrial, SweepSpec};
use crate::stats::{annualise, compound, sharpe};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `sweep.json`: what the results in a folder were computed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepMeta {
    pub name: String,
    pub data: String,
    pub fingerprint: String,
    pub days: usize,
}

/// Results of an output folder: previous records by hash.
pub struct SweepState {
    pub out: PathBuf,
    pub done: BTreeMap<String, TrialRecord>,
    meta: SweepMeta,
}

impl SweepState {
    /// Opens (creates) `out`, reading earlier results. Refuses results made on other data and
    /// a folder that holds the configuration files.
    pub fn open(out: &Path, spec: &SweepSpec, data: &ResearchData) -> Result<Self, ResearchError> {
        if out.join("blue.yml").exists() {
            return Err(ResearchError::Other(format!(
                "{} holds blue.yml: a sweep never writes into the configuration folder",
                out.display()
            )));
        }
        std::fs::create_dir_all(out).map_err(|e| ResearchError::io("create", out, e))?;
        let meta = SweepMeta {
            name: spec.name.clone(),
            data: data.dir.display().to_string(),
            fingerprint: data.fingerprint.clone(),
            days: data.frames.len(),
        };
        let meta_path = out.join("sweep.json");
        let results = out.join("results.parquet");
        let mut done = BTreeMap::new();
        if results.exists() {
            if let Ok(text) = std::fs::read_to_string(&meta_path) {
                let old: SweepMeta = serde_json::from_str(&text)
                    .map_err(|e| ResearchError::Other(format!("{}: {e}", meta_path.display())))?;
                if old.fingerprint != meta.fingerprint {
                    return Err(ResearchError::Other(format!(
                        "{} holds results computed on other data (fingerprint {} of {}, now {} of {}); use another --out",
                        out.display(),
                        old.fingerprint,
                        old.data,
                        meta.fingerprint,
                        meta.data
                    )));
                }
            }
            for r in read_results(&results)? {
                done.insert(r.hash.clone(), r);
            }
        }
        let mut bytes = serde_json::to_vec_pretty(&meta).expect("meta serialises");
        bytes.push(b'\n');
        write(&meta_path, &bytes)?;
        Ok(Self {
            out: out.to_path_buf(),
            done,
            meta,
        })
    }

    /// The planned trials whose hash is not in the results yet.
    pub fn todo<'a>(&self, plan: &'a [PlannedTrial]) -> Vec<&'a PlannedTrial> {
        plan.iter()
            .filter(|t| !self.done.contains_key(&t.hash))
            .collect()
    }

    /// Adds computed records.
    pub fn add(&mut self, records: Vec<TrialRecord>) {
        for r in records {
            self.done.insert(r.hash.clone(), r);
        }
    }

    /// The metadata written to `sweep.json`.
    pub fn meta(&self) -> &SweepMeta {
        &self.meta
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ResearchError> {
    dolphin_runtime::report::write_atomic(path, bytes)
        .map_err(|e| ResearchError::Other(format!("write {}: {e}", path.display())))
}

/// Runs `todo` on all cores (rayon); `tick` is called after each configuration. The records
/// come back in `todo`'s order whatever the scheduling.
pub fn run_local(
    data: &ResearchData,
    todo: &[&PlannedTrial],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<TrialRecord>, ResearchError> {
    todo.par_iter()
        .map(|t| {
            let r = run_trial(data, t.index, &t.config);
            tick();
            r
        })
        .collect()
}

/// One fold of the walk-forward.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardFold {
    pub k: usize,
    pub train: String,
    pub test: String,
    pub chosen_trial: u64,
    pub chosen_hash: String,
    pub train_score: f64,
    pub test_sharpe: f64,
    pub test_roi: f64,
    pub test_trades: u64,
    /// The baseline (trial 0) on the same test days, when the spec includes it.
    pub base_test_sharpe: Option<f64>,
    pub base_test_roi: Option<f64>,
}

/// The walk-forward over all folds: each fold's chosen configuration out of sample, and the
/// out-of-sample days concatenated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForward {
    pub mode: FoldMode,
    /// What ranked configurations in the training windows (the metric, or sharpe when the
    /// metric needs trades rather than daily returns).
    pub score: String,
    pub folds: Vec<WalkForwardFold>,
    pub oos_days: usize,
    pub oos_sharpe: Option<f64>,
    pub oos_roi: f64,
    pub base_oos_sharpe: Option<f64>,
    pub base_oos_roi: Option<f64>,
}

/// A ranked row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub rank: usize,
    pub trial: u64,
    pub hash: String,
    pub point: BTreeMap<String, serde_json::Value>,
    pub metric: Option<f64>,
    pub roi: f64,
    pub sharpe: Option<f64>,
    pub profit_factor: Option<f64>,
    pub max_drawdown: f64,
    pub win_rate: Option<f64>,
    pub trades: u64,
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub name: String,
    pub data: String,
    pub fingerprint: String,
    pub days: usize,
    pub first_day: String,
    pub last_day: String,
    pub configurations: usize,
    pub metric: String,
    pub ranked: Vec<Ranked>,
    pub base: Option<Ranked>,
    pub walk_forward: Option<WalkForward>,
    pub deflated_sharpe: Option<DeflatedSharpe>,
    pub pbo: Option<Pbo>,
    pub heatmaps: Vec<String>,
    pub best_configs: Vec<String>,
}

/// Whether a metric is minimised.
pub fn minimised(metric: &str) -> bool {
    metric == "max_drawdown"
}

/// Sorts records best first by `metric` (undefined last, ties by trial index).
pub fn rank<'a>(records: &[&'a TrialRecord], metric: &str) -> Vec<&'a TrialRecord> {
    let key = |r: &TrialRecord| {
        let v = metric_value(&r.metrics, metric).filter(|v| v.is_finite());
        match v {
            Some(v) if minimised(metric) => -v,
            Some(v) => v,
            None => f64::NEG_INFINITY,
        }
    };
    let mut v = records.to_vec();
    v.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.trial.cmp(&b.trial)));
    v
}

/// Analyses the plan's records and writes every output. Returns the report.
pub fn finish(
    state: &SweepState,
    spec: &SweepSpec,
    plan: &[PlannedTrial],
    data: &ResearchData,
    folds_k: usize,
    fold_mode: FoldMode,
) -> Result<SweepReport, ResearchError> {
    let out = &state.out;
    // Records of the plan, in plan order, re-indexed to the plan.
    let mut records: Vec<TrialRecord> = Vec::with_capacity(plan.len());
    for t in plan {
        let mut r = state.done.get(&t.hash).cloned().ok_or_else(|| {
            ResearchError::Other(format!("trial {} ({}) has no result", t.index, t.hash))
        })?;
        r.trial = t.index;
        records.push(r);
    }
    // Earlier rows not in this plan are kept after the plan's rows.
    let in_plan: std::collections::HashSet<&str> = plan.iter().map(|t| t.hash.as_str()).collect();
    let mut all = records.clone();
    all.extend(
        state
            .done
            .values()
            .filter(|r| !in_plan.contains(r.hash.as_str()))
            .cloned(),
    );
    let days = data.frames.len();
    let folds: Vec<Fold> = make_folds(days, folds_k, fold_mode)?;
    let mut params: Vec<String> = spec.fixed.keys().cloned().collect();
    params.extend(spec.params.keys().cloned());
    params.sort();
    params.dedup();
    write_results(&out.join("results.parquet"), &all, &params, &folds)?;

    let refs: Vec<&TrialRecord> = records.iter().collect();
    let ranked = rank(&refs, &spec.metric);
    let row = |i: usize, r: &TrialRecord| Ranked {
        rank: i + 1,
        trial: r.trial,
        hash: r.hash.clone(),
        point: spec
            .params
            .keys()
            .map(|p| (p.clone(), r.config.get(p).unwrap_or_default()))
            .collect(),
        metric: metric_value(&r.metrics, &spec.metric),
        roi: r.metrics.roi,
        sharpe: r.metrics.sharpe,
        profit_factor: r.metrics.profit_factor,
        max_drawdown: r.metrics.max_drawdown,
        win_rate: r.metrics.win_rate,
        trades: r.metrics.trades,
    };
    let base = spec.include_base.then(|| records.first()).flatten();

    // Walk-forward.
    let walk_forward = (!folds.is_empty()).then(|| {
        let mut oos = Vec::new();
        let mut base_oos = Vec::new();
        let mut wf = Vec::new();
        for f in &folds {
            let mut best: Option<(&TrialRecord, f64)> = None;
            for r in &records {
                let s = fold_score(
                    &slice_metrics(&r.day_returns, &r.day_trades, f.train.clone()),
                    &spec.metric,
                );
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((r, s));
                }
            }
            let (r, s) = best.expect("a plan has at least one trial");
            let m = slice_metrics(&r.day_returns, &r.day_trades, f.test.clone());
            oos.extend_from_slice(&r.day_returns[f.test.clone()]);
            let bm = base.map(|b| slice_metrics(&b.day_returns, &b.day_trades, f.test.clone()));
            if let Some(b) = base {
                base_oos.extend_from_slice(&b.day_returns[f.test.clone()]);
            }
            let dates = data.dates();
            let span =
                |r: &std::ops::Range<usize>| format!("{}..{}", dates[r.start], dates[r.end - 1]);
            wf.push(WalkForwardFold {
                k: f.k,
                train: span(&f.train),
                test: span(&f.test),
                chosen_trial: r.trial,
                chosen_hash: r.hash.clone(),
                train_score: s,
                test_sharpe: m.sharpe,
                test_roi: m.roi,
                test_trades: m.trades,
                base_test_sharpe: bm.map(|m| m.sharpe),
                base_test_roi: bm.map(|m| m.roi),
            });
        }
        WalkForward {
            mode: fold_mode,
            score: if spec.metric == "roi" {
                "roi".into()
            } else {
                "sharpe".into()
            },
            folds: wf,
            oos_days: oos.len(),
            oos_sharpe: sharpe(&oos).map(annualise),
            oos_roi: compound(&oos),
            base_oos_sharpe: base.and_then(|_| sharpe(&base_oos).map(annualise)),
            base_oos_roi: base.map(|_| compound(&base_oos)),
        }
    });

    // Overfitting guards for the sweep as a whole.
    let sharpes: Vec<f64> = records
        .iter()
        .filter_map(|r| r.metrics.sharpe_daily)
        .collect();
    let deflated = ranked
        .first()
        .and_then(|best| deflated_sharpe(&best.day_returns, &sharpes));
    let pbo_result = if records.len() >= 2 && days >= spec.pbo_blocks {
        let m: Vec<Vec<f64>> = records.iter().map(|r| r.day_returns.clone()).collect();
        Some(pbo(&m, spec.pbo_blocks, sharpe_or_zero)?)
    } else {
        None
    };

    // Heatmaps of every pair of numeric swept parameters (at most 15 pairs).
    let numeric: Vec<&String> = spec
        .params
        .keys()
        .filter(|p| {
            records
                .iter()
                .all(|r| r.config.get(p).is_some_and(|v| v.is_number()))
        })
        .collect();
    let mut heatmaps = Vec::new();
    let hdir = out.join("heatmaps");
    'pairs: for (i, a) in numeric.iter().enumerate() {
        for b in &numeric[i + 1..] {
            if heatmaps.len() >= 15 {
                break 'pairs;
            }
            std::fs::create_dir_all(&hdir).map_err(|e| ResearchError::io("create", &hdir, e))?;
            let name = format!("{}__{}.png", a.replace('.', "_"), b.replace('.', "_"));
            let title = format!("{}: best {} per cell", spec.name, spec.metric);
            if plot_heatmap(
                &hdir.join(&name),
                &records,
                a,
                b,
                &spec.metric,
                minimised(&spec.metric),
                &title,
            )? {
                heatmaps.push(format!("heatmaps/{name}"));
            }
        }
    }

    // Best configurations as YAML, never the champion.
    let bdir = out.join("best");
    let mut best_configs = Vec::new();
    for (i, r) in ranked.iter().take(spec.top).enumerate() {
        std::fs::create_dir_all(&bdir).map_err(|e| ResearchError::io("create", &bdir, e))?;
        let name = format!("rank{:02}-{}.yml", i + 1, r.hash);
        let sys = r
            .config
            .to_system(&format!("{}-rank{}-{}", spec.name, i + 1, r.hash));
        let mut text = format!(
            "# Written by `dolphin sweep` ({}), rank {} by {} = {}. NOT the champion:\n\
             # a research variant (`champion: false`); configs/blue.yml is never written.\n\
             # ACB settings of this trial (not part of this file's schema): {}\n",
            spec.name,
            i + 1,
            spec.metric,
            metric_value(&r.metrics, &spec.metric).map_or("n/a".into(), |v| format!("{v}")),
            serde_json::to_string(&r.config.acb).expect("acb serialises"),
        );
        text.push_str(
            &serde_yaml::to_string(&sys).map_err(|e| ResearchError::Other(e.to_string()))?,
        );
        // The file must load as a system config (and not as the champion).
        dolphin_runtime::SystemConfig::from_yaml(&text, &name)?;
        write(&bdir.join(&name), text.as_bytes())?;
        best_configs.push(format!("best/{name}"));
    }

    let dates = data.dates();
    let report = SweepReport {
        name: spec.name.clone(),
        data: state.meta().data.clone(),
        fingerprint: data.fingerprint.clone(),
        days,
        first_day: dates.first().map(|d| d.to_string()).unwrap_or_default(),
        last_day: dates.last().map(|d| d.to_string()).unwrap_or_default(),
        configurations: records.len(),
        metric: spec.metric.clone(),
        ranked: ranked
            .iter()
            .take(spec.top.max(10))
            .enumerate()
            .map(|(i, r)| row(i, r))
            .collect(),
        base: base.map(|b| row(ranked.iter().position(|r| r.hash == b.hash).unwrap_or(0), b)),
        walk_forward,
        deflated_sharpe: deflated,
        pbo: pbo_result,
        heatmaps,
        best_configs,
    };
    let mut bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    bytes.push(b'\n');
    write(&out.join("report.json"), &bytes)?;
    Ok(report)
}

/// The ranked table as text (top `n` rows).
pub fn ranked_table(report: &SweepReport, n: usize) -> String {
    let params: Vec<String> = report
        .ranked
        .first()
        .map(|r| r.point.keys().cloned().collect())
        .unwrap_or_default();
    let mut head = vec!["rank".to_string(), "trial".into(), "hash".into()];
    head.extend(
        params
            .iter()
            .map(|p| p.rsplit('.').next().unwrap_or(p).to_string()),
    );
    head.extend(["roi %", "sharpe", "pf", "max dd %", "wr %", "trades"].map(String::from));
    let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut push = |r: &Ranked, label: String| {
        let mut row = vec![label, r.trial.to_string(), r.hash.clone()];
        for p in &params {
            row.push(match r.point.get(p) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => "-".into(),
            });
        }
        row.push(format!("{:.2}", r.roi * 100.0));
        row.push(f(r.sharpe, 2));
        row.push(f(r.profit_factor, 3));
        row.push(format!("{:.2}", r.max_drawdown * 100.0));
        row.push(f(r.win_rate.map(|w| w * 100.0), 1));
        row.push(r.trades.to_string());
        rows.push(row);
    };
    for r in report.ranked.iter().take(n) {
        push(r, r.rank.to_string());
    }
    if let Some(b) = &report.base {
        push(b, format!("base({})", b.rank));
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut s = format!("{}\n", line(&head));
    for r in &rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    s
}
