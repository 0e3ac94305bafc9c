//! Trade bars: the `trade` messages of a depth capture turned into fixed-interval OHLCV klines
//! per symbol, written in Binance's kline CSV layout (the input of `dolphin scan`, SPEC §6).
//! They give the captures (2024-08-08, which no 1-minute kline file covers) their own price
//! bars, so that an OB backtest can replay features and prices of the same minutes (issue 5,
//! "done when" item 3; docs/OB_FEATURES.md §8).
//!
//! Definition (this project's; the seeds and SPEC are silent):
//! - A trade belongs to the bar `open_time = ⌊T / interval⌋ · interval`, `T` = the exchange
//!   trade time in ms. Trades of a symbol are ordered by `(T, trade id)`; a repeated trade id
//!   is counted once.
//! - `open`/`close` = price of the first/last trade of the bar in that order, `high`/`low` =
//!   extreme prices, `volume` = Σ qty (base units), `quote_volume` = Σ price·qty (USDT, exact),
//!   `count` = trades, `taker_buy_volume` / `taker_buy_quote_volume` = the same sums over
//!   trades whose taker bought (`m = false`). All sums are exact decimals.
//! - A symbol's bars run from the bar of its first trade to the bar of its last trade. A bar
//!   with no trade repeats the previous close as open = high = low = close, with zero volume
//!   and count (no price is invented, none is left out).
//! - `close_time = open_time + interval − 1` (Binance's convention), `ignore` = 0.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::decimal::{FIXED_SCALE, Fixed};
use crate::event::Trade;

/// Header of a Binance kline CSV (the layout `dolphin scan --klines` reads, SPEC §6).
pub const KLINE_HEADER: &str = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";

/// One OHLCV bar of one symbol (module doc for the definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeBar {
    /// Bar start, ms since the epoch (a multiple of the interval).
    pub open_time_ms: i64,
    pub open: Fixed,
    pub high: Fixed,
    pub low: Fixed,
    pub close: Fixed,
    /// Σ qty, base units.
    pub volume: Fixed,
    /// Σ price·qty in units of 10⁻¹⁶ USDT (exact product of two 10⁻⁸ decimals).
    pub quote_volume: i128,
    /// Number of trades.
    pub count: u64,
    /// Σ qty of taker-buy trades (`m = false`).
    pub taker_buy_volume: Fixed,
    /// Σ price·qty of taker-buy trades, units of 10⁻¹⁶ USDT.
    pub taker_buy_quote_volume: i128,
}

/// Why trade bars could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum TradeBarError {
    #[error("interval {0:?} is not `<n>s`, `<n>m` or `<n>h` with n ≥ 1")]
    BadInterval(String),
    #[error("{symbol}: volume overflows a fixed-point i64 in the bar at {open_time_ms} ms")]
    Overflow { symbol: String, open_time_ms: i64 },
    #[error("symbol {0:?} is not alphanumeric: cannot name its kline file")]
    BadSymbol(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Length in ms of an interval `<n>s`, `<n>m` or `<n>h` (Binance kline interval names).
pub fn parse_interval(s: &str) -> Result<i64, TradeBarError> {
    let bad = || TradeBarError::BadInterval(s.to_string());
    let unit = s.chars().last().ok_or_else(bad)?;
    let num = &s[..s.len() - unit.len_utf8()];
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = num.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms).filter(|&v| v > 0).ok_or_else(bad)
}

/// Collects trades per symbol and turns them into bars (module doc).
#[derive(Debug, Clone)]
pub struct TradeBarBuilder {
    interval_ms: i64,
    trades: BTreeMap<String, Vec<Trade>>,
}

impl TradeBarBuilder {
    /// A builder for bars of `interval_ms` (> 0) milliseconds.
    pub fn new(interval_ms: i64) -> Self {
        TradeBarBuilder {
            interval_ms: interval_ms.max(1),
            trades: BTreeMap::new(),
        }
    }

    /// The bar length in ms.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Record one trade of `symbol`.
    pub fn push(&mut self, symbol: &str, trade: &Trade) {
        match self.trades.get_mut(symbol) {
            Some(v) => v.push(*trade),
            None => {
                self.trades.insert(symbol.to_string(), vec![*trade]);
            }
        }
    }

    /// The bars of every symbol, symbols sorted by name (module doc for the rules).
    pub fn bars(&self) -> Result<BTreeMap<String, Vec<TradeBar>>, TradeBarError> {
        let mut out = BTreeMap::new();
        for (symbol, trades) in &self.trades {
            out.insert(symbol.clone(), self.symbol_bars(symbol, trades)?);
        }
        Ok(out)
    }

    fn symbol_bars(&self, symbol: &str, trades: &[Trade]) -> Result<Vec<TradeBar>, TradeBarError> {
        let mut ts: Vec<Trade> = trades.to_vec();
        ts.sort_by_key(|t| (t.transaction_time_ms, t.trade_id));
        let mut seen = std::collections::HashSet::with_capacity(ts.len());
        ts.retain(|t| seen.insert(t.trade_id));
        let step = self.interval_ms;
        let mut bars: Vec<TradeBar> = Vec::new();
        for t in &ts {
            let open_time_ms = t.transaction_time_ms.div_euclid(step) * step;
            // Fill silent bars with the previous close.
            while let Some(last) = bars.last().copied()
                && last.open_time_ms + step < open_time_ms
            {
                bars.push(TradeBar::empty(last.open_time_ms + step, last.close));
            }
            if bars.last().is_none_or(|b| b.open_time_ms != open_time_ms) {
                bars.push(TradeBar {
                    open_time_ms,
                    open: t.price,
                    high: t.price,
                    low: t.price,
                    close: t.price,
                    ..TradeBar::empty(open_time_ms, t.price)
                });
            }
            let b = bars.last_mut().expect("pushed above");
            b.add(t).ok_or_else(|| TradeBarError::Overflow {
                symbol: symbol.to_string(),
                open_time_ms,
            })?;
        }
        Ok(bars)
    }
}

impl TradeBar {
    /// A bar without trades at the price `close`.
    pub fn empty(open_time_ms: i64, close: Fixed) -> Self {
        TradeBar {
            open_time_ms,
            open: close,
            high: close,
            low: close,
            close,
            volume: Fixed::ZERO,
            quote_volume: 0,
            count: 0,
            taker_buy_volume: Fixed::ZERO,
            taker_buy_quote_volume: 0,
        }
    }

    pub(crate) fn add(&mut self, t: &Trade) -> Option<()> {
        if self.count == 0 {
            self.open = t.price;
            self.high = t.price;
            self.low = t.price;
        }
        self.high = self.high.max(t.price);
        self.low = self.low.min(t.price);
        self.close = t.price;
        self.count += 1;
        self.volume = Fixed(self.volume.0.checked_add(t.qty.0)?);
        let quote = i128::from(t.price.0) * i128::from(t.qty.0);
        self.quote_volume += quote;
        if !t.buyer_is_maker {
            self.taker_buy_volume = Fixed(self.taker_buy_volume.0.checked_add(t.qty.0)?);
            self.taker_buy_quote_volume += quote;
        }
        Some(())
    }

    /// The bar as one kline CSV line (no newline) for an interval of `interval_ms`.
    pub fn csv_line(&self, interval_ms: i64) -> String {
        let mut s = String::with_capacity(128);
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},0",
            self.open_time_ms,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.open_time_ms + interval_ms - 1,
            fmt_scaled16(self.quote_volume),
            self.count,
            self.taker_buy_volume,
            fmt_scaled16(self.taker_buy_quote_volume),
        );
        s
    }
}

/// An exact decimal with 16 implied decimals (a product of two [`Fixed`]), shortest form.
fn fmt_scaled16(v: i128) -> String {
    let scale = i128::from(FIXED_SCALE) * i128::from(FIXED_SCALE);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / scale as u128, a % scale as u128);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:016}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// Kline file name `SYMBOL-<interval>.csv` (the name `dolphin scan` expects, SPEC §6).
pub fn kline_file_name(symbol: &str, interval: &str) -> String {
    format!("{symbol}-{interval}.csv")
}

/// Write each symbol's bars to `dir/SYMBOL-<interval>.csv` (header + one line per bar,
/// `\n` line ends). Returns the paths written, in symbol order.
pub fn write_kline_csvs(
    dir: &Path,
    interval: &str,
    bars: &BTreeMap<String, Vec<TradeBar>>,
) -> Result<Vec<PathBuf>, TradeBarError> {
    let interval_ms = parse_interval(interval)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TradeBarError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    for (symbol, bars) in bars {
        if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TradeBarError::BadSymbol(symbol.clone()));
        }
        let path = dir.join(kline_file_name(symbol, interval));
        let mut text = String::with_capacity(64 * (bars.len() + 1));
        text.push_str(KLINE_HEADER);
        text.push('\n');
        for b in bars {
            text.push_str(&b.csv_line(interval_ms));
            text.push('\n');
        }
        crate::table::write_atomic(&path, text.as_bytes()).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(id: u64, t_ms: i64, p: &str, q: &str, buyer_is_maker: bool) -> Trade {
        Trade {
            trade_id: id,
            price: Fixed::parse(p).unwrap(),
            qty: Fixed::parse(q).unwrap(),
            buyer_is_maker,
            transaction_time_ms: t_ms,
            event_time_ms: t_ms + 1,
        }
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1s").unwrap(), 1_000);
        assert_eq!(parse_interval("5m").unwrap(), 300_000);
        assert_eq!(parse_interval("2h").unwrap(), 7_200_000);
        for bad in ["", "s", "0s", "1d", "1.5s", "-1s", "1S"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    /// Hand-worked bars: three trades in second 10 (given out of order), none in 11 and 12,
    /// one in 13, and a repeated trade id.
    #[test]
    fn ohlcv_by_trade_time_with_carried_close() {
        let mut b = TradeBarBuilder::new(1_000);
        b.push("BTCUSDT", &tr(3, 10_900, "100.5", "2", false));
        b.push("BTCUSDT", &tr(1, 10_000, "100", "1", true));
        b.push("BTCUSDT", &tr(2, 10_500, "99.9", "0.5", false));
        b.push("BTCUSDT", &tr(4, 13_250, "101", "0.001", true));
        b.push("BTCUSDT", &tr(4, 13_250, "101", "0.001", true));
        let bars = b.bars().unwrap();
        let v = &bars["BTCUSDT"];
        assert_eq!(v.len(), 4);
        // Second 10: open 100 (id 1), high 100.5, low 99.9, close 100.5 (id 3).
        assert_eq!(
            v[0].csv_line(1_000),
            // volume 3.5; quote 100 + 49.95 + 201 = 350.95; taker buys: ids 2, 3 → 2.5, 250.95.
            "10000,100,100.5,99.9,100.5,3.5,10999,350.95,3,2.5,250.95,0"
        );
        assert_eq!(
            v[1].csv_line(1_000),
            "11000,100.5,100.5,100.5,100.5,0,11999,0,0,0,0,0"
        );
        assert_eq!(v[2].open_time_ms, 12_000);
        assert_eq!(v[2].close, v[0].close);
        assert_eq!(
            v[3].csv_line(1_000),
            "13000,101,101,101,101,0.001,13999,0.101,1,0,0,0"
        );
    }

    #[test]
    fn writes_scan_readable_files() {
        let mut b = TradeBarBuilder::new(1_000);
        b.push("ETHUSDT", &tr(1, 5_000, "2681.62", "0.5", false));
        let dir = tempfile::tempdir().unwrap();
        let paths = write_kline_csvs(dir.path(), "1s", &b.bars().unwrap()).unwrap();
        assert_eq!(paths, vec![dir.path().join("ETHUSDT-1s.csv")]);
        let text = std::fs::read_to_string(&paths[0]).unwrap();
        assert_eq!(
            text,
            format!(
                "{KLINE_HEADER}\n5000,2681.62,2681.62,2681.62,2681.62,0.5,5999,1340.81,1,0.5,1340.81,0\n"
            )
        );
        let mut bad = TradeBarBuilder::new(1_000);
        bad.push("ETH/USDT", &tr(1, 5_000, "1", "1", false));
        assert!(matches!(
            write_kline_csvs(dir.path(), "1s", &bad.bars().unwrap()),
            Err(TradeBarError::BadSymbol(_))
        ));
    }
}
