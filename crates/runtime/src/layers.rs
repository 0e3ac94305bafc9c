//! The risk layers a backtest can switch on (issue 4 item 5): ACBv6 from indicator tables
//! and the day files' w750, the survival stack from a posture trace, the MC-Forewarner from
//! an envelope model. Each is built here; [`crate::providers::build_providers`] puts them into
//! the one [`crate::providers::Providers`] value a run installs into its engines.

use dolphin_core::{InputWarning, InputWarnings, RowUnit, UtcDate};
use dolphin_data::{
    DataError, is_ng3_folder, load_external_factors, load_ng3_indicators, read_v750_head,
};
use dolphin_risk::{
    AcbConfig, AcbError, AcbExplain, AdaptiveCircuitBreaker, McError, PostureTrace,
    PostureTraceError, SurvivalConfig, w750_of_first_rows,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Errors building a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("ACB: {0}")]
    Acb(#[from] AcbError),
    #[error("posture trace: {0}")]
    Posture(#[from] PostureTraceError),
    #[error("OB features: {0}")]
    Ob(#[from] dolphin_orderbook::TableError),
    #[error("MC-Forewarner: {0}")]
    Mc(#[from] McError),
    #[error(
        "ACB: {}: an NG3 folder carries funding_btc in its Indicators files; drop --funding {}",
        dir.display(),
        funding.display()
    )]
    Ng3WithFunding { dir: PathBuf, funding: PathBuf },
    #[error("posture trace: {}: no readings (the file is empty or blank)", path.display())]
    EmptyPostureTrace { path: PathBuf },
}

/// Which layers a run had on (printed and written to `run.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Layers {
    pub acb: bool,
    pub survival_stack: bool,
    pub mc_forewarner: bool,
    pub ob: bool,
}

impl Layers {
    /// "ACB+SURVIVAL" style label; "none" when nothing is on.
    pub fn label(&self) -> String {
        let mut v = Vec::new();
        if self.acb {
            v.push("ACBv6");
        }
        if self.survival_stack {
            v.push("survival stack");
        }
        if self.mc_forewarner {
            v.push("MC-Forewarner");
        }
        if self.ob {
            v.push("OB");
        }
        if v.is_empty() {
            "none (IRP + DC + alpha layers only)".into()
        } else {
            v.join(" + ")
        }
    }
}

/// Builds ACBv6: external factors from `indicators` (and per-symbol `funding`) tables, w750
/// from the first rows of every day file of the run (threshold over all of them).
/// `indicators` may also be a folder of NG3 output (`YYYY-MM-DD/scan_*__Indicators.npz`,
/// B §3.2; SPEC §3), which carries `funding_btc` itself and so excludes `funding`. Accepted
/// input defects are added to `warnings`.
pub fn build_acb(
    indicators: Option<&Path>,
    funding: Option<&Path>,
    files: &[(UtcDate, PathBuf)],
    warnings: &mut InputWarnings,
) -> Result<AdaptiveCircuitBreaker, LayerError> {
    let factors = match indicators {
        Some(dir) if is_ng3_folder(dir) => {
            if let Some(f) = funding {
                return Err(LayerError::Ng3WithFunding {
                    dir: dir.to_path_buf(),
                    funding: f.to_path_buf(),
                });
            }
            load_ng3_indicators(dir, warnings)?
        }
        _ => load_external_factors(indicators, funding)?,
    };
    // Each day's w750 from the first rows of its `v750_lambda_max_velocity` column only (the
    // run reads every file whole anyway; a full read here cost as much as the run's own).
    let config = AcbConfig::default();
    let rows = config.w750_first_rows;
    let mut w750 = std::collections::BTreeMap::new();
    for (date, p) in files {
        if let Some(w) = w750_of_first_rows(&read_v750_head(p, rows)?, rows) {
            w750.insert(*date, w);
        }
    }
    Ok(AdaptiveCircuitBreaker::new(config, factors, w750)?)
}

/// The per-date ACB explanations of a run (`acb.jsonl`).
pub fn explain_acb(acb: &AdaptiveCircuitBreaker, files: &[(UtcDate, PathBuf)]) -> Vec<AcbExplain> {
    files.iter().map(|(d, _)| acb.explain(*d, None)).collect()
}

/// Loads a posture trace; it answers each date's context at its 00:00 UTC
/// ([`crate::providers::PostureSource`]). A trace without readings is an error; readings that
/// repeat the previous one's `ts_ms` are applied in file order and each is a warning.
pub fn posture_trace(
    path: &Path,
    warnings: &mut InputWarnings,
) -> Result<PostureTrace, LayerError> {
    let trace = PostureTrace::load(path, SurvivalConfig::default())?;
    if trace.points().is_empty() {
        return Err(LayerError::EmptyPostureTrace {
            path: path.to_path_buf(),
        });
    }
    for (i, w) in trace.points().windows(2).enumerate() {
        if w[0].0 == w[1].0 {
            warnings.push(InputWarning::new(
                path.display(),
                RowUnit::Item,
                Some(i as u64 + 2),
                "ts_ms",
                format!(
                    "reading repeats the previous reading's ts_ms {}: both applied in file order",
                    w[1].0
                ),
            ));
        }
    }
    Ok(trace)
}
