//! Parser for Binance USD-M futures market-data messages exactly as on the wire and in the
//! shared captures (data/README.md "depth/"; SPEC §7): the combined-stream wrapper
//! `{"stream":..,"data":..}`, `depthUpdate`, the REST depth snapshot, `bookTicker` and `trade`.
//!
//! One pass of `serde_json` over the text into borrowed fields; prices and quantities are
//! parsed straight into exact [`Fixed`] decimals. Every malformed input is an error, never a
//! panic.
//!
//! The message types are in [`crate::event`] (re-exported here); the serde field table is in
//! `raw`. This file joins the three parse paths and turns a field table into a message.

use crate::decimal::Fixed;
pub use crate::event::{BookTicker, DepthSnapshot, DepthUpdate, Level, Message, Trade};
use crate::raw::{Raw, SideField};

/// Why a message was rejected.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Not JSON, a wrong type, a bad decimal or an out-of-range integer (serde_json says where).
    #[error("invalid message JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{event}: missing field `{field}`")]
    MissingField {
        event: &'static str,
        field: &'static str,
    },
    #[error("{event}: field `{field}` must be {expected}")]
    WrongType {
        event: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    #[error("unsupported event type {0:?}")]
    UnsupportedEvent(String),
    #[error("message is neither a stream event nor a depth snapshot")]
    Unrecognised,
}

fn req<T>(v: Option<T>, event: &'static str, field: &'static str) -> Result<T, MessageError> {
    v.ok_or(MessageError::MissingField { event, field })
}

fn levels(
    v: Option<SideField>,
    event: &'static str,
    field: &'static str,
) -> Result<Vec<Level>, MessageError> {
    match req(v, event, field)? {
        SideField::Levels(l) => Ok(l),
        SideField::Price(_) => Err(MessageError::WrongType {
            event,
            field,
            expected: "an array of [price, qty] levels",
        }),
    }
}

fn price(
    v: Option<SideField>,
    event: &'static str,
    field: &'static str,
) -> Result<Fixed, MessageError> {
    match req(v, event, field)? {
        SideField::Price(p) => Ok(p),
        SideField::Levels(_) => Err(MessageError::WrongType {
            event,
            field,
            expected: "a decimal string",
        }),
    }
}

/// Parse one JSON message (without the capture's leading local timestamp).
///
/// Three paths, fastest first, each handing what it does not accept to the next: the
/// fixed-layout reader of the three stream events (`canonical`), a strict scanner of any
/// key order (`scan`), and `serde_json`, which gives the same result for valid input and a
/// located error otherwise.
pub fn parse_message(json: &str) -> Result<Message<'_>, MessageError> {
    if let Some(m) = crate::canonical::parse(json) {
        return Ok(m);
    }
    let raw = match crate::scan::scan(json) {
        Some(raw) => raw,
        None => serde_json::from_str(json)?,
    };
    convert(raw)
}

/// Parse with `serde_json` only (reference path of the scanner; used in tests and benches).
pub fn parse_message_serde(json: &str) -> Result<Message<'_>, MessageError> {
    convert(serde_json::from_str(json)?)
}

fn convert(raw: Raw<'_>) -> Result<Message<'_>, MessageError> {
    let obj = match raw.data {
        Some(inner) => *inner,
        None => raw,
    };
    match obj.e {
        Some("depthUpdate") => {
            const EV: &str = "depthUpdate";
            Ok(Message::Depth {
                symbol: req(obj.s, EV, "s")?,
                update: DepthUpdate {
                    event_time_ms: req(obj.big_e, EV, "E")?,
                    transaction_time_ms: req(obj.big_t, EV, "T")?,
                    first_update_id: req(obj.big_u, EV, "U")?,
                    final_update_id: req(obj.u, EV, "u")?,
                    prev_final_update_id: req(obj.pu, EV, "pu")?,
                    bids: levels(obj.b, EV, "b")?,
                    asks: levels(obj.a, EV, "a")?,
                },
            })
        }
        Some("bookTicker") => {
            const EV: &str = "bookTicker";
            Ok(Message::BookTicker {
                symbol: req(obj.s, EV, "s")?,
                ticker: BookTicker {
                    update_id: req(obj.u, EV, "u")?,
                    bid_price: price(obj.b, EV, "b")?,
                    bid_qty: req(obj.big_b, EV, "B")?.0,
                    ask_price: price(obj.a, EV, "a")?,
                    ask_qty: req(obj.big_a, EV, "A")?.0,
                    transaction_time_ms: req(obj.big_t, EV, "T")?,
                    event_time_ms: req(obj.big_e, EV, "E")?,
                },
            })
        }
        Some("trade") => {
            const EV: &str = "trade";
            Ok(Message::Trade {
                symbol: req(obj.s, EV, "s")?,
                trade: Trade {
                    trade_id: req(obj.t, EV, "t")?,
                    price: req(obj.p, EV, "p")?.0,
                    qty: req(obj.q, EV, "q")?.0,
                    buyer_is_maker: req(obj.m, EV, "m")?,
                    transaction_time_ms: req(obj.big_t, EV, "T")?,
                    event_time_ms: req(obj.big_e, EV, "E")?,
                },
            })
        }
        Some(other) => Err(MessageError::UnsupportedEvent(other.to_string())),
        None if obj.last_update_id.is_some() => {
            const EV: &str = "depth snapshot";
            Ok(Message::Snapshot(DepthSnapshot {
                last_update_id: req(obj.last_update_id, EV, "lastUpdateId")?,
                event_time_ms: req(obj.big_e, EV, "E")?,
                transaction_time_ms: req(obj.big_t, EV, "T")?,
                bids: req(obj.bids, EV, "bids")?,
                asks: req(obj.asks, EV, "asks")?,
            }))
        }
        None => Err(MessageError::Unrecognised),
    }
}

/// Why a capture line `<local_ts_ns> <json>` was rejected.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line has no space between the local timestamp and the JSON message")]
    NoSeparator,
    #[error("local timestamp {0:?} is not an integer of nanoseconds")]
    BadTimestamp(String),
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// Parse one capture line `<local_ts_ns> <json>` (data/README.md "depth/") into the local
/// receive time in ns and the message.
pub fn parse_capture_line(line: &str) -> Result<(i64, Message<'_>), LineError> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (ts, json) = line.split_once(' ').ok_or(LineError::NoSeparator)?;
    let ts: i64 = ts
        .parse()
        .map_err(|_| LineError::BadTimestamp(ts.chars().take(40).collect()))?;
    Ok((ts, parse_message(json)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTH: &str = r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61510.90","0.000"]],"a":[["61800.30","3.330"]]}}"#;
    const TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#;
    const TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#;
    const SNAP: &str = r#"{"lastUpdateId":5123107852948,"E":1723161256501,"T":1723161256493,"bids":[["61800.20","2.909"]],"asks":[["61800.30","1.5"],["61800.40","0.2"]]}"#;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn parses_depth_update() {
        let Message::Depth { symbol, update } = parse_message(DEPTH).unwrap() else {
            panic!("not a depth update")
        };
        assert_eq!(symbol, "BTCUSDT");
        assert_eq!(update.event_time_ms, 1_723_161_256_299);
        assert_eq!(update.transaction_time_ms, 1_723_161_256_298);
        assert_eq!(update.first_update_id, 5_123_107_832_006);
        assert_eq!(update.final_update_id, 5_123_107_837_557);
        assert_eq!(update.prev_final_update_id, 5_123_107_831_937);
        assert_eq!(
            update.bids,
            vec![
                Level {
                    price: fx("58710.2"),
                    qty: fx("0.014")
                },
                Level {
                    price: fx("61510.9"),
                    qty: Fixed::ZERO
                }
            ]
        );
        assert_eq!(update.asks.len(), 1);
        assert_eq!(update.asks[0].qty, fx("3.33"));
    }

    #[test]
    fn parses_ticker_trade_snapshot() {
        let Message::BookTicker { symbol, ticker } = parse_message(TICKER).unwrap() else {
            panic!()
        };
        assert_eq!(symbol, "BTCUSDT");
        assert_eq!(ticker.update_id, 5_123_107_839_020);
        assert_eq!(ticker.bid_price, fx("61800.2"));
        assert_eq!(ticker.bid_qty, fx("2.507"));
        assert_eq!(ticker.ask_price, fx("61800.3"));
        assert_eq!(ticker.ask_qty, fx("2.51"));
        let Message::Trade { trade, .. } = parse_message(TRADE).unwrap() else {
            panic!()
        };
        assert_eq!(trade.trade_id, 5_266_583_935);
        assert_eq!(trade.qty, fx("0.006"));
        assert!(!trade.buyer_is_maker);
        let Message::Snapshot(s) = parse_message(SNAP).unwrap() else {
            panic!()
        };
        assert_eq!(s.last_update_id, 5_123_107_852_948);
        assert_eq!(s.bids.len(), 1);
        assert_eq!(s.asks[1].price, fx("61800.4"));
    }

    #[test]
    fn parses_capture_line() {
        let line = format!("1723161255088169167 {TICKER}\n");
        let (ts, m) = parse_capture_line(&line).unwrap();
        assert_eq!(ts, 1_723_161_255_088_169_167);
        assert_eq!(m.event_time_ms(), 1_723_161_256_313);
        assert!(matches!(
            parse_capture_line("123"),
            Err(LineError::NoSeparator)
        ));
        assert!(matches!(
            parse_capture_line("12x {}"),
            Err(LineError::BadTimestamp(_))
        ));
    }

    #[test]
    fn rejects_malformed_messages() {
        // Missing field.
        let e = parse_message(&TICKER.replace(r#""B":"2.507","#, "")).unwrap_err();
        assert!(matches!(
            e,
            MessageError::MissingField {
                event: "bookTicker",
                field: "B"
            }
        ));
        // Wrong type: a string where levels are expected.
        let e = parse_message(
            r#"{"e":"depthUpdate","E":1,"T":1,"s":"X","U":1,"u":2,"pu":0,"b":"1.0","a":[]}"#,
        )
        .unwrap_err();
        assert!(matches!(e, MessageError::WrongType { field: "b", .. }));
        // Number where a string is expected, huge integer, bad decimal, truncated JSON.
        assert!(parse_message(&TRADE.replace(r#""0.006""#, "0.006")).is_err());
        assert!(parse_message(&TRADE.replace("5266583935", "99999999999999999999999")).is_err());
        assert!(parse_message(&TRADE.replace("61800.30", "61800.3.0")).is_err());
        assert!(parse_message(&DEPTH[..DEPTH.len() - 3]).is_err());
        assert!(parse_message(&DEPTH.replace(r#"["58710.20","0.014"]"#, r#"["1"]"#)).is_err());
        assert!(parse_message(r#"{"e":"kline"}"#).is_err());
        assert!(parse_message(r#"{}"#).is_err());
        assert!(parse_message(r#"[]"#).is_err());
        assert!(parse_message("").is_err());
    }
}
