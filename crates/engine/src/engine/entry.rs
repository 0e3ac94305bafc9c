//! Entries (seeds B §13.3 `_try_entry`, B §4–§6, §9; SPEC §5 "IRP", "DC", "Alpha layers"):
//! the signal gate, IRP asset selection with OB-1 and the depth gate, direction confirmation,
//! OB-2, sizing with the alpha layers, and the leverage product under the day's ceiling.

use super::{Bar, NDAlphaEngine};
use crate::direction_confirm::{DcVerdict, direction_confirm};
use crate::irp::{ob_adjusted_ars, rank_tradable};
use crate::ob::ObPlacement;
use crate::position::{NDPosition, ObRules};
use crate::signal::{ObConfirm, ob_confirm, passes_gate};
use crate::sizing::{calculate_size, clamp_leverage, leverage_ceiling, raw_leverage, vd_trend};
use dolphin_core::{Posture, is_valid_price};

impl NDAlphaEngine {
    /// `_try_entry` (B §13.3). The vel_div gate is checked first: IRP has no side effects,
    /// so the order does not change any result.
    pub(super) fn try_entry(&mut self, bar_idx: u64, bar: &Bar<'_>) -> Option<u32> {
        if self.capital <= 0.0 || !passes_gate(bar.vel_div, self.threshold, self.direction) {
            return None;
        }
        let ts = bar.timestamp_ms;
        let mut rules = ObRules::default();
        let (col, placement) = if self.cfg.use_asset_selection {
            self.select_asset(bar.prices, ts, &mut rules)?
        } else {
            let day = self.day.as_ref()?;
            let col = day
                .cols
                .cols
                .iter()
                .position(|&id| self.assets.name(id) == self.cfg.fallback_asset)?;
            if !is_valid_price(bar.prices[col]) {
                return None;
            }
            let placement = self
                .ob
                .as_ref()
                .and_then(|ob| ob.placement(&self.cfg.fallback_asset, ts));
            (col, placement)
        };
        let day = self.day.as_ref()?;
        let asset_id = day.cols.cols[col];
        let asset = self.assets.name(asset_id);

        // Direction confirmation on the selected asset (SPEC D9).
        let dc = if self.cfg.use_direction_confirm {
            direction_confirm(
                self.assets.history(asset_id),
                self.cfg.dc_lookback_bars as usize,
                self.cfg.dc_min_magnitude_bps,
                self.direction,
            )
        } else {
            DcVerdict::Neutral
        };
        if dc == DcVerdict::Contradict && self.cfg.dc_skip_contradicts {
            return None;
        }
        let dc_lev_mult = if dc == DcVerdict::Confirm {
            self.cfg.dc_leverage_boost
        } else {
            1.0
        };

        // OB-2: imbalance confirmation; a strong persistent contradiction vetoes.
        if let Some(ob) = &self.ob
            && let Some(sig) = ob.signal(asset, ts)
        {
            match ob_confirm(&sig, self.direction) {
                ObConfirm::Veto => return None,
                ObConfirm::Boost(_) => rules.confirm_boost = true,
                ObConfirm::Dampen(_) => rules.confirm_dampen = true,
                ObConfirm::Neutral => {}
            }
        }

        // Sizing (B §6) with the alpha layers.
        let trend = vd_trend(&self.vel_div_history, self.cfg.vd_trend_window);
        let alpha = self
            .alpha
            .state(self.trade_history.len(), self.cfg.streak_window, trend);
        let size = calculate_size(bar.vel_div, &self.sizer, &alpha);

        // OB-3 and the ACB leverage ceiling (B §6.5, SPEC D4/D12).
        let market_ob_mult = match &self.ob {
            Some(ob) => ob.market_multiplier(self.direction, ts),
            None => 1.0,
        };
        if market_ob_mult != 1.0 {
            rules.market_mult = true;
        }
        let stalker =
            (day.ctx.posture == Posture::Stalker).then_some(self.cfg.stalker_leverage_cap);
        let ceiling = leverage_ceiling(
            self.cfg.max_leverage,
            self.regime_size_mult,
            market_ob_mult,
            self.day_gates.abs_max_leverage_eff,
            stalker,
        );
        let raw = raw_leverage(
            size.leverage,
            dc_lev_mult,
            self.regime_size_mult,
            market_ob_mult,
        );
        let leverage = clamp_leverage(raw, self.cfg.min_leverage, ceiling);
        let notional = self.capital * size.fraction * leverage;
        let entry_price = bar.prices[col];
        let trade_id = self.trade_history.len() as u32 + 1;
        self.position = Some(NDPosition {
            trade_id,
            asset: asset.to_string(),
            asset_id,
            direction: self.direction,
            entry_price,
            notional,
            leverage,
            fraction: size.fraction,
            entry_bar: bar_idx,
            entry_date: day.date,
            entry_vel_div: bar.vel_div,
            bucket: size.bucket,
            vd_adverse_bars: 0,
            placement,
            ob_rules: rules,
        });
        Some(trade_id)
    }

    /// IRP selection (B §5.4–5.5, SPEC §5–6): among candidates (≥ `irp_window` history
    /// prices, not excluded, a valid price on this bar) in the day's column order, the
    /// highest ARS (after OB-1) that passes the kernel gates, the alignment gate, the
    /// direction gate and (with an OB provider) the depth gate `irp_min_depth_quality`; ties
    /// go to the earlier column — the same as a stable descending sort followed by a walk.
    fn select_asset(
        &self,
        prices: &[f64],
        ts: i64,
        rules: &mut ObRules,
    ) -> Option<(usize, Option<ObPlacement>)> {
        let day = self.day.as_ref()?;
        let w = self.cfg.irp_window as usize;
        let mut best: Option<(f64, usize, Option<ObPlacement>, bool)> = None;
        for (col, &p) in prices.iter().enumerate() {
            if !is_valid_price(p) {
                continue;
            }
            let id = day.cols.cols[col];
            if self.assets.is_excluded(id) {
                continue;
            }
            let h = self.assets.history(id);
            if h.len() < w {
                continue;
            }
            // Kernel gates, alignment gate and direction gate (inverse winners are never
            // traded) in one pass; bit-identical to ranking all assets and walking the list.
            let Some(r) = rank_tradable(
                col,
                &h[h.len() - w..],
                self.direction,
                &self.irp_gates,
                self.cfg.min_irp_alignment,
            ) else {
                continue;
            };
            let mut score = r.ars;
            let mut placement = None;
            let mut adjusted = false;
            if let Some(ob) = &self.ob {
                placement = ob.placement(self.assets.name(id), ts);
                if let Some(pl) = &placement {
                    (score, adjusted) = ob_adjusted_ars(score, pl.depth_quality);
                }
            }
            if placement.is_some_and(|pl| pl.depth_quality < self.cfg.irp_min_depth_quality) {
                continue;
            }
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, col, placement, adjusted));
            }
        }
        let (_, col, placement, adjusted) = best?;
        rules.ars_adjusted = adjusted;
        Some((col, placement))
    }
}
