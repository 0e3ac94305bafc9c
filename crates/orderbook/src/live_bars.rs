//! Live bars from the trade stream (SPEC D1, §8 "Bars"; B §16.5 "5s bars"; issue 12 item 4).
//!
//! A bar of `bar_ms` covers `[t, t + bar_ms)`, `t` a multiple of `bar_ms`, on the clock the
//! caller feeds: the trade's own time (the Nautilus node: the adapter stamps an aggTrade at its
//! trade time `T`) or a stream's event time `E`. A trade belongs to the bar that is open when
//! it arrives. The bar **closes** when the clock first reaches `t + bar_ms` (any trade or
//! event of any symbol moves it), and its close is the **last trade price** in it, with the
//! trades' OHLCV as in [`crate::trade_bars`]. A bar with no trade repeats the previous close
//! (open = high = low = close, zero volume) and is marked `filled`. A symbol has bars from the
//! bar of its first trade on. Bars of one close time come out together, symbols in name order,
//! so a replay at any speed of the same message order gives the same bars.
//!
//! (The offline `dolphin ob --klines-out` bars of [`crate::trade_bars`] sort a symbol's trades
//! by `T`; these follow arrival order, as a live system must.)

use std::collections::BTreeMap;

use crate::decimal::Fixed;
use crate::event::Trade;
use crate::trade_bars::TradeBar;

/// One closed live bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBar {
    pub symbol: String,
    /// The bar (`open_time_ms` = bar start, a multiple of the bar length; `close` = last trade
    /// price, or the previous close when `filled`; `count` = trades).
    pub bar: TradeBar,
    /// No trade in the bar: the close repeats the previous bar's.
    pub filled: bool,
}

impl LiveBar {
    /// Bar start, ms.
    pub fn open_ms(&self) -> i64 {
        self.bar.open_time_ms
    }

    /// Last trade price (or the carried close).
    pub fn close(&self) -> Fixed {
        self.bar.close
    }

    /// The close as the `f64` a kline file of this bar gives (`dolphin scan` parses the
    /// decimal text), so a live scan and a scan of the recorded bars see the same number.
    pub fn close_f64(&self) -> f64 {
        self.bar.close.to_string().parse().unwrap_or(f64::NAN)
    }
}

#[derive(Debug, Clone, Default)]
struct SymbolBar {
    last: Option<Fixed>,
    bar: Option<TradeBar>,
    /// Trades whose sums did not fit (counted, the bar keeps its earlier sums).
    overflows: u64,
}

/// Builds [`LiveBar`]s from trades on the caller's clock.
#[derive(Debug, Clone)]
pub struct LiveBarBuilder {
    bar_ms: i64,
    open_ms: Option<i64>,
    symbols: BTreeMap<String, SymbolBar>,
}

impl LiveBarBuilder {
    /// Bars of `bar_seconds` seconds (SPEC D1: `bar_seconds`, default 5).
    pub fn new(bar_seconds: u32) -> Self {
        LiveBarBuilder {
            bar_ms: i64::from(bar_seconds.max(1)) * 1000,
            open_ms: None,
            symbols: BTreeMap::new(),
        }
    }

    /// Bar length, ms.
    pub fn bar_ms(&self) -> i64 {
        self.bar_ms
    }

    /// Trades whose volume sums overflowed (kept out of the sums, their price still counts).
    pub fn overflows(&self) -> u64 {
        self.symbols.values().map(|s| s.overflows).sum()
    }

    /// Moves the clock to `t_ms`, closing every bar that ends at or before it.
    pub fn on_event(&mut self, t_ms: i64, out: &mut Vec<LiveBar>) {
        let Some(mut open) = self.open_ms else {
            self.open_ms = Some(t_ms.div_euclid(self.bar_ms) * self.bar_ms);
            return;
        };
        while t_ms >= open + self.bar_ms {
            for (sym, st) in self.symbols.iter_mut() {
                let Some(close) = st.last else { continue };
                let (bar, filled) = match st.bar.take() {
                    Some(b) => (b, false),
                    None => (TradeBar::empty(open, close), true),
                };
                out.push(LiveBar {
                    symbol: sym.clone(),
                    bar,
                    filled,
                });
            }
            open += self.bar_ms;
        }
        self.open_ms = Some(open);
    }

    /// A trade of `symbol` at clock time `t_ms` (clock first, then the trade).
    pub fn on_trade(&mut self, symbol: &str, trade: &Trade, t_ms: i64, out: &mut Vec<LiveBar>) {
        self.on_event(t_ms, out);
        let open = self.open_ms.unwrap_or(t_ms);
        let st = match self.symbols.get_mut(symbol) {
            Some(s) => s,
            None => self.symbols.entry(symbol.to_string()).or_default(),
        };
        st.last = Some(trade.price);
        let bar = st.bar.get_or_insert_with(|| {
            let mut b = TradeBar::empty(open, trade.price);
            b.count = 0;
            b
        });
        if bar.add(trade).is_none() {
            st.overflows += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn tr(p: &str, q: &str, t: i64) -> Trade {
        Trade {
            trade_id: t as u64,
            price: fx(p),
            qty: fx(q),
            buyer_is_maker: false,
            transaction_time_ms: t,
            event_time_ms: t,
        }
    }

    fn on(b: &mut LiveBarBuilder, sym: &str, p: &str, t: i64, out: &mut Vec<LiveBar>) {
        b.on_trade(sym, &tr(p, "1", t), t, out);
    }

    #[test]
    fn closes_on_clock_boundaries_and_fills_silence() {
        let mut b = LiveBarBuilder::new(5);
        let mut out = Vec::new();
        on(&mut b, "BTCUSDT", "100", 1_000, &mut out); // bar [0, 5000)
        b.on_trade("BTCUSDT", &tr("101", "2.5", 4_999), 4_999, &mut out);
        on(&mut b, "ETHUSDT", "10", 4_000, &mut out);
        assert!(out.is_empty());
        // A message at exactly 5000 closes [0, 5000).
        b.on_event(5_000, &mut out);
        assert_eq!(out.len(), 2);
        let btc = &out[0];
        assert_eq!(
            (btc.symbol.as_str(), btc.open_ms(), btc.filled),
            ("BTCUSDT", 0, false)
        );
        assert_eq!(
            (btc.bar.open, btc.bar.high, btc.bar.low, btc.close()),
            (fx("100"), fx("101"), fx("100"), fx("101"))
        );
        assert_eq!((btc.bar.volume, btc.bar.count), (fx("3.5"), 2));
        // quote volume 100·1 + 101·2.5 = 352.5, 16 implied decimals
        assert_eq!(btc.bar.quote_volume, 3_525 * 10i128.pow(15));
        assert_eq!(btc.close_f64(), 101.0);
        assert_eq!(
            (out[1].symbol.as_str(), out[1].close()),
            ("ETHUSDT", fx("10"))
        );
        out.clear();
        // ETH trades in [5000, 10000); BTC does not: BTC's bar repeats 101 and is marked.
        on(&mut b, "ETHUSDT", "11", 7_000, &mut out);
        // Silence until 21 000: bars [5000,10000), [10000,15000), [15000,20000) close.
        on(&mut b, "BTCUSDT", "99", 21_000, &mut out);
        let got: Vec<(String, i64, String, bool)> = out
            .iter()
            .map(|x| {
                (
                    x.symbol.clone(),
                    x.open_ms(),
                    x.close().to_string(),
                    x.filled,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("BTCUSDT".into(), 5_000, "101".into(), true),
                ("ETHUSDT".into(), 5_000, "11".into(), false),
                ("BTCUSDT".into(), 10_000, "101".into(), true),
                ("ETHUSDT".into(), 10_000, "11".into(), true),
                ("BTCUSDT".into(), 15_000, "101".into(), true),
                ("ETHUSDT".into(), 15_000, "11".into(), true),
            ]
        );
        // A filled bar is flat with zero volume.
        let f = &out[0].bar;
        assert_eq!(
            (f.open, f.high, f.low, f.count),
            (fx("101"), fx("101"), fx("101"), 0)
        );
        assert_eq!(f.volume, Fixed::ZERO);
        out.clear();
        b.on_event(25_000, &mut out);
        assert_eq!(out[0].close(), fx("99"));
        assert_eq!((out[0].open_ms(), out[0].bar.count), (20_000, 1));
    }

    #[test]
    fn a_late_trade_counts_in_the_open_bar() {
        // Arrival order rules: a trade stamped before the open bar (another symbol moved the
        // clock first) is counted in the bar that is open.
        let mut b = LiveBarBuilder::new(5);
        let mut out = Vec::new();
        on(&mut b, "ETHUSDT", "10", 4_000, &mut out);
        on(&mut b, "ETHUSDT", "10", 5_100, &mut out); // closes [0, 5000)
        on(&mut b, "BTCUSDT", "50", 4_990, &mut out);
        b.on_event(10_000, &mut out);
        let btc: Vec<_> = out.iter().filter(|x| x.symbol == "BTCUSDT").collect();
        assert_eq!(btc.len(), 1);
        assert_eq!((btc[0].open_ms(), btc[0].close()), (5_000, fx("50")));
    }

    #[test]
    fn one_minute_by_config() {
        let mut b = LiveBarBuilder::new(60);
        let mut out = Vec::new();
        on(&mut b, "X", "1", 59_999, &mut out);
        b.on_event(60_000, &mut out);
        assert_eq!((out.len(), out[0].open_ms()), (1, 0));
        assert_eq!(b.bar_ms(), 60_000);
    }
}
