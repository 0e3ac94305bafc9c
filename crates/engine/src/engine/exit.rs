//! Position management (seeds B §7, §13.2; SPEC §5 "Exits", §6): forced exits (HIBERNATE,
//! sub-day ACB), the exit rules with OB-5 (and the TF-spread exit of B §19 TODO-6 when
//! enabled), settlement, and the end-of-data close.

use super::{Bar, NDAlphaEngine};
use crate::exits::{
    ExitParams, ExitReason, evaluate, ob_dynamic_exit, tf_recovery, vd_adverse_turn,
};
use crate::fees::{EdgeSource, ExitTerms, pnl_pct, settle_exit};
use crate::position::NDTradeRecord;
use dolphin_core::{Posture, is_valid_price};

impl NDAlphaEngine {
    /// Exits of the open position on this bar (B §7.1 order), `Some(trade_id)` when it closed.
    pub(super) fn manage_position(&mut self, bar_idx: u64, bar: &Bar<'_>) -> Option<u32> {
        let day = self.day.as_ref()?;
        let pos = self.position.as_ref()?;
        let price = day
            .cols
            .col(pos.asset_id)
            .map(|c| bar.prices[c])
            .filter(|&p| is_valid_price(p));
        let last_price = self
            .assets
            .last_price(pos.asset_id)
            .unwrap_or(pos.entry_price);
        let forced = if day.ctx.posture == Posture::Hibernate {
            Some(ExitReason::HibernateHalt)
        } else if self.pending_subday_exit {
            Some(ExitReason::SubdayAcbNormalization)
        } else {
            None
        };
        if let Some(reason) = forced {
            return Some(self.execute_exit(reason, price.unwrap_or(last_price), bar_idx));
        }

        let dir = pos.direction;
        let vd_adverse = if self.cfg.vd_enabled {
            let pos = self.position.as_mut()?;
            let (count, fired) = vd_adverse_turn(
                pos.vd_adverse_bars,
                bar.vel_div,
                dir,
                self.cfg.vd_exit_threshold,
                self.cfg.vd_confirm_bars,
            );
            pos.vd_adverse_bars = count;
            fired
        } else {
            false
        };
        let pos = self.position.as_ref()?;
        let bars_held = bar_idx - pos.entry_bar;
        let pnl_now = price.map(|p| pnl_pct(pos.entry_price, p, dir));
        let tf = self.cfg.tf_enabled
            && pnl_now.is_some_and(|pnl| {
                let tf = self.cfg.tf_params();
                tf_recovery(&tf, pos.entry_vel_div, bar.vel_div, dir, pnl, bars_held)
            });
        let base = ExitParams {
            tp_pct: self.cfg.fixed_tp_pct,
            sl_pct: self.cfg.stop_pct,
            max_hold: self.cfg.max_hold_bars,
        };
        let params = match &self.ob {
            Some(ob) => {
                let asset = self.assets.name(pos.asset_id);
                let m = ob.macro_state(bar.timestamp_ms);
                let s = ob.signal(asset, bar.timestamp_ms);
                let pnl_ref = pnl_now.unwrap_or_else(|| pnl_pct(pos.entry_price, last_price, dir));
                let (p, rules) = ob_dynamic_exit(base, m.as_ref(), s.as_ref(), pnl_ref, dir);
                if let Some(pos) = self.position.as_mut() {
                    pos.ob_rules.merge_exit(rules);
                }
                p
            }
            None => base,
        };
        let reason = evaluate(&params, pnl_now, bars_held, vd_adverse, tf)?;
        Some(self.execute_exit(reason, price.unwrap_or(last_price), bar_idx))
    }

    /// `_execute_exit` (B §7.4, §8): settles the position ([`settle_exit`]: slippage, SP
    /// refunds, OB edge, fees; RNG draws in the order of SPEC D11), books the capital, the
    /// alpha statistics and the trade record.
    pub(super) fn execute_exit(&mut self, reason: ExitReason, price: f64, bar_idx: u64) -> u32 {
        let mut pos = self
            .position
            .take()
            .expect("execute_exit without a position");
        let edge = if self.ob.is_some() {
            EdgeSource::Book(pos.placement.as_ref())
        } else {
            EdgeSource::Drawn
        };
        let terms = ExitTerms {
            entry_price: pos.entry_price,
            notional: pos.notional,
            direction: pos.direction,
        };
        let s = settle_exit(
            &self.cfg,
            &self.fees,
            &mut self.rng,
            reason,
            price,
            terms,
            edge,
        );
        if s.ob_edge {
            pos.ob_rules.edge = true;
        }
        self.capital += s.net;
        self.alpha.record(pos.bucket, s.net, self.cfg.streak_window);
        self.last_exit_bar = Some(bar_idx);
        self.pending_subday_exit = false;
        if let Some(d) = self.day.as_mut() {
            d.trades += 1;
        }
        let id = pos.trade_id;
        self.trade_history.push(NDTradeRecord {
            trade_id: id,
            date: pos.entry_date,
            asset: pos.asset,
            direction: pos.direction,
            entry_bar: pos.entry_bar,
            exit_bar: bar_idx,
            entry_price: pos.entry_price,
            exit_price: s.exit_price,
            leverage: pos.leverage,
            notional: pos.notional,
            pnl: s.net,
            reason,
            ob_rules: pos.ob_rules.names().into_iter().map(String::from).collect(),
            bucket: pos.bucket,
            pnl_pct: s.pnl_pct,
        });
        id
    }

    /// Closes an open position at the end of a run (SPEC §6): reason END_OF_DATA, at the
    /// asset's last history price, exit bar = the last processed bar.
    pub fn close_end_of_data(&mut self) -> Option<u32> {
        let pos = self.position.as_ref()?;
        let price = self.assets.last_price(pos.asset_id)?;
        let bar = self.bars.saturating_sub(1);
        Some(self.execute_exit(ExitReason::EndOfData, price, bar))
    }

    /// Sub-day ACB update (B §7.3, §10.5): replaces the day's boost and beta; a fall from
    /// ≥ `subday_high` to < `subday_low` with an open position closes it on the next bar
    /// (SUBDAY_ACB_NORMALIZATION).
    pub fn update_acb_boost(&mut self, boost: f64, beta: f64) {
        if self.day_gates.update_acb(&self.cfg, boost, beta) && self.position.is_some() {
            self.pending_subday_exit = true;
        }
    }
}
