//! The live node's own bars, recorded as Binance kline CSVs (`SYMBOL-5s.csv`, the layout
//! `dolphin scan --klines` reads, SPEC §6), so the backtest can be run on exactly the bars the
//! node scanned (issue 12: "day files made by `dolphin scan` from the same bars").
//!
//! One file per symbol under the recorder's folder, a header then one line per closed bar
//! (filled bars included: they are rows of the live panel too). Lines are buffered and flushed
//! on [`BarRecorder::flush`] (the actor's stop); a write error is counted and logged once per
//! file, never fatal to the node.

use dolphin_orderbook::LiveBar;
use dolphin_orderbook::trade_bars::{KLINE_HEADER, kline_file_name};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends closed live bars to per-symbol kline CSVs.
#[derive(Debug)]
pub struct BarRecorder {
    dir: PathBuf,
    interval: String,
    interval_ms: i64,
    files: BTreeMap<String, Option<BufWriter<File>>>,
    written: u64,
    errors: u64,
}

impl BarRecorder {
    /// Records bars of `bar_seconds` under `dir` (created on the first bar).
    pub fn new(dir: &Path, bar_seconds: u32) -> Self {
        BarRecorder {
            dir: dir.to_path_buf(),
            interval: format!("{bar_seconds}s"),
            interval_ms: i64::from(bar_seconds) * 1000,
            files: BTreeMap::new(),
            written: 0,
            errors: 0,
        }
    }

    /// The folder written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bars written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Failed opens or writes so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Appends one bar to its symbol's file.
    pub fn record(&mut self, bar: &LiveBar) {
        if !self.files.contains_key(&bar.symbol) {
            let opened = self.open(&bar.symbol);
            self.files.insert(bar.symbol.clone(), opened);
        }
        let Some(Some(w)) = self.files.get_mut(&bar.symbol) else {
            return; // the open failed (counted and logged)
        };
        let line = bar.bar.csv_line(self.interval_ms);
        if let Err(e) = writeln!(w, "{line}") {
            self.errors += 1;
            log::error!("bar recorder: {} {}: {e}", bar.symbol, self.dir.display());
            self.files.insert(bar.symbol.clone(), None);
        } else {
            self.written += 1;
        }
    }

    fn open(&mut self, symbol: &str) -> Option<BufWriter<File>> {
        if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.errors += 1;
            log::error!("bar recorder: `{symbol}` is not a symbol; its bars are not recorded");
            return None;
        }
        let path = self.dir.join(kline_file_name(symbol, &self.interval));
        let opened = std::fs::create_dir_all(&self.dir)
            .and_then(|()| File::create(&path))
            .and_then(|f| {
                let mut w = BufWriter::new(f);
                writeln!(w, "{KLINE_HEADER}")?;
                Ok(w)
            });
        match opened {
            Ok(w) => Some(w),
            Err(e) => {
                self.errors += 1;
                log::error!("bar recorder: cannot write {}: {e}", path.display());
                None
            }
        }
    }

    /// Flushes every file (the node's stop).
    pub fn flush(&mut self) {
        for (symbol, w) in self.files.iter_mut() {
            if let Some(f) = w
                && let Err(e) = f.flush()
            {
                self.errors += 1;
                log::error!("bar recorder: {symbol}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_orderbook::Fixed;
    use dolphin_orderbook::trade_bars::TradeBar;

    #[test]
    fn recorded_bars_read_back_as_a_kline_panel() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = BarRecorder::new(dir.path(), 5);
        let px = |s| Fixed::parse(s).unwrap();
        for (sym, open, close, filled) in [
            ("BTCUSDT", 1_723_161_255_000i64, "61800.3", false),
            ("ETHUSDT", 1_723_161_255_000, "2680.11", false),
            ("BTCUSDT", 1_723_161_260_000, "61800.3", true),
        ] {
            r.record(&LiveBar {
                symbol: sym.into(),
                bar: TradeBar::empty(open, px(close)),
                filled,
            });
        }
        r.flush();
        assert_eq!((r.written(), r.errors()), (3, 0));
        let text = std::fs::read_to_string(dir.path().join("BTCUSDT-5s.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], KLINE_HEADER);
        assert_eq!(
            lines[2],
            "1723161260000,61800.3,61800.3,61800.3,61800.3,0,1723161264999,0,0,0,0,0"
        );
        let panel = dolphin_data::load_kline_dir(dir.path(), None, None).unwrap();
        assert_eq!(panel.symbols, vec!["BTCUSDT", "ETHUSDT"]);
        assert_eq!(panel.interval_ms, 5_000);
        assert_eq!(panel.open_time, vec![1_723_161_255_000, 1_723_161_260_000]);
        assert_eq!(panel.closes[0..2], [61800.3, 2680.11]);
        assert_eq!(panel.closes[2], 61800.3);
        assert!(panel.closes[3].is_nan()); // ETH had no bar there
    }

    #[test]
    fn a_bad_symbol_is_counted_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = BarRecorder::new(dir.path(), 5);
        r.record(&LiveBar {
            symbol: "../x".into(),
            bar: TradeBar::empty(0, Fixed::parse("1").unwrap()),
            filled: true,
        });
        assert_eq!((r.written(), r.errors()), (0, 1));
    }
}
