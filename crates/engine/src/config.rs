//! Engine configuration: the champion parameters (seeds B §18.1, S §3) and every other knob of
//! the engine, as a plain serde struct with the champion values as defaults.

use crate::exits::TfParams;
use dolphin_core::Direction;
use serde::{Deserialize, Serialize};

/// Every parameter of [`crate::NDAlphaEngine`]. `Default` is the champion (blue) configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Regime direction: −1 SHORT (blue), +1 LONG (green).
    pub direction: Direction,
    /// Starting equity in USDT (SPEC §5).
    pub initial_capital: f64,

    // --- signal gate (B §4.1) ---
    /// SHORT entry threshold: `vel_div < vel_div_threshold`.
    pub vel_div_threshold: f64,
    /// SHORT extreme: full strength at or below it.
    pub vel_div_extreme: f64,
    /// LONG entry threshold: `vel_div > long_threshold`.
    pub long_threshold: f64,
    /// LONG extreme.
    pub long_extreme: f64,

    // --- sizing (B §6) ---
    pub min_leverage: f64,
    pub max_leverage: f64,
    pub abs_max_leverage: f64,
    pub leverage_convexity: f64,
    /// Maximum capital fraction per trade (`base_fraction`).
    pub fraction: f64,
    /// Cubic-convex leverage on; off gives `max_leverage` flat.
    pub use_dynamic_leverage: bool,
    /// Bucket boost, streak and trend multipliers (B §6.4, Layer 7).
    pub use_alpha_layers: bool,
    /// STALKER posture leverage cap (B §11.7).
    pub stalker_leverage_cap: f64,
    /// Streak multiplier window: losses among the last this many closed trades, and only once
    /// this many have closed (B §6.4: 5).
    pub streak_window: usize,
    /// `vd_trend = h[−1] − h[−window]` (B §6.4: 10).
    pub vd_trend_window: usize,

    // --- exits (B §7) ---
    pub fixed_tp_pct: f64,
    pub stop_pct: f64,
    pub max_hold_bars: u32,
    /// vel_div adverse-turn exit (B §7.1 item 4); off in the champion.
    pub vd_enabled: bool,
    /// Adverse-turn threshold: exit when vel_div has been on the wrong side of this for
    /// `vd_confirm_bars` bars (SHORT: `vel_div > vd_exit_threshold`).
    pub vd_exit_threshold: f64,
    pub vd_confirm_bars: u32,
    /// Sub-day ACB force exit (B §7.3): fires when the boost falls from ≥ `subday_high` to
    /// < `subday_low`.
    pub subday_acb_exit: bool,
    pub subday_high: f64,
    pub subday_low: f64,
    /// TF-spread recovery exit (B §19 TODO-6, [`crate::exits::tf_recovery`]); off in the
    /// champion. The four `tf_*` fields are left out of the serialized config while they hold
    /// their defaults, so configs, envelopes and sweep hashes written before they existed keep
    /// their bytes.
    #[serde(skip_serializing_if = "is_false")]
    pub tf_enabled: bool,
    /// Exhaustion: exit in profit once the spread is down to this fraction of its entry size.
    #[serde(skip_serializing_if = "is_default_tf_exhaust")]
    pub tf_exhaust_ratio: f64,
    /// Flip: exit once the spread stands this fraction of its entry size on the other side.
    #[serde(skip_serializing_if = "is_default_tf_flip")]
    pub tf_flip_ratio: f64,
    /// Bars held before the TF exit can fire.
    #[serde(skip_serializing_if = "is_default_tf_min_bars")]
    pub tf_min_bars: u32,

    // --- slippage and fees (B §7.4, §8, SPEC D3) ---
    pub tp_slip: f64,
    pub sl_slip: f64,
    pub other_slip: f64,
    pub maker_fee: f64,
    pub taker_fee: f64,
    pub sp_maker_entry_rate: f64,
    pub sp_maker_exit_rate: f64,
    /// Refund per maker fill, as a fraction of notional.
    pub sp_refund: f64,
    pub ob_edge_bps: f64,
    pub ob_confirm_rate: f64,
    /// With an OB engine, the exit's OB edge needs the entry placement's depth quality above
    /// this (B §8.3: 0.5).
    pub ob_edge_min_depth_quality: f64,

    // --- direction confirmation (B §4.2) ---
    pub use_direction_confirm: bool,
    pub dc_lookback_bars: u32,
    pub dc_min_magnitude_bps: f64,
    pub dc_skip_contradicts: bool,
    pub dc_leverage_boost: f64,

    // --- IRP asset selection (B §5) ---
    pub use_asset_selection: bool,
    pub irp_window: u32,
    pub min_irp_alignment: f64,
    pub irp_max_noise: f64,
    pub irp_max_latency: u32,
    pub irp_min_alignment_kernel: f64,
    /// With an OB engine, IRP skips assets whose depth quality is below this (B §5.5: 0.20).
    pub irp_min_depth_quality: f64,
    /// Asset traded when IRP is off.
    pub fallback_asset: String,
    pub excluded_assets: Vec<String>,

    // --- warm-up and gates (SPEC §5, D8) ---
    /// Bars processed since the engine was made before the first entry.
    pub lookback: u32,
    /// Rows into each day before `vol_regime_ok` can be true.
    pub day_warmup_bars: u32,
    /// The volatility detector is part of the entry gate.
    pub use_vol_filter: bool,
    pub vol_reference_asset: String,
    pub vol_window: u32,
    pub vol_threshold: f64,

    // --- histories (SPEC D10) ---
    pub price_history_max: usize,
    pub price_history_keep: usize,
    pub vel_div_history_max: usize,

    // --- MC-Forewarner decision (B §12) ---
    pub mc_red_catastrophic: f64,
    pub mc_red_envelope: f64,
    pub mc_orange_catastrophic: f64,
    pub mc_orange_scale: f64,

    /// Seed of the numpy-compatible MT19937 (SPEC D11).
    pub seed: u32,
}

/// Defaults of the TF-spread exit (a design choice, the seed gives no values: TODO-6 asks for
/// a sweep; `studies/todo6-tf-spread`).
const TF_EXHAUST_RATIO: f64 = 0.25;
const TF_FLIP_RATIO: f64 = 0.5;
const TF_MIN_BARS: u32 = 5;

fn is_false(v: &bool) -> bool {
    !*v
}
fn is_default_tf_exhaust(v: &f64) -> bool {
    v.to_bits() == TF_EXHAUST_RATIO.to_bits()
}
fn is_default_tf_flip(v: &f64) -> bool {
    v.to_bits() == TF_FLIP_RATIO.to_bits()
}
fn is_default_tf_min_bars(v: &u32) -> bool {
    *v == TF_MIN_BARS
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            direction: Direction::Short,
            initial_capital: 25_000.0,
            vel_div_threshold: -0.02,
            vel_div_extreme: -0.05,
            long_threshold: 0.01,
            long_extreme: 0.04,
            min_leverage: 0.5,
            max_leverage: 5.0,
            abs_max_leverage: 6.0,
            leverage_convexity: 3.0,
            fraction: 0.20,
            use_dynamic_leverage: true,
            use_alpha_layers: true,
            stalker_leverage_cap: 2.0,
            streak_window: 5,
            vd_trend_window: 10,
            fixed_tp_pct: 0.0095,
            stop_pct: 1.0,
            max_hold_bars: 120,
            vd_enabled: false,
            vd_exit_threshold: 0.02,
            vd_confirm_bars: 3,
            subday_acb_exit: true,
            subday_high: 1.25,
            subday_low: 1.10,
            tf_enabled: false,
            tf_exhaust_ratio: TF_EXHAUST_RATIO,
            tf_flip_ratio: TF_FLIP_RATIO,
            tf_min_bars: TF_MIN_BARS,
            tp_slip: 0.0002,
            sl_slip: 0.0005,
            other_slip: 0.0002,
            maker_fee: 0.0002,
            taker_fee: 0.0005,
            sp_maker_entry_rate: 0.62,
            sp_maker_exit_rate: 0.50,
            sp_refund: 0.0002,
            ob_edge_bps: 5.0,
            ob_confirm_rate: 0.40,
            ob_edge_min_depth_quality: 0.5,
            use_direction_confirm: true,
            dc_lookback_bars: 7,
            dc_min_magnitude_bps: 0.75,
            dc_skip_contradicts: true,
            dc_leverage_boost: 1.0,
            use_asset_selection: true,
            irp_window: 50,
            min_irp_alignment: 0.45,
            irp_max_noise: 500.0,
            irp_max_latency: 20,
            irp_min_alignment_kernel: 0.20,
            irp_min_depth_quality: 0.20,
            fallback_asset: "BTCUSDT".to_string(),
            excluded_assets: vec!["TUSDUSDT".to_string(), "USDCUSDT".to_string()],
            lookback: 100,
            day_warmup_bars: 100,
            use_vol_filter: true,
            vol_reference_asset: "BTCUSDT".to_string(),
            vol_window: 50,
            vol_threshold: 0.000099,
            price_history_max: 500,
            price_history_keep: 200,
            vel_div_history_max: 200,
            mc_red_catastrophic: 0.25,
            mc_red_envelope: -1.0,
            mc_orange_catastrophic: 0.10,
            mc_orange_scale: 0.5,
            seed: 42,
        }
    }
}

impl EngineConfig {
    /// The champion (blue, SHORT) configuration.
    pub fn champion() -> Self {
        Self::default()
    }

    /// The green configuration: the same engine trading LONG with the LONG thresholds.
    pub fn green() -> Self {
        Self {
            direction: Direction::Long,
            ..Self::default()
        }
    }

    /// Reduced leverage and fraction (S §13 `create_conservative_config`).
    pub fn conservative() -> Self {
        Self {
            max_leverage: 3.0,
            abs_max_leverage: 4.0,
            fraction: 0.10,
            ..Self::default()
        }
    }

    /// Increased leverage (S §13 `create_growth_config`).
    pub fn growth() -> Self {
        Self {
            max_leverage: 6.0,
            abs_max_leverage: 7.0,
            fraction: 0.25,
            ..Self::default()
        }
    }

    /// The maximum leverage stack (S §13 `create_aggressive_config`).
    pub fn aggressive() -> Self {
        Self {
            min_leverage: 1.0,
            max_leverage: 8.0,
            abs_max_leverage: 10.0,
            fraction: 0.30,
            ..Self::default()
        }
    }

    /// `(threshold, extreme)` of the configured direction.
    pub fn thresholds(&self) -> (f64, f64) {
        match self.direction {
            Direction::Short => (self.vel_div_threshold, self.vel_div_extreme),
            Direction::Long => (self.long_threshold, self.long_extreme),
        }
    }

    /// The TF-spread exit's parameters.
    pub fn tf_params(&self) -> TfParams {
        TfParams {
            exhaust_ratio: self.tf_exhaust_ratio,
            flip_ratio: self.tf_flip_ratio,
            min_bars: self.tf_min_bars,
        }
    }

    /// Checks values that would make the engine meaningless.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("initial_capital", self.initial_capital),
            ("min_leverage", self.min_leverage),
            ("max_leverage", self.max_leverage),
            ("abs_max_leverage", self.abs_max_leverage),
            ("fraction", self.fraction),
            ("fixed_tp_pct", self.fixed_tp_pct),
            ("stop_pct", self.stop_pct),
            ("leverage_convexity", self.leverage_convexity),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::NotPositive { name, value });
            }
        }
        if self.min_leverage > self.max_leverage {
            return Err(ConfigError::LeverageOrder);
        }
        let (threshold, extreme) = self.thresholds();
        if threshold == extreme || !threshold.is_finite() || !extreme.is_finite() {
            return Err(ConfigError::Thresholds { threshold, extreme });
        }
        for (name, value) in [
            ("sp_maker_entry_rate", self.sp_maker_entry_rate),
            ("sp_maker_exit_rate", self.sp_maker_exit_rate),
            ("ob_confirm_rate", self.ob_confirm_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::NotAProbability { name, value });
            }
        }
        for (name, value) in [
            ("tf_exhaust_ratio", self.tf_exhaust_ratio),
            ("tf_flip_ratio", self.tf_flip_ratio),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::NotNonNegative { name, value });
            }
        }
        if self.irp_window < 2 {
            return Err(ConfigError::IrpWindow);
        }
        if self.price_history_keep < self.irp_window as usize
            || self.price_history_keep > self.price_history_max
        {
            return Err(ConfigError::HistoryKeep);
        }
        if self.vol_window == 0 || self.max_hold_bars == 0 {
            return Err(ConfigError::ZeroWindow);
        }
        if self.streak_window == 0
            || self.vd_trend_window == 0
            || self.vd_trend_window > self.vel_div_history_max
        {
            return Err(ConfigError::AlphaWindows);
        }
        Ok(())
    }
}

/// An engine configuration that [`EngineConfig::validate`] refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("`{name}` must be a positive number, got {value}")]
    NotPositive { name: &'static str, value: f64 },
    #[error("`min_leverage` must not exceed `max_leverage`")]
    LeverageOrder,
    #[error("threshold {threshold} and extreme {extreme} must be finite and differ")]
    Thresholds { threshold: f64, extreme: f64 },
    #[error("`{name}` must be within [0, 1], got {value}")]
    NotAProbability { name: &'static str, value: f64 },
    #[error("`{name}` must be a finite number ≥ 0, got {value}")]
    NotNonNegative { name: &'static str, value: f64 },
    #[error("`irp_window` must be at least 2")]
    IrpWindow,
    #[error("`price_history_keep` must lie between `irp_window` and `price_history_max`")]
    HistoryKeep,
    #[error("`vol_window` and `max_hold_bars` must be at least 1")]
    ZeroWindow,
    #[error(
        "`streak_window` must be at least 1 and `vd_trend_window` between 1 and \
         `vel_div_history_max`"
    )]
    AlphaWindows,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn champion_defaults_of_the_former_literals() {
        // Issue 16: the literals moved into the config keep their seed values.
        let c = EngineConfig::default();
        assert_eq!((c.streak_window, c.vd_trend_window), (5, 10));
        assert_eq!(c.ob_edge_min_depth_quality, 0.5);
        assert_eq!(c.irp_min_depth_quality, 0.20);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn refusals_are_typed_and_name_the_field() {
        let bad = EngineConfig {
            fraction: 0.0,
            ..EngineConfig::default()
        };
        assert_eq!(
            bad.validate(),
            Err(ConfigError::NotPositive {
                name: "fraction",
                value: 0.0
            })
        );
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "`fraction` must be a positive number, got 0"
        );
        let bad = EngineConfig {
            vd_trend_window: 201,
            ..EngineConfig::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::AlphaWindows));
        let bad = EngineConfig {
            ob_confirm_rate: 1.5,
            ..EngineConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::NotAProbability {
                name: "ob_confirm_rate",
                ..
            })
        ));
    }

    #[test]
    fn tf_fields_are_serialized_only_away_from_their_defaults() {
        let c = EngineConfig::default();
        assert!(!c.tf_enabled);
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("tf_"), "{json}");
        assert!(
            json.contains("\"subday_low\":1.1,\"tp_slip\":0.0002"),
            "{json}"
        );
        let back: EngineConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        let on = EngineConfig {
            tf_enabled: true,
            tf_min_bars: 15,
            ..EngineConfig::default()
        };
        let json = serde_json::to_string(&on).unwrap();
        assert!(
            json.contains("\"subday_low\":1.1,\"tf_enabled\":true,\"tf_min_bars\":15,\"tp_slip\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<EngineConfig>(&json).unwrap(), on);
        // Not a frozen champion parameter.
        assert_eq!(
            crate::champion::champion_hash(&on),
            crate::champion::CHAMPION_HASH
        );
        let bad = EngineConfig {
            tf_exhaust_ratio: f64::NAN,
            ..EngineConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::NotNonNegative {
                name: "tf_exhaust_ratio",
                ..
            })
        ));
    }
}
