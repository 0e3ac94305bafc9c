//! Reconciliation of the engine's trade log with what Nautilus filled (issue 7 item 2): every
//! trade must appear as an entry and an exit market order on its asset's perpetual, with the
//! trade's side and quantity, fully filled.

use crate::actor::order_quantity;
use crate::actor_log::{ActorLog, Leg};
use crate::config::OrderRoute;
use dolphin_core::Direction;
use dolphin_engine::NDTradeRecord;
use nautilus_model::types::Quantity;
use std::collections::{BTreeMap, HashMap};

/// One disagreement between the engine's trade log and Nautilus.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The engine trade, when the difference belongs to one.
    pub trade_id: Option<u32>,
    pub leg: Option<Leg>,
    /// What differs: `order`, `instrument`, `side`, `quantity`, `fill`, `position`.
    pub field: &'static str,
    /// The engine's side of it.
    pub engine: String,
    /// Nautilus's side of it.
    pub nautilus: String,
}

/// The outcome of a reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reconciliation {
    pub engine_trades: usize,
    /// Two per trade (entry and exit).
    pub expected_orders: usize,
    /// Orders submitted to the venue.
    pub orders_sent: usize,
    /// Orders whose fills add up to their quantity.
    pub orders_filled: usize,
    /// Fill events received.
    pub fills: usize,
    pub differences: Vec<Difference>,
}

impl Reconciliation {
    /// Whether Nautilus holds exactly what the engine traded.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares the engine's `trades` with the orders and fills in `log`, and with the positions
/// still open at the venue (`open_positions`, e.g. `BTCUSDT-PERP.BINANCE SHORT 0.1`).
pub fn reconcile(
    trades: &[NDTradeRecord],
    log: &ActorLog,
    routes: &BTreeMap<String, OrderRoute>,
    open_positions: &[String],
) -> Reconciliation {
    let mut r = Reconciliation {
        engine_trades: trades.len(),
        expected_orders: trades.len() * 2,
        orders_sent: log
            .orders
            .iter()
            .filter(|o| o.client_order_id.is_some())
            .count(),
        fills: log.fills.len(),
        ..Default::default()
    };
    let mut filled: HashMap<&str, (Quantity, &str, &str)> = HashMap::new();
    for f in &log.fills {
        let q = Quantity::from(f.quantity.as_str());
        filled
            .entry(f.client_order_id.as_str())
            .and_modify(|e| e.0 = e.0 + q)
            .or_insert((q, f.side.as_str(), f.instrument_id.as_str()));
    }
    let mut seen = vec![false; log.orders.len()];
    for t in trades {
        for leg in [Leg::Entry, Leg::Exit] {
            let mut diff = |field: &'static str, engine: String, nautilus: String| {
                r.differences.push(Difference {
                    trade_id: Some(t.trade_id),
                    leg: Some(leg),
                    field,
                    engine,
                    nautilus,
                })
            };
            let side = match (t.direction, leg) {
                (Direction::Short, Leg::Entry) | (Direction::Long, Leg::Exit) => "SELL",
                (Direction::Long, Leg::Entry) | (Direction::Short, Leg::Exit) => "BUY",
            };
            let Some(route) = routes.get(&t.asset) else {
                diff("instrument", t.asset.clone(), "no instrument".into());
                continue;
            };
            let qty = order_quantity(t.notional, t.entry_price, route.size_precision)
                .map(|q| q.to_string())
                .unwrap_or_else(|e| e.to_string());
            let Some(i) = log
                .orders
                .iter()
                .position(|o| o.trade_id == t.trade_id && o.leg == leg)
            else {
                diff(
                    "order",
                    format!("{side} {qty} {}", route.instrument_id),
                    "none".into(),
                );
                continue;
            };
            seen[i] = true;
            let o = &log.orders[i];
            if o.instrument_id != route.instrument_id.to_string() {
                diff(
                    "instrument",
                    route.instrument_id.to_string(),
                    o.instrument_id.clone(),
                );
            }
            if o.side != side {
                diff("side", side.into(), o.side.clone());
            }
            if o.quantity != qty {
                diff("quantity", qty.clone(), o.quantity.clone());
            }
            let Some(coid) = &o.client_order_id else {
                diff(
                    "order",
                    format!("{side} {qty}"),
                    o.note.clone().unwrap_or_default(),
                );
                continue;
            };
            match filled.get(coid.as_str()) {
                Some((q, s, inst)) => {
                    if q.to_string() == o.quantity && *s == o.side && *inst == o.instrument_id {
                        r.orders_filled += 1;
                    } else {
                        diff(
                            "fill",
                            format!("{} {} {}", o.side, o.quantity, o.instrument_id),
                            format!("{s} {q} {inst}"),
                        );
                    }
                }
                None => {
                    let why = log
                        .order_problems
                        .iter()
                        .find(|p| &p.client_order_id == coid)
                        .map_or("not filled".to_string(), |p| p.reason.clone());
                    diff("fill", format!("{} {}", o.side, o.quantity), why);
                }
            }
        }
    }
    for (o, _) in log.orders.iter().zip(&seen).filter(|(_, s)| !**s) {
        r.differences.push(Difference {
            trade_id: Some(o.trade_id),
            leg: Some(o.leg),
            field: "order",
            engine: "no such trade".into(),
            nautilus: format!("{} {} {}", o.side, o.quantity, o.instrument_id),
        });
    }
    for p in open_positions {
        r.differences.push(Difference {
            trade_id: None,
            leg: None,
            field: "position",
            engine: "flat".into(),
            nautilus: p.clone(),
        });
    }
    r
}
