//! The owned providers value (issue 16): the optional ACB, MC-Forewarner and OB providers of the
//! engine (B §10, §12, §9) and the source of each day's posture and Rm (B §11, §14.1 step 3).
//!
//! [`Providers`] is built in one place — [`build_providers`] from what the command line names
//! (indicator and funding tables, a posture trace, an OB feature table, an MC envelope) — or
//! from any provider values ([`Providers::with_acb`] …; the services supply store-backed ones).
//! It is cheap to clone (each provider sits behind an `Arc`) and [`Providers::install`] may be
//! called on any number of fresh engines: a restarted actor gets the same providers back.
//! `dolphin backtest` (standalone and `--engine nautilus`), `dolphin paper` and the services
//! all hand this one value to whatever builds their engine.

use crate::layers::{LayerError, Layers, build_acb, explain_acb, posture_trace};
use dolphin_core::{InputWarnings, UtcDate};
use dolphin_engine::{AcbProvider, DayContext, McForewarner, NDAlphaEngine, ObProvider};
use dolphin_risk::{AcbExplain, PostureTrace};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where each day's governance context (survival-stack posture and Rm, SPEC D4/D5) comes from
/// when it is not the store: a replayed trace in a backtest, a service's own stack, a test.
pub trait PostureSource: Send + Sync {
    /// The posture and Rm that govern `date` (read once, at the date's start).
    fn day_context(&self, date: UtcDate) -> DayContext;
}

impl<F: Fn(UtcDate) -> DayContext + Send + Sync> PostureSource for F {
    fn day_context(&self, date: UtcDate) -> DayContext {
        self(date)
    }
}

/// A recorded posture history answers each date with the stack's state at its 00:00 UTC.
impl PostureSource for PostureTrace {
    fn day_context(&self, date: UtcDate) -> DayContext {
        let (posture, rm) = self.posture_at(date.start_ms());
        DayContext { posture, rm }
    }
}

/// The engine's optional providers and the posture source, owned and shareable.
#[derive(Clone, Default)]
pub struct Providers {
    acb: Option<Arc<dyn AcbProvider>>,
    mc: Option<Arc<dyn McForewarner>>,
    ob: Option<Arc<dyn ObProvider>>,
    posture: Option<Arc<dyn PostureSource>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("acb", &self.acb.is_some())
            .field("mc", &self.mc.is_some())
            .field("ob", &self.ob.is_some())
            .field("posture", &self.posture.is_some())
            .finish()
    }
}

impl Providers {
    /// No providers: the engine alone (IRP + DC + alpha layers), posture APEX with Rm 1.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds the adaptive circuit breaker (daily boost and beta).
    pub fn with_acb(self, acb: impl AcbProvider + 'static) -> Self {
        self.with_shared_acb(Arc::new(acb))
    }
    /// Adds an ACB provider that is shared with other owners.
    pub fn with_shared_acb(mut self, acb: Arc<dyn AcbProvider>) -> Self {
        self.acb = Some(acb);
        self
    }
    /// Adds the MC-Forewarner (daily envelope gate).
    pub fn with_mc(self, mc: impl McForewarner + 'static) -> Self {
        self.with_shared_mc(Arc::new(mc))
    }
    /// Adds an MC-Forewarner that is shared with other owners.
    pub fn with_shared_mc(mut self, mc: Arc<dyn McForewarner>) -> Self {
        self.mc = Some(mc);
        self
    }
    /// Adds the order-book provider (the five OB sub-systems; replaces the OB edge draw).
    pub fn with_ob(self, ob: impl ObProvider + 'static) -> Self {
        self.with_shared_ob(Arc::new(ob))
    }
    /// Adds an OB provider that is shared with other owners.
    pub fn with_shared_ob(mut self, ob: Arc<dyn ObProvider>) -> Self {
        self.ob = Some(ob);
        self
    }
    /// Adds the posture source that replaces the store read of B §14.4.
    pub fn with_posture(self, posture: impl PostureSource + 'static) -> Self {
        self.with_shared_posture(Arc::new(posture))
    }
    /// Adds a posture source that is shared with other owners.
    pub fn with_shared_posture(mut self, posture: Arc<dyn PostureSource>) -> Self {
        self.posture = Some(posture);
        self
    }

    pub fn acb(&self) -> Option<&Arc<dyn AcbProvider>> {
        self.acb.as_ref()
    }
    pub fn mc(&self) -> Option<&Arc<dyn McForewarner>> {
        self.mc.as_ref()
    }
    pub fn ob(&self) -> Option<&Arc<dyn ObProvider>> {
        self.ob.as_ref()
    }
    /// The posture source, `None` = the caller's default (APEX in a backtest, the store in the
    /// actor).
    pub fn posture(&self) -> Option<&Arc<dyn PostureSource>> {
        self.posture.as_ref()
    }

    /// Wires the ACB, MC and OB providers into `engine` (S §8.4 setters). Callable on any
    /// number of engines; each gets the same shared providers.
    pub fn install(&self, engine: &mut NDAlphaEngine) {
        if let Some(acb) = &self.acb {
            engine.set_acb(acb.clone());
        }
        if let Some(mc) = &self.mc {
            engine.set_mc_forewarner(mc.clone());
        }
        if let Some(ob) = &self.ob {
            engine.set_ob_engine(ob.clone());
        }
    }

    /// The day's context from the posture source, APEX / Rm 1 without one.
    pub fn day_context(&self, date: UtcDate) -> DayContext {
        self.posture
            .as_ref()
            .map_or_else(DayContext::default, |p| p.day_context(date))
    }

    /// Which layers are on (printed and written to `run.json`).
    pub fn layers(&self) -> Layers {
        Layers {
            acb: self.acb.is_some(),
            survival_stack: self.posture.is_some(),
            mc_forewarner: self.mc.is_some(),
            ob: self.ob.is_some(),
        }
    }
}

/// What the command line names as the sources of the optional layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSources {
    /// Daily indicator tables for ACBv6 (`dvol_btc_daily.csv`, `fear_greed_daily.csv`, …).
    pub indicators: Option<PathBuf>,
    /// Per-symbol funding tables (`SYMBOL-funding.csv`) for ACBv6's `funding_btc`.
    pub funding: Option<PathBuf>,
    /// JSONL trace of timed sensor readings for the survival stack.
    pub posture_trace: Option<PathBuf>,
    /// OB feature table (parquet, from `dolphin ob`).
    pub ob_features: Option<PathBuf>,
    /// MC-Forewarner envelope model (`envelope.json`, from `dolphin mc`).
    pub mc_envelope: Option<PathBuf>,
}

/// Providers built from [`ProviderSources`], with what the run reports about them.
#[derive(Debug, Clone)]
pub struct BuiltProviders {
    pub providers: Providers,
    /// The per-date ACB explanations (`acb.jsonl`), when ACBv6 is on.
    pub acb_explain: Option<Vec<AcbExplain>>,
}

/// Builds the providers of a run over the day files `files` (ACBv6's w750 threshold is taken
/// over all of them). ACBv6 is on when indicator or funding tables are given.
/// Accepted input defects of the sources are added to `warnings`.
pub fn build_providers(
    sources: &ProviderSources,
    files: &[(UtcDate, PathBuf)],
    warnings: &mut InputWarnings,
) -> Result<BuiltProviders, LayerError> {
    let mut providers = Providers::none();
    let mut acb_explain = None;
    if sources.indicators.is_some() || sources.funding.is_some() {
        let acb = build_acb(
            sources.indicators.as_deref(),
            sources.funding.as_deref(),
            files,
            warnings,
        )?;
        acb_explain = Some(explain_acb(&acb, files));
        providers = providers.with_acb(acb);
    }
    if let Some(p) = &sources.posture_trace {
        providers = providers.with_posture(posture_trace(p, warnings)?);
    }
    if let Some(p) = &sources.ob_features {
        providers = providers.with_ob(ob_table(p)?);
    }
    if let Some(p) = &sources.mc_envelope {
        providers = providers.with_mc(mc_envelope(p)?);
    }
    Ok(BuiltProviders {
        providers,
        acb_explain,
    })
}

fn ob_table(path: &Path) -> Result<dolphin_orderbook::ReplayObProvider, LayerError> {
    Ok(dolphin_orderbook::ReplayObProvider::from_parquet(path)?)
}

fn mc_envelope(path: &Path) -> Result<dolphin_risk::DolphinForewarner, LayerError> {
    Ok(dolphin_risk::DolphinForewarner::load(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_core::Posture;
    use dolphin_engine::{AcbDay, EngineConfig, McReport};

    struct FixedAcb;
    impl AcbProvider for FixedAcb {
        fn day(&self, _: UtcDate, _: Option<&dyn ObProvider>) -> AcbDay {
            AcbDay {
                boost: 1.5,
                beta: 0.8,
            }
        }
    }
    struct FixedMc;
    impl McForewarner for FixedMc {
        fn assess(&self, _: &EngineConfig) -> McReport {
            McReport {
                catastrophic_probability: 0.15,
                envelope_score: 0.5,
            }
        }
    }

    #[test]
    fn install_gives_every_fresh_engine_the_same_providers() {
        let p = Providers::none()
            .with_acb(FixedAcb)
            .with_mc(FixedMc)
            .with_posture(|_: UtcDate| DayContext {
                posture: Posture::Stalker,
                rm: 0.8,
            });
        let date: UtcDate = "2025-05-04".parse().unwrap();
        let copy = p.clone();
        for providers in [&p, &copy, &p] {
            let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
            providers.install(&mut e);
            let ctx = providers.day_context(date);
            assert_eq!((ctx.posture, ctx.rm), (Posture::Stalker, 0.8));
            e.begin_day(date, &["BTCUSDT".to_string()], ctx).unwrap();
            // ACB 1.5 / 0.8; MC ORANGE (0.15 > 0.10) halves the size multiplier's scale.
            assert_eq!((e.day_base_boost(), e.day_beta()), (1.5, 0.8));
            assert_eq!(e.day_mc_scale(), 0.5);
            // Rm 0.8 scales the hard ceiling: max(1, 6 × 0.8) = 4.8.
            assert_eq!(e.abs_max_leverage_eff(), 6.0 * 0.8);
        }
        assert_eq!(
            p.layers(),
            Layers {
                acb: true,
                survival_stack: true,
                mc_forewarner: true,
                ob: false
            }
        );
    }

    #[test]
    fn no_providers_is_the_plain_engine() {
        let p = Providers::none();
        let date: UtcDate = "2025-05-04".parse().unwrap();
        assert_eq!(p.day_context(date), DayContext::default());
        let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
        p.install(&mut e);
        e.begin_day(date, &["BTCUSDT".to_string()], p.day_context(date))
            .unwrap();
        assert_eq!((e.day_base_boost(), e.day_beta()), (1.0, 0.0));
        assert_eq!(p.layers(), Layers::default());
        assert_eq!(p.layers().label(), "none (IRP + DC + alpha layers only)");
    }

    #[test]
    fn a_missing_source_file_is_named() {
        let sources = ProviderSources {
            mc_envelope: Some(PathBuf::from("/nonexistent/envelope.json")),
            ..Default::default()
        };
        let e = build_providers(&sources, &[], &mut InputWarnings::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/envelope.json"), "{e}");
        let sources = ProviderSources {
            ob_features: Some(PathBuf::from("/nonexistent/ob.parquet")),
            ..Default::default()
        };
        let e = build_providers(&sources, &[], &mut InputWarnings::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/ob.parquet"), "{e}");
    }
}
