//! Engine snapshot and exact resume (issue 16; S §17 "capital continuity" taken to the whole
//! state): everything that decides a future bar — capital, the open position, price and
//! vel_div histories, the bar counter, the RNG (MT19937 key and position, SPEC D11), the
//! alpha-layer statistics, the volatility detector's window, the open day and its gates, a
//! pending sub-day exit and the trade history — as one serde value that round-trips through
//! JSON bit for bit. Providers are not part of it: install them again after
//! [`NDAlphaEngine::restore`].
//!
//! Floats that may be non-finite (a NaN `vel_div` is a normal row, SPEC §6) are written as
//! numbers when finite and as the strings `"NaN"`, `"inf"`, `"-inf"` otherwise. Read snapshots
//! with serde_json's `float_roundtrip` feature (the workspace enables it) so every finite value
//! parses back to the same bits.

use super::{DayContext, DayState, NDAlphaEngine};
use crate::day_gates::DayGates;
use crate::exits::ExitReason;
use crate::mc::McStatus;
use crate::ob::ObPlacement;
use crate::position::{NDPosition, NDTradeRecord, ObRules};
use crate::rng::Mt19937;
use crate::volatility::VolatilityRegimeDetector;
use crate::{assets::AssetRegistry, config::EngineConfig};
use dolphin_core::{Direction, Posture, UtcDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The snapshot format version this engine writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot format version {found}, this engine reads version {SNAPSHOT_VERSION}")]
    Version { found: u32 },
    #[error(
        "the snapshot was taken with another engine config (fingerprint {found}, this config \
         {expected})"
    )]
    ConfigMismatch { found: String, expected: String },
    #[error(
        "the RNG state needs 624 words and a position ≤ 624 (got {words} words, position {pos})"
    )]
    Rng { words: usize, pos: usize },
    #[error("asset `{0}` appears twice in the snapshot")]
    DuplicateAsset(String),
    #[error("the snapshot refers to asset `{0}`, which its registry does not hold")]
    UnknownAsset(String),
    #[error("unknown OB rule `{0}` in the snapshot")]
    UnknownObRule(String),
    #[error("the volatility window holds {found} returns, more than the config's {window}")]
    VolatilityWindow { found: usize, window: usize },
}

/// An `f64` that survives JSON whatever its value (see the module docs). Compares by bits.
#[derive(Debug, Clone, Copy)]
pub struct Float(pub f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(Float(v)),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(Float(f64::NAN)),
                "inf" => Ok(Float(f64::INFINITY)),
                "-inf" => Ok(Float(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!(
                    "`{other}` is not a number (expected a number, \"NaN\", \"inf\" or \"-inf\")"
                ))),
            },
        }
    }
}

fn floats(v: impl IntoIterator<Item = f64>) -> Vec<Float> {
    v.into_iter().map(Float).collect()
}

/// The complete state of an [`NDAlphaEngine`] between two bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSnapshot {
    pub version: u32,
    /// SHA-256 of the engine config (its `Debug` text): restore refuses any other config.
    pub config_fingerprint: String,
    /// MT19937 key (624 words) and position.
    pub rng_key: Vec<u32>,
    pub rng_pos: usize,
    /// Asset registry in id order: names and price histories.
    pub assets: Vec<AssetState>,
    /// Bars processed (= global index of the next bar).
    pub bars: u64,
    pub last_exit_bar: Option<u64>,
    pub capital: Float,
    pub position: Option<PositionState>,
    pub trades: Vec<TradeState>,
    pub bucket_wins: [u32; 4],
    pub bucket_trades: [u32; 4],
    /// Loss flags of the last closed trades, oldest first.
    pub recent_losses: Vec<bool>,
    pub vel_div_history: Vec<Float>,
    /// The open day, `None` between days.
    pub day: Option<DaySnapshot>,
    pub gates: GatesState,
    pub regime_size_mult: Float,
    pub pending_subday_exit: bool,
    pub volatility: VolatilityState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetState {
    pub name: String,
    pub history: Vec<Float>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionState {
    pub trade_id: u32,
    pub asset: String,
    pub direction: Direction,
    pub entry_price: Float,
    pub notional: Float,
    pub leverage: Float,
    pub fraction: Float,
    pub entry_bar: u64,
    pub entry_date: UtcDate,
    pub entry_vel_div: Float,
    pub bucket: u8,
    pub vd_adverse_bars: u32,
    /// OB placement at entry: depth quality, fill probability, spread (bps).
    pub placement: Option<[Float; 3]>,
    pub ob_rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeState {
    pub trade_id: u32,
    pub date: UtcDate,
    pub asset: String,
    pub direction: Direction,
    pub entry_bar: u64,
    pub exit_bar: u64,
    pub entry_price: Float,
    pub exit_price: Float,
    pub leverage: Float,
    pub notional: Float,
    pub pnl: Float,
    pub reason: ExitReason,
    pub ob_rules: Vec<String>,
    pub bucket: u8,
    pub pnl_pct: Float,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaySnapshot {
    pub date: UtcDate,
    /// The day's asset columns in order.
    pub assets: Vec<String>,
    pub ref_col: Option<usize>,
    pub posture: Posture,
    pub rm: Float,
    pub start_capital: Float,
    pub trades: u32,
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatesState {
    pub base_boost: Float,
    pub beta: Float,
    pub mc_scale: Float,
    pub mc_status: McStatus,
    pub entries_halted: bool,
    pub abs_max_leverage_eff: Float,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolatilityState {
    pub last_price: Option<Float>,
    pub returns: Vec<Option<Float>>,
    pub last_std: Option<Float>,
}

/// SHA-256 over the config's `Debug` text (every field; floats print round-trip exact).
pub fn config_fingerprint(cfg: &EngineConfig) -> String {
    let digest = Sha256::digest(format!("{cfg:?}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl NDAlphaEngine {
    /// The engine's complete state (see [`EngineSnapshot`]); providers are not included.
    pub fn snapshot(&self) -> EngineSnapshot {
        let (names, histories) = self.assets.parts();
        let (rng_key, rng_pos) = self.rng.state();
        let (last_price, returns, last_std) = self.vol.state();
        let g = &self.day_gates;
        EngineSnapshot {
            version: SNAPSHOT_VERSION,
            config_fingerprint: config_fingerprint(&self.cfg),
            rng_key: rng_key.to_vec(),
            rng_pos,
            assets: names
                .iter()
                .zip(histories)
                .map(|(name, h)| AssetState {
                    name: name.clone(),
                    history: floats(h.iter().copied()),
                })
                .collect(),
            bars: self.bars,
            last_exit_bar: self.last_exit_bar,
            capital: Float(self.capital),
            position: self.position.as_ref().map(position_state),
            trades: self.trade_history.iter().map(trade_state).collect(),
            bucket_wins: self.alpha.bucket_wins,
            bucket_trades: self.alpha.bucket_trades,
            recent_losses: self.alpha.recent_losses.iter().copied().collect(),
            vel_div_history: floats(self.vel_div_history.iter().copied()),
            day: self.day.as_ref().map(|d| DaySnapshot {
                date: d.date,
                assets: d
                    .cols
                    .cols
                    .iter()
                    .map(|&id| self.assets.name(id).to_string())
                    .collect(),
                ref_col: d.ref_col,
                posture: d.ctx.posture,
                rm: Float(d.ctx.rm),
                start_capital: Float(d.start_capital),
                trades: d.trades,
                rows: d.rows,
            }),
            gates: GatesState {
                base_boost: Float(g.base_boost),
                beta: Float(g.beta),
                mc_scale: Float(g.mc_scale),
                mc_status: g.mc_status,
                entries_halted: g.entries_halted,
                abs_max_leverage_eff: Float(g.abs_max_leverage_eff),
            },
            regime_size_mult: Float(self.regime_size_mult),
            pending_subday_exit: self.pending_subday_exit,
            volatility: VolatilityState {
                last_price: last_price.map(Float),
                returns: returns.map(|r| r.map(Float)).collect(),
                last_std: last_std.map(Float),
            },
        }
    }

    /// An engine with config `cfg` in the state of `snap`: stepping it on gives exactly what
    /// the engine the snapshot was taken from would have given. Install the providers again
    /// afterwards. Refuses a snapshot of another config or format version.
    pub fn restore(cfg: EngineConfig, snap: &EngineSnapshot) -> Result<Self, super::EngineError> {
        let mut e = Self::new(cfg)?;
        if snap.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: snap.version,
            }
            .into());
        }
        let expected = config_fingerprint(&e.cfg);
        if snap.config_fingerprint != expected {
            return Err(SnapshotError::ConfigMismatch {
                found: snap.config_fingerprint.clone(),
                expected,
            }
            .into());
        }
        e.rng = Mt19937::from_state(&snap.rng_key, snap.rng_pos).ok_or(SnapshotError::Rng {
            words: snap.rng_key.len(),
            pos: snap.rng_pos,
        })?;
        e.assets = AssetRegistry::from_parts(
            snap.assets.iter().map(|a| a.name.clone()).collect(),
            snap.assets
                .iter()
                .map(|a| a.history.iter().map(|f| f.0).collect())
                .collect(),
            &e.cfg.excluded_assets,
        )
        .map_err(|d| SnapshotError::DuplicateAsset(d.0))?;
        e.bars = snap.bars;
        e.last_exit_bar = snap.last_exit_bar;
        e.capital = snap.capital.0;
        e.position = match &snap.position {
            Some(p) => Some(position_of(p, &e.assets)?),
            None => None,
        };
        e.trade_history = snap.trades.iter().map(trade_of).collect();
        e.alpha.bucket_wins = snap.bucket_wins;
        e.alpha.bucket_trades = snap.bucket_trades;
        e.alpha.recent_losses = snap.recent_losses.iter().copied().collect();
        e.vel_div_history = snap.vel_div_history.iter().map(|f| f.0).collect();
        e.day = match &snap.day {
            Some(d) => Some(day_of(d, &mut e.assets, &e.cfg.excluded_assets)?),
            None => None,
        };
        let g = &snap.gates;
        e.day_gates = DayGates {
            base_boost: g.base_boost.0,
            beta: g.beta.0,
            mc_scale: g.mc_scale.0,
            mc_status: g.mc_status,
            entries_halted: g.entries_halted,
            abs_max_leverage_eff: g.abs_max_leverage_eff.0,
        };
        e.regime_size_mult = snap.regime_size_mult.0;
        e.pending_subday_exit = snap.pending_subday_exit;
        let v = &snap.volatility;
        let window = e.cfg.vol_window as usize;
        e.vol = VolatilityRegimeDetector::from_state(
            window,
            e.cfg.vol_threshold,
            v.last_price.map(|f| f.0),
            v.returns.iter().map(|r| r.map(|f| f.0)).collect(),
            v.last_std.map(|f| f.0),
        )
        .ok_or(SnapshotError::VolatilityWindow {
            found: v.returns.len(),
            window,
        })?;
        Ok(e)
    }
}

fn position_state(p: &NDPosition) -> PositionState {
    PositionState {
        trade_id: p.trade_id,
        asset: p.asset.clone(),
        direction: p.direction,
        entry_price: Float(p.entry_price),
        notional: Float(p.notional),
        leverage: Float(p.leverage),
        fraction: Float(p.fraction),
        entry_bar: p.entry_bar,
        entry_date: p.entry_date,
        entry_vel_div: Float(p.entry_vel_div),
        bucket: p.bucket,
        vd_adverse_bars: p.vd_adverse_bars,
        placement: p.placement.map(|pl| {
            [
                Float(pl.depth_quality),
                Float(pl.fill_probability),
                Float(pl.spread_proxy_bps),
            ]
        }),
        ob_rules: p.ob_rules.names().into_iter().map(String::from).collect(),
    }
}

fn position_of(p: &PositionState, assets: &AssetRegistry) -> Result<NDPosition, SnapshotError> {
    let asset_id = assets
        .id(&p.asset)
        .ok_or_else(|| SnapshotError::UnknownAsset(p.asset.clone()))?;
    Ok(NDPosition {
        trade_id: p.trade_id,
        asset: p.asset.clone(),
        asset_id,
        direction: p.direction,
        entry_price: p.entry_price.0,
        notional: p.notional.0,
        leverage: p.leverage.0,
        fraction: p.fraction.0,
        entry_bar: p.entry_bar,
        entry_date: p.entry_date,
        entry_vel_div: p.entry_vel_div.0,
        bucket: p.bucket,
        vd_adverse_bars: p.vd_adverse_bars,
        placement: p.placement.map(|[d, f, s]| ObPlacement {
            depth_quality: d.0,
            fill_probability: f.0,
            spread_proxy_bps: s.0,
        }),
        ob_rules: ObRules::from_names(&p.ob_rules).map_err(SnapshotError::UnknownObRule)?,
    })
}

fn trade_state(t: &NDTradeRecord) -> TradeState {
    TradeState {
        trade_id: t.trade_id,
        date: t.date,
        asset: t.asset.clone(),
        direction: t.direction,
        entry_bar: t.entry_bar,
        exit_bar: t.exit_bar,
        entry_price: Float(t.entry_price),
        exit_price: Float(t.exit_price),
        leverage: Float(t.leverage),
        notional: Float(t.notional),
        pnl: Float(t.pnl),
        reason: t.reason,
        ob_rules: t.ob_rules.clone(),
        bucket: t.bucket,
        pnl_pct: Float(t.pnl_pct),
    }
}

fn trade_of(t: &TradeState) -> NDTradeRecord {
    NDTradeRecord {
        trade_id: t.trade_id,
        date: t.date,
        asset: t.asset.clone(),
        direction: t.direction,
        entry_bar: t.entry_bar,
        exit_bar: t.exit_bar,
        entry_price: t.entry_price.0,
        exit_price: t.exit_price.0,
        leverage: t.leverage.0,
        notional: t.notional.0,
        pnl: t.pnl.0,
        reason: t.reason,
        ob_rules: t.ob_rules.clone(),
        bucket: t.bucket,
        pnl_pct: t.pnl_pct.0,
    }
}

fn day_of(
    d: &DaySnapshot,
    assets: &mut AssetRegistry,
    excluded: &[String],
) -> Result<DayState, SnapshotError> {
    if let Some(a) = d.assets.iter().find(|a| assets.id(a).is_none()) {
        return Err(SnapshotError::UnknownAsset(a.clone()));
    }
    let cols = assets
        .map_day(&d.assets, excluded)
        .map_err(|e| SnapshotError::DuplicateAsset(e.0))?;
    Ok(DayState {
        date: d.date,
        cols,
        ref_col: d.ref_col,
        ctx: DayContext {
            posture: d.posture,
            rm: d.rm.0,
        },
        start_capital: d.start_capital.0,
        trades: d.trades,
        rows: d.rows,
    })
}
