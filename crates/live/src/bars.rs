//! Live bars from the trade stream (SPEC D1, §8 "Bars"; B §16.5 "5s bars"; issue 12 item 4).
//!
//! A bar of `bar_ms` covers event time `[t, t + bar_ms)`, `t` a multiple of `bar_ms`. A trade
//! (or aggTrade) belongs to the bar of its event time `E`. The bar **closes** when the stream's
//! event time first reaches `t + bar_ms` (any message of any symbol moves the clock), and its
//! close is the **last trade price** in it. A bar with no trade repeats the previous close and
//! is marked `filled`. A symbol has bars from the bar of its first trade on. Bars of one close
//! time come out together, symbols in name order, so a replay at any speed gives the same bars.
//!
//! (The offline `dolphin ob --klines-out` bars of `dolphin_orderbook::trade_bars` bucket by
//! transaction time `T` and are OHLCV; these live bars follow SPEC §8's event-time rule.)

use std::collections::BTreeMap;

use dolphin_orderbook::Fixed;

/// One closed live bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBar {
    pub symbol: String,
    /// Bar start, ms (multiple of the bar length).
    pub open_ms: i64,
    /// Last trade price in the bar, or the previous close when `filled`.
    pub close: Fixed,
    /// Trades in the bar.
    pub trades: u32,
    /// No trade in the bar: the close repeats the previous bar's.
    pub filled: bool,
}

#[derive(Debug, Clone, Default)]
struct SymbolBar {
    last: Option<Fixed>,
    trades: u32,
}

/// Builds [`LiveBar`]s from trades on the event-time clock.
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

    /// Moves the clock to event time `e_ms`, closing every bar that ends at or before it.
    pub fn on_event(&mut self, e_ms: i64, out: &mut Vec<LiveBar>) {
        let Some(mut open) = self.open_ms else {
            self.open_ms = Some(e_ms.div_euclid(self.bar_ms) * self.bar_ms);
            return;
        };
        while e_ms >= open + self.bar_ms {
            for (sym, st) in self.symbols.iter_mut() {
                let Some(close) = st.last else { continue };
                out.push(LiveBar {
                    symbol: sym.clone(),
                    open_ms: open,
                    close,
                    trades: st.trades,
                    filled: st.trades == 0,
                });
                st.trades = 0;
            }
            open += self.bar_ms;
        }
        self.open_ms = Some(open);
    }

    /// A trade of `symbol` at `price` with event time `e_ms` (clock first, then the trade).
    pub fn on_trade(&mut self, symbol: &str, price: Fixed, e_ms: i64, out: &mut Vec<LiveBar>) {
        self.on_event(e_ms, out);
        let st = match self.symbols.get_mut(symbol) {
            Some(s) => s,
            None => self.symbols.entry(symbol.to_string()).or_default(),
        };
        st.last = Some(price);
        st.trades += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn closes_on_event_time_boundaries_and_fills_silence() {
        let mut b = LiveBarBuilder::new(5);
        let mut out = Vec::new();
        b.on_trade("BTCUSDT", fx("100"), 1_000, &mut out); // bar [0, 5000)
        b.on_trade("BTCUSDT", fx("101"), 4_999, &mut out);
        b.on_trade("ETHUSDT", fx("10"), 4_000, &mut out);
        assert!(out.is_empty());
        // A message at exactly 5000 closes [0, 5000).
        b.on_event(5_000, &mut out);
        assert_eq!(
            out,
            vec![
                LiveBar {
                    symbol: "BTCUSDT".into(),
                    open_ms: 0,
                    close: fx("101"),
                    trades: 2,
                    filled: false
                },
                LiveBar {
                    symbol: "ETHUSDT".into(),
                    open_ms: 0,
                    close: fx("10"),
                    trades: 1,
                    filled: false
                },
            ]
        );
        out.clear();
        // ETH trades in [5000, 10000); BTC does not: BTC's bar repeats 101 and is marked.
        b.on_trade("ETHUSDT", fx("11"), 7_000, &mut out);
        // Silence until 21 000: bars [5000,10000), [10000,15000), [15000,20000) close.
        b.on_trade("BTCUSDT", fx("99"), 21_000, &mut out);
        let got: Vec<(String, i64, String, bool)> = out
            .iter()
            .map(|x| (x.symbol.clone(), x.open_ms, x.close.to_string(), x.filled))
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
        out.clear();
        b.on_event(25_000, &mut out);
        assert_eq!(out[0].close, fx("99"));
        assert_eq!((out[0].open_ms, out[0].trades), (20_000, 1));
    }

    #[test]
    fn one_minute_by_config() {
        let mut b = LiveBarBuilder::new(60);
        let mut out = Vec::new();
        b.on_trade("X", fx("1"), 59_999, &mut out);
        b.on_event(60_000, &mut out);
        assert_eq!((out.len(), out[0].open_ms), (1, 0));
        assert_eq!(b.bar_ms(), 60_000);
    }
}
