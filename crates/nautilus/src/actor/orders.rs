//! Order routing and sizing (S §5.3 ⑦, issue 7 item 2): each engine entry and exit becomes a
//! market order for `notional / entry_price` base units on the asset's perpetual.

use super::DolphinActor;
use crate::actor_log::{Leg, OrderIntent};
use crate::config::OrderRoute;
use dolphin_core::Direction;
use nautilus_model::enums::OrderSide;
use nautilus_model::orders::Order;
use nautilus_model::types::Quantity;
use nautilus_trading::strategy::Strategy;

impl DolphinActor {
    /// Sends the market order of an engine entry (`Leg::Entry`) or exit (`Leg::Exit`).
    pub(super) fn send_order(&mut self, trade_id: u32, leg: Leg) {
        if self.cfg.routes.is_empty() && self.cfg.route_venue.is_none() {
            return;
        }
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let found = match leg {
            Leg::Entry => engine
                .position()
                .filter(|p| p.trade_id == trade_id)
                .map(|p| (p.asset.clone(), p.direction, p.notional, p.entry_price)),
            Leg::Exit => engine
                .trade_history()
                .iter()
                .rev()
                .find(|t| t.trade_id == trade_id)
                .map(|t| (t.asset.clone(), t.direction, t.notional, t.entry_price)),
        };
        let Some((asset, direction, notional, entry_price)) = found else {
            return;
        };
        let side = match (direction, leg) {
            (Direction::Short, Leg::Entry) | (Direction::Long, Leg::Exit) => OrderSide::Sell,
            (Direction::Long, Leg::Entry) | (Direction::Short, Leg::Exit) => OrderSide::Buy,
        };
        let mut intent = OrderIntent {
            trade_id,
            leg,
            asset: asset.clone(),
            instrument_id: String::new(),
            side: side.to_string(),
            quantity: String::new(),
            client_order_id: None,
            note: None,
        };
        let Some(route) = self.route(&asset) else {
            intent.note = Some(format!("no instrument for {asset}"));
            self.log.borrow_mut().orders.push(intent);
            return;
        };
        intent.instrument_id = route.instrument_id.to_string();
        match order_quantity(notional, entry_price, route.size_precision) {
            Ok(qty) => {
                intent.quantity = qty.to_string();
                let order = self.core.order_factory().market(
                    route.instrument_id,
                    side,
                    qty,
                    None,
                    Some(leg == Leg::Exit),
                    None,
                    None,
                    None,
                    None,
                    None,
                );
                let coid = order.client_order_id();
                match self.submit_order(order, None, None, None) {
                    Ok(()) => intent.client_order_id = Some(coid.to_string()),
                    Err(e) => intent.note = Some(format!("submit failed: {e}")),
                }
            }
            Err(e) => intent.note = Some(e.to_string()),
        }
        self.log.borrow_mut().orders.push(intent);
    }

    /// The order route of `asset`: the configured one, else (live) the venue's perpetual with
    /// its size precision from the cache.
    pub(super) fn route(&self, asset: &str) -> Option<OrderRoute> {
        if let Some(r) = self.cfg.routes.get(asset) {
            return Some(*r);
        }
        let venue = self.cfg.route_venue.as_ref()?;
        let id = nautilus_model::identifiers::InstrumentId::from(
            format!("{asset}-PERP.{venue}").as_str(),
        );
        let precision =
            nautilus_model::instruments::Instrument::size_precision(self.cache().instrument(&id)?);
        Some(OrderRoute {
            instrument_id: id,
            size_precision: precision,
        })
    }
}

/// Why a trade has no valid order quantity.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity {notional} / {entry_price} is not positive")]
    NotPositive { notional: f64, entry_price: f64 },
    /// Nautilus refused the value (its message).
    #[error("{0}")]
    Refused(String),
    #[error("quantity {qty} rounds to zero at precision {precision}")]
    RoundsToZero { qty: f64, precision: u8 },
}

/// The order quantity of a trade: `notional / entry_price` base units at `precision`.
pub fn order_quantity(
    notional: f64,
    entry_price: f64,
    precision: u8,
) -> Result<Quantity, QuantityError> {
    let qty = notional / entry_price;
    if !qty.is_finite() || qty <= 0.0 {
        return Err(QuantityError::NotPositive {
            notional,
            entry_price,
        });
    }
    let q =
        Quantity::new_checked(qty, precision).map_err(|e| QuantityError::Refused(e.to_string()))?;
    if q.is_zero() {
        return Err(QuantityError::RoundsToZero { qty, precision });
    }
    Ok(q)
}
