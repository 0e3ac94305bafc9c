//! The OB stream: routes parsed messages to each symbol's [`LocalBook`], [`TickerCheck`] and
//! [`AssetHistory`], and runs the sampling clock of the feature engine on exchange event time
//! (B §16.2 "500 ms cadence"; SPEC §3, §7). Used by the live provider and by
//! `capture_to_features`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::book::{DiffOutcome, LocalBook};
use crate::features::{AssetFeatures, AssetHistory, FeatureConfig, MacroFeatures, MacroHistory};
use crate::message::{DepthSnapshot, LineError, Message, parse_capture_line, parse_message};
use crate::ticker_check::{TickerCheck, TickerCheckReport};

/// One row of the feature table: one asset at one sample time (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// Sample time on the exchange clock `E`, ms since the epoch (a multiple of the cadence).
    pub sample_ms: i64,
    pub asset: String,
    pub features: AssetFeatures,
    /// Market-wide state at the same sample (repeated on each asset's row).
    pub market: MacroFeatures,
}

/// Health of the books and of the SPEC §7 check, summed over symbols.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BookHealth {
    /// Continuity breaks detected.
    pub gaps: u64,
    /// Snapshots loaded after the first one of a symbol.
    pub resyncs: u64,
    /// Exchange-time seconds during which a book was not synced (from its first message).
    pub stale_seconds: f64,
    /// Messages processed.
    pub messages: u64,
    /// Diffs applied to a synced book.
    pub applied_diffs: u64,
    /// Diffs dropped as older than the snapshot.
    pub dropped_diffs: u64,
    /// Diffs with a final bookTicker verdict.
    pub ticker_checked: u64,
    pub ticker_matched: u64,
    pub ticker_mismatches: u64,
    /// Final verdicts with no ticker at or below the diff's `u`.
    pub ticker_no_reference: u64,
    /// Applied diffs still waiting for a later ticker.
    pub ticker_pending: u64,
}

/// State of one symbol.
#[derive(Debug, Clone, Default)]
pub struct SymbolState {
    pub book: LocalBook,
    pub check: TickerCheck,
    pub history: AssetHistory,
}

/// Message router and feature sampler (SPEC §3, §7).
#[derive(Debug, Clone, Default)]
pub struct ObStream {
    cfg: FeatureConfig,
    symbols: BTreeMap<String, SymbolState>,
    macro_history: MacroHistory,
    next_sample_ms: Option<i64>,
    /// A snapshot that arrived before any symbol was known.
    orphan_snapshot: Option<DepthSnapshot>,
    messages: u64,
}

impl ObStream {
    /// A stream with the given feature configuration.
    pub fn new(cfg: FeatureConfig) -> Self {
        ObStream {
            cfg,
            ..Self::default()
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// State of one symbol, if seen.
    pub fn symbol(&self, symbol: &str) -> Option<&SymbolState> {
        self.symbols.get(symbol)
    }

    /// Symbols seen so far, sorted.
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.symbols.keys().map(String::as_str)
    }

    /// Symbols whose book needs a REST snapshot (live adapters fetch one for each).
    pub fn symbols_needing_snapshot(&self) -> Vec<String> {
        self.symbols
            .iter()
            .filter(|(_, s)| s.book.needs_snapshot())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Drop every book (a new connection: continuity with the old one is unknown); feature
    /// histories are kept, as after a gap.
    pub fn reset_books(&mut self) {
        for st in self.symbols.values_mut() {
            st.book.reset();
            st.check.on_stream_loss();
        }
    }

    /// Messages of `symbol` were lost on the wire (a live gap after a stalled feed): its
    /// bookTicker check stops using tickers received before the loss
    /// ([`TickerCheck::on_stream_loss`]). Not used for captures, which are complete files.
    pub fn mark_stream_loss(&mut self, symbol: &str) {
        if let Some(st) = self.symbols.get_mut(symbol) {
            st.check.on_stream_loss();
        }
    }

    fn state_mut(&mut self, symbol: &str) -> &mut SymbolState {
        if !self.symbols.contains_key(symbol) {
            self.symbols
                .insert(symbol.to_string(), SymbolState::default());
        }
        let first = self.symbols.len() == 1;
        if first && let Some(snap) = self.orphan_snapshot.take() {
            let st = self.symbols.get_mut(symbol).expect("inserted above");
            Self::load_snapshot(st, &snap);
        }
        self.symbols.get_mut(symbol).expect("inserted above")
    }

    fn load_snapshot(st: &mut SymbolState, snap: &DepthSnapshot) {
        let SymbolState { book, check, .. } = st;
        book.apply_snapshot_with(snap, |b, u, o| {
            if o == DiffOutcome::Applied {
                check.on_applied(b.top(u));
            }
        });
    }

    /// Parse and process one JSON message; a REST snapshot goes to `snapshot_symbol`, or to
    /// the only symbol when none is given. Samples due before the message are appended to `out`.
    pub fn push_json(
        &mut self,
        json: &str,
        snapshot_symbol: Option<&str>,
        out: &mut Vec<FeatureRow>,
    ) -> Result<(), crate::message::MessageError> {
        let msg = parse_message(json)?;
        self.push_message(msg, snapshot_symbol, out);
        Ok(())
    }

    /// Parse and process one capture line `<local_ts_ns> <json>`.
    pub fn push_capture_line(
        &mut self,
        line: &str,
        out: &mut Vec<FeatureRow>,
    ) -> Result<(), LineError> {
        let (_, msg) = parse_capture_line(line)?;
        self.push_message(msg, None, out);
        Ok(())
    }

    /// Process one message (SPEC §7 sync and check; SPEC §3 sampling).
    pub fn push_message(
        &mut self,
        msg: Message<'_>,
        snapshot_symbol: Option<&str>,
        out: &mut Vec<FeatureRow>,
    ) {
        self.messages += 1;
        self.advance_clock(msg.event_time_ms(), out);
        match msg {
            Message::Depth { symbol, update } => {
                let st = self.state_mut(symbol);
                let u = update.final_update_id;
                if st.book.apply_diff(update) == DiffOutcome::Applied {
                    st.check.on_applied(st.book.top(u));
                }
            }
            Message::BookTicker { symbol, ticker } => {
                self.state_mut(symbol).check.on_ticker(ticker);
            }
            Message::Trade { symbol, trade } => {
                self.state_mut(symbol).history.on_trade(&trade);
            }
            Message::Snapshot(snap) => {
                let target = match snapshot_symbol {
                    Some(s) => Some(s.to_string()),
                    None if self.symbols.len() == 1 => self.symbols.keys().next().cloned(),
                    None => None,
                };
                match target {
                    Some(sym) => {
                        let st = self.state_mut(&sym);
                        Self::load_snapshot(st, &snap);
                    }
                    None => self.orphan_snapshot = Some(snap),
                }
            }
        }
    }

    /// Emit every sample whose time `t` satisfies `t ≤ event_ms` and has not been emitted:
    /// a sample at `t` reflects all messages processed before the first one with `E ≥ t`.
    fn advance_clock(&mut self, event_ms: i64, out: &mut Vec<FeatureRow>) {
        let c = self.cfg.cadence_ms.max(1);
        let next = match self.next_sample_ms {
            Some(n) => n,
            None => {
                self.next_sample_ms = Some(event_ms.div_euclid(c) * c + c);
                return;
            }
        };
        if event_ms < next {
            return;
        }
        let mut t = next;
        if (event_ms - next) / c > self.cfg.max_fill_samples {
            t = event_ms.div_euclid(c) * c;
        }
        while t <= event_ms {
            self.sample(t, out);
            t += c;
        }
        self.next_sample_ms = Some(t);
    }

    /// Take one sample at `t_ms` of every synced book and the market-wide state.
    pub fn sample(&mut self, t_ms: i64, out: &mut Vec<FeatureRow>) {
        let mut assets: Vec<(&str, AssetFeatures)> = Vec::with_capacity(self.symbols.len());
        for (sym, st) in self.symbols.iter_mut() {
            if let Some(f) = st.history.sample(&st.book, t_ms, &self.cfg) {
                assets.push((sym.as_str(), f));
            }
        }
        if assets.is_empty() {
            return;
        }
        let feats: Vec<AssetFeatures> = assets.iter().map(|(_, f)| *f).collect();
        let market = self.macro_history.sample(&feats, &self.cfg);
        out.extend(assets.into_iter().map(|(sym, features)| FeatureRow {
            sample_ms: t_ms,
            asset: sym.to_string(),
            features,
            market,
        }));
    }

    /// Book health and check counts so far, summed over symbols.
    pub fn health(&self) -> BookHealth {
        let mut h = BookHealth {
            messages: self.messages,
            ..BookHealth::default()
        };
        let mut stale_ms = 0;
        for st in self.symbols.values() {
            let s = st.book.stats();
            h.gaps += s.gaps;
            h.resyncs += s.resyncs;
            h.applied_diffs += s.applied_diffs;
            h.dropped_diffs += s.dropped_diffs;
            stale_ms += s.stale_ms;
            let r: TickerCheckReport = st.check.report();
            h.ticker_checked += r.checked;
            h.ticker_matched += r.matched;
            h.ticker_mismatches += r.mismatched;
            h.ticker_no_reference += r.no_reference;
            h.ticker_pending += r.pending;
        }
        h.stale_seconds = stale_ms as f64 / 1000.0;
        h
    }
}
