//! The recorded data the exchange replays, merged into one timeline (issue 12 item 1; SPEC §8
//! "one clock: exchange event time"): the lines of Binance depth captures (data/README.md
//! "depth/": `<local_ts_ns> <json>`, combined-stream messages and one REST snapshot per file)
//! and 1-minute kline files (`SYMBOL-1m.csv.gz`), plus funding files for the premium index.
//!
//! Capture lines keep their recorded order (local receive time, ties to the earlier file,
//! exactly as `dolphin ob --capture` merges them); their clock is the running maximum of `E`.
//! A kline becomes an event at its close (`open + 60 000 ms`). The two sources are merged by
//! clock, stably, captures first on ties.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dolphin_orderbook::capture::open_capture;
use dolphin_orderbook::{DepthSnapshot, DepthUpdate, Fixed, Message, Trade, parse_capture_line};

use crate::error::ExchangeError;

/// One minute in ms (the kline interval the exchange serves).
pub const MINUTE_MS: i64 = 60_000;

/// What a recorded capture line is.
#[derive(Debug, Clone)]
pub enum CaptureKind {
    Depth(DepthUpdate),
    BookTicker,
    Trade(Trade),
    /// The REST depth snapshot recorded in the capture (served by `/fapi/v1/depth` until the
    /// replay has its own book).
    Snapshot(DepthSnapshot),
}

/// A recorded capture line.
#[derive(Debug, Clone)]
pub struct CaptureEvent {
    /// Symbol (upper case), the capture's symbol for the snapshot line.
    pub symbol: Arc<str>,
    /// Stream name as recorded (`btcusdt@depth@0ms`); empty for the snapshot.
    pub stream: Arc<str>,
    /// The `data` object exactly as recorded (the snapshot line's whole JSON).
    pub data: Arc<str>,
    pub kind: CaptureKind,
    /// Event time `E`, ms.
    pub event_ms: i64,
}

/// One closed 1-minute kline.
#[derive(Debug, Clone, PartialEq)]
pub struct Kline {
    pub symbol: Arc<str>,
    pub open_ms: i64,
    pub open: Fixed,
    pub high: Fixed,
    pub low: Fixed,
    pub close: Fixed,
    pub volume: Fixed,
}

/// A timeline entry.
#[derive(Debug, Clone)]
pub enum Event {
    Capture(CaptureEvent),
    Kline(Kline),
}

/// One funding settlement (`calc_time`, `last_funding_rate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Funding {
    pub time_ms: i64,
    pub rate: Fixed,
}

/// Everything loaded, in replay order.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// `(clock ms, event)`; the clock never decreases.
    pub events: Vec<(i64, Event)>,
    /// All klines by symbol, by open time (the `/fapi/v1/klines` answers come from these,
    /// only once closed on the replay clock).
    pub klines: BTreeMap<String, Vec<Kline>>,
    /// Funding settlements by symbol, by time.
    pub funding: BTreeMap<String, Vec<Funding>>,
    /// The recorded REST snapshot of each capture symbol and its timeline index.
    pub snapshots: BTreeMap<String, (usize, DepthSnapshot, Arc<str>)>,
}

/// `(stream, data)` of a combined-stream message, `data` byte for byte as recorded.
fn split_wrapper(json: &str) -> Result<(String, String), String> {
    let t = json.trim();
    if let Some(rest) = t.strip_prefix("{\"stream\":\"")
        && let Some((stream, rest)) = rest.split_once('"')
        && let Some(data) = rest.strip_prefix(",\"data\":")
        && let Some(data) = data.strip_suffix('}')
    {
        return Ok((stream.to_string(), data.to_string()));
    }
    // Another key order: take the fields through serde (bytes of `data` re-serialized).
    let v: serde_json::Value = serde_json::from_str(t).map_err(|e| e.to_string())?;
    match (v.get("stream").and_then(|s| s.as_str()), v.get("data")) {
        (Some(s), Some(d)) => Ok((s.to_string(), d.to_string())),
        _ => Err("no `stream` and `data` fields".into()),
    }
}

/// Read capture files (one symbol each) into events in recorded order.
pub fn load_captures(paths: &[PathBuf]) -> Result<Vec<CaptureEvent>, ExchangeError> {
    // (local ts, file index, line no, event)
    let mut all: Vec<(i64, usize, u64, CaptureEvent)> = Vec::new();
    for (fi, path) in paths.iter().enumerate() {
        let reader = open_capture(path)?;
        let mut symbol: Option<Arc<str>> = None;
        let mut pending_snapshot: Vec<usize> = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(|source| ExchangeError::Io {
                path: path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| ExchangeError::Capture {
                path: path.clone(),
                line: line_no,
                reason,
            };
            let (ts, msg) = parse_capture_line(&line).map_err(|e| bad(e.to_string()))?;
            let json = line.split_once(' ').map(|x| x.1).unwrap_or_default();
            let event_ms = msg.event_time_ms();
            let ev = match msg {
                Message::Snapshot(s) => CaptureEvent {
                    symbol: Arc::from(""),
                    stream: Arc::from(""),
                    data: Arc::from(json),
                    event_ms: s.event_time_ms,
                    kind: CaptureKind::Snapshot(s),
                },
                other => {
                    let (w_stream, w_data) = split_wrapper(json).map_err(|e| {
                        bad(format!(
                            "not a combined-stream message {{stream, data}}: {e}"
                        ))
                    })?;
                    let (sym, kind) = match other {
                        Message::Depth { symbol, update } => (symbol, CaptureKind::Depth(update)),
                        Message::BookTicker { symbol, .. } => (symbol, CaptureKind::BookTicker),
                        Message::Trade { symbol, trade } => (symbol, CaptureKind::Trade(trade)),
                        Message::Snapshot(_) => unreachable!("matched above"),
                    };
                    match &symbol {
                        Some(s) if &**s != sym => {
                            return Err(bad(format!(
                                "symbol {sym} in a capture of {s}; give one capture per symbol"
                            )));
                        }
                        Some(_) => {}
                        None => symbol = Some(Arc::from(sym)),
                    }
                    CaptureEvent {
                        symbol: symbol.clone().expect("set above"),
                        stream: Arc::from(w_stream),
                        data: Arc::from(w_data),
                        event_ms,
                        kind,
                    }
                }
            };
            if matches!(ev.kind, CaptureKind::Snapshot(_)) {
                pending_snapshot.push(all.len());
            }
            all.push((ts, fi, line_no, ev));
        }
        let symbol = symbol.ok_or_else(|| ExchangeError::Capture {
            path: path.clone(),
            line: 0,
            reason: "no stream message names a symbol".into(),
        })?;
        for i in pending_snapshot {
            all[i].3.symbol = symbol.clone();
        }
    }
    all.sort_by_key(|(ts, fi, line, _)| (*ts, *fi, *line));
    Ok(all.into_iter().map(|x| x.3).collect())
}

/// Read one kline file `SYMBOL-1m.csv.gz` (data/README.md "klines-1m/"), keeping rows with
/// `from_ms ≤ open_time < to_ms`.
pub fn load_klines(path: &Path, from_ms: i64, to_ms: i64) -> Result<Vec<Kline>, ExchangeError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let symbol = name
        .split_once("-1m")
        .map(|x| x.0)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ExchangeError::Klines {
            path: path.to_path_buf(),
            row: 0,
            reason: "file name is not SYMBOL-1m.csv[.gz]".into(),
        })?;
    let symbol: Arc<str> = Arc::from(symbol);
    let reader = open_capture(path)?;
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| ExchangeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let row = i as u64 + 1;
        if row == 1 || line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| ExchangeError::Klines {
            path: path.to_path_buf(),
            row,
            reason,
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 6 {
            return Err(bad(format!("{} fields, need at least 6", f.len())));
        }
        let open_ms: i64 = f[0]
            .parse()
            .map_err(|_| bad(format!("open_time {:?} is not an integer", f[0])))?;
        if open_ms < from_ms || open_ms >= to_ms {
            continue;
        }
        let dec = |col: usize, field: &str| {
            Fixed::parse(f[col]).map_err(|e| bad(format!("{field} {:?}: {e}", f[col])))
        };
        let k = Kline {
            symbol: symbol.clone(),
            open_ms,
            open: dec(1, "open")?,
            high: dec(2, "high")?,
            low: dec(3, "low")?,
            close: dec(4, "close")?,
            volume: dec(5, "volume")?,
        };
        if let Some(prev) = out.last().map(|k: &Kline| k.open_ms)
            && open_ms <= prev
        {
            return Err(bad(format!(
                "open_time {open_ms} not after the previous row's {prev}"
            )));
        }
        out.push(k);
    }
    Ok(out)
}

/// Read a funding file `SYMBOL-funding.csv` (`calc_time,funding_interval_hours,last_funding_rate`).
pub fn load_funding(path: &Path) -> Result<(String, Vec<Funding>), ExchangeError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let symbol = name
        .split_once("-funding")
        .map(|x| x.0.to_string())
        .ok_or_else(|| ExchangeError::Klines {
            path: path.to_path_buf(),
            row: 0,
            reason: "file name is not SYMBOL-funding.csv".into(),
        })?;
    let reader = open_capture(path)?;
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| ExchangeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let row = i as u64 + 1;
        if row == 1 || line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| ExchangeError::Klines {
            path: path.to_path_buf(),
            row,
            reason,
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            return Err(bad(format!("{} fields, need 3", f.len())));
        }
        let time_ms = f[0]
            .parse()
            .map_err(|_| bad(format!("calc_time {:?} is not an integer", f[0])))?;
        let rate = Fixed::parse(f[2]).map_err(|e| bad(format!("last_funding_rate: {e}")))?;
        out.push(Funding { time_ms, rate });
    }
    Ok((symbol, out))
}

/// Kline files in `dir` (`*-1m.csv.gz` or `*-1m.csv`), optionally only `symbols`.
pub fn kline_files(dir: &Path, symbols: &[String]) -> Result<Vec<PathBuf>, ExchangeError> {
    list(dir, "-1m.csv", symbols)
}

/// Funding files in `dir` (`*-funding.csv`), optionally only `symbols`.
pub fn funding_files(dir: &Path, symbols: &[String]) -> Result<Vec<PathBuf>, ExchangeError> {
    list(dir, "-funding.csv", symbols)
}

fn list(dir: &Path, marker: &str, symbols: &[String]) -> Result<Vec<PathBuf>, ExchangeError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ExchangeError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|source| ExchangeError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().to_string();
        let Some((sym, _)) = name.split_once(marker) else {
            continue;
        };
        if symbols.is_empty() || symbols.iter().any(|s| s == sym) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

impl Timeline {
    /// Merge captures and klines into one clock-ordered timeline.
    pub fn build(
        captures: Vec<CaptureEvent>,
        klines: Vec<Vec<Kline>>,
        funding: Vec<(String, Vec<Funding>)>,
    ) -> Timeline {
        let mut t = Timeline::default();
        let mut cap: Vec<(i64, Event)> = Vec::with_capacity(captures.len());
        let mut clock = i64::MIN;
        for ev in captures {
            clock = clock.max(ev.event_ms);
            cap.push((clock, Event::Capture(ev)));
        }
        let mut kl: Vec<(i64, Event)> = klines
            .iter()
            .flatten()
            .map(|k| (k.open_ms + MINUTE_MS, Event::Kline(k.clone())))
            .collect();
        // Stable by close time; files were given in symbol order.
        kl.sort_by_key(|(c, _)| *c);
        let (mut i, mut j) = (0, 0);
        let mut cap = cap.into_iter().peekable();
        let mut kli = kl.into_iter().peekable();
        loop {
            let take_cap = match (cap.peek(), kli.peek()) {
                (Some(a), Some(b)) => a.0 <= b.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let e = if take_cap {
                i += 1;
                cap.next()
            } else {
                j += 1;
                kli.next()
            }
            .expect("peeked");
            if let Event::Capture(c) = &e.1
                && let CaptureKind::Snapshot(s) = &c.kind
            {
                t.snapshots.entry(c.symbol.to_string()).or_insert((
                    t.events.len(),
                    s.clone(),
                    c.data.clone(),
                ));
            }
            t.events.push(e);
        }
        debug_assert_eq!(i + j, t.events.len());
        for ks in klines {
            if let Some(k) = ks.first() {
                t.klines.insert(k.symbol.to_string(), ks);
            }
        }
        for (s, f) in funding {
            t.funding.insert(s, f);
        }
        t
    }

    /// Symbols with captures or klines, sorted.
    pub fn symbols(&self) -> Vec<String> {
        let mut s: Vec<String> = self.klines.keys().cloned().collect();
        for (_, e) in &self.events {
            if let Event::Capture(c) = e
                && !s.iter().any(|x| **x == *c.symbol)
            {
                s.push(c.symbol.to_string());
            }
        }
        s.sort();
        s
    }
}
