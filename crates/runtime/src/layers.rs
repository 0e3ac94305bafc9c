//! The risk layers a backtest can switch on (issue 4 item 5): ACBv6 from indicator tables
//! and the day files' w750, the survival stack from a posture trace, the MC-Forewarner from
//! an envelope model. Each is built here; [`crate::providers::build_providers`] puts them into
//! the one [`crate::providers::Providers`] value a run installs into its engines.

use dolphin_core::UtcDate;
use dolphin_data::{DataError, load_external_factors, read_day_file};
use dolphin_risk::{
    AcbConfig, AcbError, AcbExplain, AdaptiveCircuitBreaker, McError, PostureTrace,
    PostureTraceError, SurvivalConfig,
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
pub fn build_acb(
    indicators: Option<&Path>,
    funding: Option<&Path>,
    files: &[(UtcDate, PathBuf)],
) -> Result<AdaptiveCircuitBreaker, LayerError> {
    let factors = load_external_factors(indicators, funding)?;
    let mut frames = Vec::with_capacity(files.len());
    for (_, p) in files {
        frames.push(read_day_file(p)?);
    }
    Ok(AdaptiveCircuitBreaker::from_day_frames(
        AcbConfig::default(),
        factors,
        frames.iter(),
    )?)
}

/// The per-date ACB explanations of a run (`acb.jsonl`).
pub fn explain_acb(acb: &AdaptiveCircuitBreaker, files: &[(UtcDate, PathBuf)]) -> Vec<AcbExplain> {
    files.iter().map(|(d, _)| acb.explain(*d, None)).collect()
}

/// Loads a posture trace; it answers each date's context at its 00:00 UTC
/// ([`crate::providers::PostureSource`]).
pub fn posture_trace(path: &Path) -> Result<PostureTrace, LayerError> {
    Ok(PostureTrace::load(path, SurvivalConfig::default())?)
}
