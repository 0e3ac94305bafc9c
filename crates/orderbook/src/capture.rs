//! `capture_to_features`: a recorded Binance capture (`<local_ts_ns> <json>` per line, gzip or
//! plain; data/README.md "depth/") → feature table + book health (SPEC §3, §7). Backs the CLI
//! command `dolphin ob --capture FILE.gz --out FILE.parquet`. [`replay_captures`] merges
//! several captures (one symbol each) into one stream by local receive time, so that one
//! table holds every asset and the market-wide features, and also collects the trade bars
//! ([`crate::trade_bars`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use dolphin_core::{InputWarning, InputWarnings, RowUnit};

use crate::features::FeatureConfig;
use crate::message::{LineError, Message, parse_capture_line};
use crate::stream::{BookHealth, ObStream};
use crate::table::FeatureTable;
use crate::trade_bars::TradeBarBuilder;

/// Why a capture could not be turned into features.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {source}")]
    Line {
        path: PathBuf,
        line: u64,
        #[source]
        source: LineError,
    },
    #[error("{path}: no stream message names a symbol, so its snapshots cannot be assigned")]
    NoSymbol { path: PathBuf },
    #[error("{path}: symbol {symbol} is also the symbol of {first}; give one capture per symbol")]
    DuplicateSymbol {
        path: PathBuf,
        symbol: String,
        first: PathBuf,
    },
    #[error("no capture file given")]
    NoCaptures,
    #[error("{path}: no messages (the capture is empty or blank)")]
    Empty { path: PathBuf },
    #[error("{path}:{line}: message for {symbol}, but {expected}; give one capture per symbol")]
    SymbolMismatch {
        path: PathBuf,
        line: u64,
        symbol: String,
        expected: String,
    },
    #[error(
        "no order book was ever synced, so there are no features: {details}; a capture needs a REST depth snapshot (`lastUpdateId`) and the diffs after it"
    )]
    NeverSynced { details: String },
}

/// The symbol a capture's file name announces: its first `_`/`-`/`.`-separated word,
/// upper-cased, when that looks like a Binance USD-M symbol (alphanumeric, ending in USDT,
/// USDC or BUSD), e.g. `btcusdt_20240808.gz` → `BTCUSDT`.
pub fn symbol_of_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let word = name.split(['_', '-', '.']).next()?.to_ascii_uppercase();
    let quoted = ["USDT", "USDC", "BUSD"]
        .iter()
        .any(|q| word.len() > q.len() && word.ends_with(q));
    (quoted && word.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(word)
}

/// Open a capture, transparently gunzipping when it starts with the gzip magic bytes.
pub fn open_capture(path: &Path) -> Result<Box<dyn BufRead>, CaptureError> {
    let io = |source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let f = File::open(path).map_err(io)?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::new(f)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f))
    })
}

/// Replay a capture through the books, the SPEC §7 check and the feature engine with the
/// default [`FeatureConfig`]. Empty lines are skipped; any malformed line is an error naming
/// the file and line number.
pub fn capture_to_features(path: &Path) -> Result<(FeatureTable, BookHealth), CaptureError> {
    capture_to_features_with(path, &FeatureConfig::default())
}

/// As [`capture_to_features`] with an explicit configuration.
pub fn capture_to_features_with(
    path: &Path,
    cfg: &FeatureConfig,
) -> Result<(FeatureTable, BookHealth), CaptureError> {
    let r = replay_captures(&[path.to_path_buf()], cfg, 1_000)?;
    Ok((r.table, r.health))
}

/// Everything one replay of captures produces.
#[derive(Debug, Clone)]
pub struct CaptureReplay {
    /// Feature rows of every asset at the cadence (SPEC §3).
    pub table: FeatureTable,
    /// Book health summed over the captures (SPEC §7).
    pub health: BookHealth,
    /// The trades of every capture, ready to become bars ([`crate::trade_bars`]).
    pub trade_bars: TradeBarBuilder,
    /// Defects accepted on the way (docs/INPUTS.md): repeated lines, local timestamps that go
    /// back, symbols whose book never synced while others did.
    pub warnings: InputWarnings,
}

/// One capture being merged: its reader and the next line, parsed up to the timestamp.
struct Source {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    symbol: Option<String>,
    line_no: u64,
    next: Option<(i64, String, u64)>,
    /// The previous line and its number and local timestamp (repeat/order warnings).
    prev: Option<(String, u64, i64)>,
    /// The symbol of this capture's first stream message and its line.
    seen: Option<(String, u64)>,
    /// The symbol the file name announces, if any.
    named: Option<String>,
}

impl Source {
    fn io(&self, source: std::io::Error) -> CaptureError {
        CaptureError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Read the next non-empty line and its local timestamp into `next`.
    fn advance(&mut self, warnings: &mut InputWarnings) -> Result<(), CaptureError> {
        self.next = None;
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(|e| self.io(e))?;
            if n == 0 {
                return Ok(());
            }
            self.line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            let ts = line
                .split_once(' ')
                .and_then(|(ts, _)| ts.parse::<i64>().ok());
            let ts = match ts {
                Some(ts) => ts,
                // Not a valid line: the full parser names the problem.
                None => match parse_capture_line(&line) {
                    Err(source) => {
                        return Err(CaptureError::Line {
                            path: self.path.clone(),
                            line: self.line_no,
                            source,
                        });
                    }
                    Ok((ts, _)) => ts,
                },
            };
            if let Some((prev, prev_no, prev_ts)) = &self.prev {
                let warn = |what: String| {
                    InputWarning::new(
                        self.path.display(),
                        RowUnit::Line,
                        Some(self.line_no),
                        "local_ts",
                        what,
                    )
                };
                if *prev == line {
                    warnings.push(warn(format!(
                        "repeats line {prev_no} exactly: processed again (the book drops a stale diff)"
                    )));
                } else if ts < *prev_ts {
                    warnings.push(warn(format!(
                        "local timestamp {ts} is earlier than line {prev_no}'s {prev_ts}: processed in file order"
                    )));
                }
            }
            self.next = Some((ts, line, self.line_no));
            return Ok(());
        }
    }
}

/// The symbol of the first stream message of a capture (snapshots carry none).
fn capture_symbol(path: &Path) -> Result<Option<String>, CaptureError> {
    let mut reader = open_capture(path)?;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| CaptureError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        let sym = match parse_capture_line(&line) {
            Ok((_, Message::Depth { symbol, .. }))
            | Ok((_, Message::BookTicker { symbol, .. }))
            | Ok((_, Message::Trade { symbol, .. })) => symbol.to_string(),
            // Snapshots, blank or bad lines: the replay reports bad lines with their number.
            _ => continue,
        };
        return Ok(Some(sym));
    }
}

/// Replay one or more captures (one symbol each) merged by local receive time — ties go to
/// the earlier file — through the books, the SPEC §7 check and the feature engine, and
/// collect their trades into bars of `bar_interval_ms`. With several files each REST
/// snapshot goes to its file's symbol (the symbol of the file's first stream message).
pub fn replay_captures(
    paths: &[PathBuf],
    cfg: &FeatureConfig,
    bar_interval_ms: i64,
) -> Result<CaptureReplay, CaptureError> {
    if paths.is_empty() {
        return Err(CaptureError::NoCaptures);
    }
    let mut sources = Vec::with_capacity(paths.len());
    let mut warnings = InputWarnings::new();
    for path in paths {
        let symbol = if paths.len() > 1 {
            let s = capture_symbol(path)?
                .ok_or_else(|| CaptureError::NoSymbol { path: path.clone() })?;
            if let Some(first) = sources
                .iter()
                .find(|src: &&Source| src.symbol.as_deref() == Some(s.as_str()))
            {
                return Err(CaptureError::DuplicateSymbol {
                    path: path.clone(),
                    symbol: s,
                    first: first.path.clone(),
                });
            }
            Some(s)
        } else {
            None
        };
        let mut src = Source {
            path: path.clone(),
            reader: open_capture(path)?,
            symbol,
            line_no: 0,
            next: None,
            prev: None,
            seen: None,
            named: symbol_of_file_name(path),
        };
        src.advance(&mut warnings)?;
        if src.next.is_none() {
            return Err(CaptureError::Empty { path: path.clone() });
        }
        sources.push(src);
    }
    let mut stream = ObStream::new(cfg.clone());
    let mut bars = TradeBarBuilder::new(bar_interval_ms);
    let mut rows = Vec::new();
    loop {
        let pick = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.next.as_ref().map(|n| (n.0, i)))
            .min();
        let Some((_, i)) = pick else { break };
        let src = &mut sources[i];
        let (ts, line, line_no) = src.next.take().expect("picked a pending line");
        let msg = match parse_capture_line(&line) {
            Ok((_, m)) => m,
            Err(source) => {
                return Err(CaptureError::Line {
                    path: src.path.clone(),
                    line: line_no,
                    source,
                });
            }
        };
        if let Some(symbol) = stream_symbol(&msg) {
            src.check_symbol(symbol, line_no)?;
        }
        if let Message::Trade { symbol, trade } = &msg {
            bars.push(symbol, trade);
        }
        stream.push_message(msg, src.symbol.as_deref(), &mut rows);
        src.prev = Some((line, line_no, ts));
        src.advance(&mut warnings)?;
    }
    // Books that never synced: an error when none did (no features at all), else a warning
    // per symbol (the others' features stand).
    let mut unsynced = Vec::new();
    for src in &sources {
        let Some((sym, _)) = &src.seen else {
            unsynced.push((
                src.path.clone(),
                "(no stream message)".to_string(),
                "no depth, bookTicker or trade message".to_string(),
            ));
            continue;
        };
        let stats = stream
            .symbol(sym)
            .map(|st| st.book.stats())
            .unwrap_or_default();
        let why = if stats.snapshots == 0 {
            Some("no REST depth snapshot, so its book never synced".to_string())
        } else if stats.applied_diffs == 0 {
            Some("no depth diff continued its snapshot, so its book never synced".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            unsynced.push((src.path.clone(), sym.clone(), why));
        }
    }
    if rows.is_empty() {
        let details = if unsynced.is_empty() {
            "no sample time was reached after a book synced".to_string()
        } else {
            unsynced
                .iter()
                .map(|(p, sym, why)| format!("{} ({sym}): {why}", p.display()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(CaptureError::NeverSynced { details });
    }
    for (path, sym, why) in unsynced {
        warnings.push(InputWarning::new(
            path.display(),
            RowUnit::Line,
            None,
            sym,
            format!("{why}: no features for it"),
        ));
    }
    Ok(CaptureReplay {
        table: FeatureTable { rows },
        health: stream.health(),
        trade_bars: bars,
        warnings,
    })
}

/// The symbol of a stream message (a REST snapshot names none).
fn stream_symbol<'a>(msg: &Message<'a>) -> Option<&'a str> {
    match msg {
        Message::Depth { symbol, .. }
        | Message::BookTicker { symbol, .. }
        | Message::Trade { symbol, .. } => Some(symbol),
        Message::Snapshot(_) => None,
    }
}

impl Source {
    /// Every stream message of a capture is for one symbol, the one its name announces.
    fn check_symbol(&mut self, symbol: &str, line: u64) -> Result<(), CaptureError> {
        let mismatch = |expected: String| CaptureError::SymbolMismatch {
            path: self.path.clone(),
            line,
            symbol: symbol.to_string(),
            expected,
        };
        match &self.seen {
            Some((first, first_line)) if first != symbol => {
                return Err(mismatch(format!(
                    "line {first_line} is for {first} (one symbol per capture)"
                )));
            }
            Some(_) => return Ok(()),
            None => {}
        }
        if let Some(named) = &self.named
            && named != symbol
        {
            return Err(mismatch(format!("the file name says {named}")));
        }
        self.seen = Some((symbol.to_string(), line));
        Ok(())
    }
}
