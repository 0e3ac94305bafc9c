//! Binance USD-M futures message formats the exchange writes (issue 12 item 1): REST answers
//! (`exchangeInfo`, depth snapshot, `premiumIndex`, `fundingRate`, klines, errors) and the
//! stream events it derives from recorded data (`depthUpdate` batches, `aggTrade`,
//! `markPriceUpdate`, `kline`). Field names, order and types follow Binance's documentation
//! ("USDⓈ-M Futures" REST market-data endpoints and websocket market streams); prices and
//! quantities are decimal strings printed with the symbol's precision.

use std::collections::BTreeMap;
use std::fmt::Write;

use dolphin_orderbook::{Fixed, Level};

use crate::timeline::{Kline, MINUTE_MS};

/// Trading rules of one symbol, derived from the recorded data (docs/LIVE.md): the tick is
/// the greatest common divisor of every recorded price, the step that of every recorded
/// quantity; precisions are their decimal places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolInfo {
    pub symbol: String,
    pub tick: Fixed,
    pub step: Fixed,
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Accumulates the gcd of prices and quantities of one symbol.
#[derive(Debug, Clone, Copy, Default)]
pub struct GridProbe {
    price: i64,
    qty: i64,
}

impl GridProbe {
    pub fn price(&mut self, p: Fixed) {
        self.price = gcd(self.price, p.0);
    }
    pub fn qty(&mut self, q: Fixed) {
        self.qty = gcd(self.qty, q.0);
    }
    /// The symbol's rules; a side with no data gets 10⁻⁸ (price) or 0.001 (quantity).
    pub fn info(&self, symbol: &str) -> SymbolInfo {
        SymbolInfo {
            symbol: symbol.to_string(),
            tick: Fixed(if self.price > 0 { self.price } else { 1 }),
            step: Fixed(if self.qty > 0 { self.qty } else { 100_000 }),
        }
    }
}

/// Decimal places of a grid (`0.10` → 1, `0.001` → 3, `1` → 0).
pub fn decimals(grid: Fixed) -> usize {
    let mut d = 8;
    let mut m = grid.0;
    while d > 0 && m % 10 == 0 && m != 0 {
        m /= 10;
        d -= 1;
    }
    d
}

/// `x` with exactly `d` decimals (Binance pads: `61800.20`).
pub fn fmt_fixed(x: Fixed, d: usize) -> String {
    let neg = x.0 < 0;
    let a = x.0.unsigned_abs();
    let int = a / 100_000_000;
    let frac = a % 100_000_000;
    let mut s = String::with_capacity(24);
    if neg {
        s.push('-');
    }
    let _ = write!(s, "{int}");
    if d > 0 {
        let f = format!("{frac:08}");
        s.push('.');
        s.push_str(&f[..d.min(8)]);
    }
    s
}

impl SymbolInfo {
    pub fn price_decimals(&self) -> usize {
        decimals(self.tick)
    }
    pub fn qty_decimals(&self) -> usize {
        decimals(self.step)
    }
    pub fn price(&self, p: Fixed) -> String {
        fmt_fixed(p, self.price_decimals())
    }
    pub fn qty(&self, q: Fixed) -> String {
        fmt_fixed(q, self.qty_decimals())
    }

    /// The `symbols[]` entry of `GET /fapi/v1/exchangeInfo`.
    pub fn exchange_info_entry(&self) -> serde_json::Value {
        let base = self.symbol.strip_suffix("USDT").unwrap_or(&self.symbol);
        let pd = self.price_decimals();
        let qd = self.qty_decimals();
        serde_json::json!({
            "symbol": self.symbol,
            "pair": self.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000i64,
            "onboardDate": 1569398400000i64,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": base,
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": pd,
            "quantityPrecision": qd,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": self.price(self.tick), "maxPrice": "1000000", "tickSize": self.price(self.tick)},
                {"filterType": "LOT_SIZE", "minQty": self.qty(self.step), "maxQty": "1000000", "stepSize": self.qty(self.step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": self.qty(self.step), "maxQty": "1000000", "stepSize": self.qty(self.step)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": "5"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"}
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY"]
        })
    }
}

/// `GET /fapi/v1/exchangeInfo`.
pub fn exchange_info(server_time: i64, symbols: &[SymbolInfo]) -> serde_json::Value {
    serde_json::json!({
        "timezone": "UTC",
        "serverTime": server_time,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
        "symbols": symbols.iter().map(SymbolInfo::exchange_info_entry).collect::<Vec<_>>()
    })
}

fn push_levels<'a>(s: &mut String, levels: impl Iterator<Item = &'a Level>, info: &SymbolInfo) {
    s.push('[');
    for (i, l) in levels.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "[\"{}\",\"{}\"]", info.price(l.price), info.qty(l.qty));
    }
    s.push(']');
}

/// `GET /fapi/v1/depth` answer.
pub fn depth_snapshot(
    last_update_id: u64,
    e: i64,
    t: i64,
    bids: &[Level],
    asks: &[Level],
    info: &SymbolInfo,
) -> String {
    let mut s = String::with_capacity(64 + 40 * (bids.len() + asks.len()));
    let _ = write!(
        s,
        "{{\"lastUpdateId\":{last_update_id},\"E\":{e},\"T\":{t},\"bids\":"
    );
    push_levels(&mut s, bids.iter(), info);
    s.push_str(",\"asks\":");
    push_levels(&mut s, asks.iter(), info);
    s.push('}');
    s
}

/// A batch of diffs merged into one `depthUpdate` (Binance's `@depth@100ms` etc.): `U` of
/// the first, `u`, `E`, `T` of the last, `pu` of the first; per side the last quantity of
/// each price, bids descending, asks ascending.
#[derive(Debug, Clone, Default)]
pub struct DepthBatch {
    pub first_u: u64,
    pub last_u: u64,
    pub prev_u: u64,
    pub e: i64,
    pub t: i64,
    pub bids: BTreeMap<Fixed, Fixed>,
    pub asks: BTreeMap<Fixed, Fixed>,
    pub count: usize,
}

impl DepthBatch {
    pub fn add(&mut self, d: &dolphin_orderbook::DepthUpdate) {
        if self.count == 0 {
            self.first_u = d.first_update_id;
            self.prev_u = d.prev_final_update_id;
        }
        self.count += 1;
        self.last_u = d.final_update_id;
        self.e = d.event_time_ms;
        self.t = d.transaction_time_ms;
        for l in &d.bids {
            self.bids.insert(l.price, l.qty);
        }
        for l in &d.asks {
            self.asks.insert(l.price, l.qty);
        }
    }

    /// The `data` object of the merged event.
    pub fn data(&self, info: &SymbolInfo) -> String {
        let mut s = String::with_capacity(160 + 40 * (self.bids.len() + self.asks.len()));
        let _ = write!(
            s,
            "{{\"e\":\"depthUpdate\",\"E\":{},\"T\":{},\"s\":\"{}\",\"U\":{},\"u\":{},\"pu\":{},\"b\":",
            self.e, self.t, info.symbol, self.first_u, self.last_u, self.prev_u
        );
        let b: Vec<Level> = self
            .bids
            .iter()
            .rev()
            .map(|(p, q)| Level { price: *p, qty: *q })
            .collect();
        let a: Vec<Level> = self
            .asks
            .iter()
            .map(|(p, q)| Level { price: *p, qty: *q })
            .collect();
        push_levels(&mut s, b.iter(), info);
        s.push_str(",\"a\":");
        push_levels(&mut s, a.iter(), info);
        s.push('}');
        s
    }
}

/// An aggregate trade being built: consecutive trades of one symbol at the same price, taker
/// side and transaction time (Binance `aggTrade`).
#[derive(Debug, Clone)]
pub struct AggTrade {
    pub id: u64,
    pub price: Fixed,
    pub qty: Fixed,
    pub first: u64,
    pub last: u64,
    pub t: i64,
    pub e: i64,
    pub m: bool,
}

impl AggTrade {
    /// `{"e":"aggTrade",...}`.
    pub fn data(&self, info: &SymbolInfo) -> String {
        format!(
            "{{\"e\":\"aggTrade\",\"E\":{},\"s\":\"{}\",\"a\":{},\"p\":\"{}\",\"q\":\"{}\",\"f\":{},\"l\":{},\"T\":{},\"m\":{}}}",
            self.e,
            info.symbol,
            self.id,
            info.price(self.price),
            info.qty(self.qty),
            self.first,
            self.last,
            self.t,
            self.m
        )
    }
}

/// `{"e":"markPriceUpdate",...}` of `<symbol>@markPrice[@1s]`.
pub fn mark_price_data(
    e: i64,
    info: &SymbolInfo,
    mark: Fixed,
    funding_rate: Fixed,
    next_funding: i64,
) -> String {
    let p = info.price(mark);
    format!(
        "{{\"e\":\"markPriceUpdate\",\"E\":{e},\"s\":\"{}\",\"p\":\"{p}\",\"i\":\"{p}\",\"P\":\"{p}\",\"r\":\"{}\",\"T\":{next_funding}}}",
        info.symbol,
        fmt_fixed(funding_rate, 8)
    )
}

/// `{"e":"kline",...}` of `<symbol>@kline_1m` for a closed kline (`x: true`). Trade counts and
/// taker volumes are not in the recorded files and are sent as 0.
pub fn kline_data(k: &Kline, e: i64, info: &SymbolInfo) -> String {
    let quote = Fixed((k.volume.0 as i128 * k.close.0 as i128 / 100_000_000) as i64);
    format!(
        "{{\"e\":\"kline\",\"E\":{e},\"s\":\"{s}\",\"k\":{{\"t\":{t},\"T\":{tt},\"s\":\"{s}\",\"i\":\"1m\",\"f\":0,\"L\":0,\"o\":\"{o}\",\"c\":\"{c}\",\"h\":\"{h}\",\"l\":\"{l}\",\"v\":\"{v}\",\"n\":0,\"x\":true,\"q\":\"{q}\",\"V\":\"0\",\"Q\":\"0\",\"B\":\"0\"}}}}",
        s = info.symbol,
        t = k.open_ms,
        tt = k.open_ms + MINUTE_MS - 1,
        o = info.price(k.open),
        c = info.price(k.close),
        h = info.price(k.high),
        l = info.price(k.low),
        v = fmt_fixed(k.volume, 8.min(info.qty_decimals().max(3))),
        q = fmt_fixed(quote, 8),
    )
}

/// One row of `GET /fapi/v1/klines`.
pub fn kline_row(k: &Kline, info: &SymbolInfo) -> serde_json::Value {
    serde_json::json!([
        k.open_ms,
        info.price(k.open),
        info.price(k.high),
        info.price(k.low),
        info.price(k.close),
        fmt_fixed(k.volume, 8.min(info.qty_decimals().max(3))),
        k.open_ms + MINUTE_MS - 1,
        "0",
        0,
        "0",
        "0",
        "0"
    ])
}

/// A Binance error body `{"code":..,"msg":..}`.
pub fn error_body(code: i64, msg: &str) -> String {
    serde_json::json!({"code": code, "msg": msg}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn grid_and_formatting() {
        let mut g = GridProbe::default();
        for p in ["61800.20", "61800.30", "58710.2", "61510.9"] {
            g.price(fx(p));
        }
        for q in ["0.014", "3.330", "2.507"] {
            g.qty(fx(q));
        }
        let i = g.info("BTCUSDT");
        assert_eq!(i.tick, fx("0.1"));
        assert_eq!(i.step, fx("0.001"));
        assert_eq!((i.price_decimals(), i.qty_decimals()), (1, 3));
        assert_eq!(i.price(fx("61800.2")), "61800.2");
        assert_eq!(i.qty(fx("3.33")), "3.330");
        assert_eq!(fmt_fixed(fx("-0.00000612"), 8), "-0.00000612");
        assert_eq!(fmt_fixed(fx("7"), 0), "7");
        assert_eq!(decimals(fx("1")), 0);
        assert_eq!(decimals(fx("0.00001")), 5);
    }

    #[test]
    fn depth_batch_merges_like_binance() {
        use dolphin_orderbook::{DepthUpdate, Message, parse_message};
        let d = |u0, u1, pu, b: Vec<(&str, &str)>| DepthUpdate {
            event_time_ms: u1 as i64,
            transaction_time_ms: u1 as i64,
            first_update_id: u0,
            final_update_id: u1,
            prev_final_update_id: pu,
            bids: b
                .into_iter()
                .map(|(p, q)| Level {
                    price: fx(p),
                    qty: fx(q),
                })
                .collect(),
            asks: vec![],
        };
        let mut b = DepthBatch::default();
        b.add(&d(10, 12, 9, vec![("100.1", "1"), ("100.2", "2")]));
        b.add(&d(13, 15, 12, vec![("100.1", "0"), ("99.9", "4")]));
        let info = SymbolInfo {
            symbol: "XUSDT".into(),
            tick: fx("0.1"),
            step: fx("0.001"),
        };
        let json = b.data(&info);
        assert_eq!(
            json,
            r#"{"e":"depthUpdate","E":15,"T":15,"s":"XUSDT","U":10,"u":15,"pu":9,"b":[["100.2","2.000"],["100.1","0.000"],["99.9","4.000"]],"a":[]}"#
        );
        let Message::Depth { update, .. } = parse_message(&json).unwrap() else {
            panic!()
        };
        assert_eq!(
            (
                update.first_update_id,
                update.final_update_id,
                update.prev_final_update_id
            ),
            (10, 15, 9)
        );
    }
}
