//! SmartPlacer fee model, exit slippage, SP refunds and the OB edge (seeds B §7.4, §8;
//! SPEC D3: maker 2 bps, taker 5 bps; blended entry 0.000314, exit 0.000350, SL exit 0.0005;
//! SPEC D11 and §5 "Exits": the settlement of a closed trade and its RNG draws).

use crate::config::EngineConfig;
use crate::exits::ExitReason;
use crate::ob::ObPlacement;
use crate::rng::Mt19937;
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

/// Where the OB edge of an exit comes from (B §8.3, §9.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EdgeSource<'a> {
    /// No OB engine wired: the legacy Monte-Carlo edge, `ob_edge_bps` with probability
    /// `ob_confirm_rate` (one RNG draw).
    Drawn,
    /// An OB engine is wired: `fill_probability × ob_edge_bps` when the entry's placement had
    /// `depth_quality > ob_edge_min_depth_quality` (no draw).
    Book(Option<&'a ObPlacement>),
}

/// The position terms an exit settles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitTerms {
    pub entry_price: f64,
    pub notional: f64,
    pub direction: Direction,
}

/// What a closed trade settles to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settlement {
    /// The fill price after slippage.
    pub exit_price: f64,
    /// `pnl_pct_raw` from the fill price, plus SP refunds and the OB edge.
    pub pnl_pct: f64,
    /// `pnl_pct · notional − entry_fee − exit_fee` (USDT).
    pub net: f64,
    /// The OB engine's edge was added.
    pub ob_edge: bool,
}

/// `_execute_exit` (B §7.4, §8; SPEC §5 "Exits", D11): slippage against the position, the
/// return from the fill price, the SmartPlacer refunds (entry maker draw; exit maker draw,
/// skipped for STOP_LOSS), the OB edge, then the blended fees. The draws happen in exactly
/// this order; each refund is added as it is drawn.
pub fn settle_exit(
    cfg: &EngineConfig,
    fees: &FeeModel,
    rng: &mut Mt19937,
    reason: ExitReason,
    price: f64,
    terms: ExitTerms,
    edge: EdgeSource<'_>,
) -> Settlement {
    let exit_price = exit_fill_price(price, slip_for(reason, cfg), terms.direction);
    let mut pnl = pnl_pct(terms.entry_price, exit_price, terms.direction);
    if rng.random() < cfg.sp_maker_entry_rate {
        pnl += cfg.sp_refund;
    }
    if reason != ExitReason::StopLoss && rng.random() < cfg.sp_maker_exit_rate {
        pnl += cfg.sp_refund;
    }
    let mut ob_edge = false;
    match edge {
        EdgeSource::Book(placement) => {
            if let Some(pl) = placement
                && pl.depth_quality > cfg.ob_edge_min_depth_quality
            {
                pnl += pl.fill_probability * cfg.ob_edge_bps * 1e-4;
                ob_edge = true;
            }
        }
        EdgeSource::Drawn => {
            if rng.random() < cfg.ob_confirm_rate {
                pnl += cfg.ob_edge_bps * 1e-4;
            }
        }
    }
    let entry_fee = fees.entry_rate * terms.notional;
    let exit_fee = fees.exit_rate_for(reason) * terms.notional;
    Settlement {
        exit_price,
        pnl_pct: pnl,
        net: pnl * terms.notional - entry_fee - exit_fee,
        ob_edge,
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

    const SHORT_100: ExitTerms = ExitTerms {
        entry_price: 100.0,
        notional: 10_000.0,
        direction: Direction::Short,
    };

    #[test]
    fn settlement_golden_with_seed_42_draws() {
        // RandomState(42): 0.3745… < 0.62 (entry refund), 0.9507… ≥ 0.50 (no exit refund),
        // 0.7319… ≥ 0.40 (no OB edge).
        let cfg = EngineConfig::default();
        let fees = FeeModel::from_config(&cfg);
        let mut rng = Mt19937::new(42);
        let s = settle_exit(
            &cfg,
            &fees,
            &mut rng,
            ExitReason::FixedTp,
            99.0,
            SHORT_100,
            EdgeSource::Drawn,
        );
        assert_eq!(s.exit_price, 99.0 * 1.0002);
        let pnl = (100.0 - 99.0 * 1.0002) / 100.0 + 0.0002;
        assert_eq!(s.pnl_pct, pnl);
        // (100 − 99.0198)/100 = 0.009802, + 0.0002 refund = 0.010002; × 10 000 = 100.02;
        // − 3.14 entry fee − 3.50 exit fee = 93.38.
        assert_eq!(
            s.net,
            pnl * 10_000.0 - fees.entry_rate * 10_000.0 - fees.exit_rate * 10_000.0
        );
        assert!((s.net - 93.38).abs() < 1e-9, "{}", s.net);
        assert!(!s.ob_edge);
        // Three draws were used: the next is RandomState(42)'s fourth.
        assert_eq!(rng.random(), 0.5986584841970366);
    }

    #[test]
    fn stop_loss_skips_the_exit_draw_and_the_book_replaces_the_edge_draw() {
        let cfg = EngineConfig::default();
        let fees = FeeModel::from_config(&cfg);
        let mut rng = Mt19937::new(42);
        let deep = ObPlacement {
            depth_quality: 0.51,
            fill_probability: 0.8,
            spread_proxy_bps: 1.0,
        };
        let s = settle_exit(
            &cfg,
            &fees,
            &mut rng,
            ExitReason::StopLoss,
            101.0,
            SHORT_100,
            EdgeSource::Book(Some(&deep)),
        );
        // One draw (entry refund, 0.3745 < 0.62); SL slip 5 bps, taker exit 5 bps; edge
        // 0.8 × 5 bps = 4 bps.
        let pnl = (100.0 - 101.0 * 1.0005) / 100.0 + 0.0002 + 0.8 * 5.0 * 1e-4;
        assert_eq!(s.pnl_pct, pnl);
        assert_eq!(
            s.net,
            pnl * 10_000.0 - fees.entry_rate * 10_000.0 - 0.0005 * 10_000.0
        );
        assert!(s.ob_edge);
        assert_eq!(rng.random(), 0.9507143064099162);
        // At the depth gate (0.5, not above) there is no edge and no draw.
        let shallow = ObPlacement {
            depth_quality: 0.5,
            ..deep
        };
        let mut rng = Mt19937::new(42);
        let s = settle_exit(
            &cfg,
            &fees,
            &mut rng,
            ExitReason::MaxHold,
            100.0,
            SHORT_100,
            EdgeSource::Book(Some(&shallow)),
        );
        assert!(!s.ob_edge);
        assert_eq!(s.pnl_pct, (100.0 - 100.0 * 1.0002) / 100.0 + 0.0002);
        assert_eq!(rng.random(), 0.7319939418114051);
    }
}
