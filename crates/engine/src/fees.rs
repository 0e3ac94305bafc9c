//! SmartPlacer fee model, exit slippage, SP refunds and the OB edge (seeds B §7.4, §8;
//! SPEC D3: maker 2 bps, taker 5 bps; blended entry 0.000314, exit 0.000350, SL exit 0.0005).

use crate::config::EngineConfig;
use crate::exits::ExitReason;
use dolphin_core::Direction;

/// Blended fee rates as fractions of notional, computed from the config unrounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeeModel {
    pub entry_rate: f64,
    pub exit_rate: f64,
    pub stop_exit_rate: f64,
}

impl FeeModel {
    /// `maker × rate + taker × (1 − rate)` for entry and exit; pure taker for STOP_LOSS exits.
    pub fn from_config(cfg: &EngineConfig) -> Self {
        Self {
            entry_rate: cfg.maker_fee * cfg.sp_maker_entry_rate
                + cfg.taker_fee * (1.0 - cfg.sp_maker_entry_rate),
            exit_rate: cfg.maker_fee * cfg.sp_maker_exit_rate
                + cfg.taker_fee * (1.0 - cfg.sp_maker_exit_rate),
            stop_exit_rate: cfg.taker_fee,
        }
    }

    /// The exit fee rate for an exit reason.
    pub fn exit_rate_for(&self, reason: ExitReason) -> f64 {
        if reason == ExitReason::StopLoss {
            self.stop_exit_rate
        } else {
            self.exit_rate
        }
    }
}

/// Exit slippage (B §7.4): STOP_LOSS 5 bps, every other exit 2 bps (config values).
pub fn slip_for(reason: ExitReason, cfg: &EngineConfig) -> f64 {
    match reason {
        ExitReason::StopLoss => cfg.sl_slip,
        ExitReason::FixedTp => cfg.tp_slip,
        _ => cfg.other_slip,
    }
}

/// The fill price of an exit: slippage always against the position (SHORT covers higher).
#[inline]
pub fn exit_fill_price(price: f64, slip: f64, direction: Direction) -> f64 {
    match direction {
        Direction::Short => price * (1.0 + slip),
        Direction::Long => price * (1.0 - slip),
    }
}

/// Price return of a position in its own direction: SHORT `(entry − price)/entry`.
#[inline]
pub fn pnl_pct(entry: f64, price: f64, direction: Direction) -> f64 {
    match direction {
        Direction::Short => (entry - price) / entry,
        Direction::Long => (price - entry) / entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::approx_constant)] // 3.14 USDT per 10,000 notional, not π
    fn blended_rates_golden() {
        let f = FeeModel::from_config(&EngineConfig::default());
        // 0.0002 × 0.62 + 0.0005 × 0.38 = 0.000124 + 0.000190 = 0.000314 (3.14 bps)
        assert!((f.entry_rate - 0.000314).abs() < 1e-18);
        assert_eq!(f.entry_rate, 0.0002 * 0.62 + 0.0005 * (1.0 - 0.62));
        assert!((f.exit_rate - 0.000350).abs() < 1e-18);
        assert_eq!(f.stop_exit_rate, 0.0005);
        assert_eq!(f.exit_rate_for(ExitReason::StopLoss), 0.0005);
        assert_eq!(f.exit_rate_for(ExitReason::MaxHold), f.exit_rate);
        // On 10,000 USDT: 3.14 + 3.50 USDT round trip.
        assert!((f.entry_rate * 10_000.0 - 3.14).abs() < 1e-12);
    }

    #[test]
    fn slippage_golden() {
        let cfg = EngineConfig::default();
        assert_eq!(slip_for(ExitReason::StopLoss, &cfg), 0.0005);
        assert_eq!(slip_for(ExitReason::FixedTp, &cfg), 0.0002);
        assert_eq!(slip_for(ExitReason::MaxHold, &cfg), 0.0002);
        assert_eq!(exit_fill_price(100.0, 0.0002, Direction::Short), 100.02);
        assert_eq!(exit_fill_price(100.0, 0.0005, Direction::Long), 99.95);
        // SHORT from 100 covered at 99.05 → +0.95 %
        assert!((pnl_pct(100.0, 99.05, Direction::Short) - 0.0095).abs() < 1e-15);
        assert!((pnl_pct(100.0, 101.0, Direction::Long) - 0.01).abs() < 1e-15);
    }
}
