//! Decoding one websocket frame of Binance market streams into a message of the feature
//! engine (issue 12 item 2; SPEC §7). The recorded kinds (`depthUpdate`, `bookTicker`,
//! `trade`) go through `dolphin_orderbook::parse_message`; `aggTrade` is read here as the
//! same taker flow (price, summed quantity, maker side, times). Anything else is **bad wire
//! input**: classified, counted and logged with the stream name and the frame's offset on its
//! connection — never a panic.

use dolphin_orderbook::{Fixed, Message, MessageError, Trade, parse_message};
use serde::Deserialize;

/// Why a frame was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// Not JSON, or JSON cut short (a truncated frame).
    Malformed,
    /// Valid JSON of an event type the service does not use.
    UnknownEvent,
    /// A known event with a missing or mistyped field.
    BadField,
    /// A binary frame (market streams are text).
    Binary,
}

impl BadKind {
    /// Label of the `kind` metric dimension.
    pub fn label(self) -> &'static str {
        match self {
            BadKind::Malformed => "malformed",
            BadKind::UnknownEvent => "unknown_event",
            BadKind::BadField => "bad_field",
            BadKind::Binary => "binary",
        }
    }
}

/// What a text frame held.
#[derive(Debug)]
pub enum Decoded<'a> {
    Market(Message<'a>),
    /// A reply to a subscription method (`{"result":..,"id":..}`).
    Control,
    Bad(BadKind, String),
}

#[derive(Deserialize)]
struct AggWrap<'a> {
    #[serde(borrow)]
    data: Option<Agg<'a>>,
}

#[derive(Deserialize)]
struct Agg<'a> {
    #[serde(rename = "E")]
    e: i64,
    #[serde(rename = "T")]
    t: i64,
    s: &'a str,
    a: u64,
    p: &'a str,
    q: &'a str,
    m: bool,
}

fn agg_trade(text: &str) -> Result<Message<'_>, String> {
    let agg = match serde_json::from_str::<AggWrap>(text) {
        Ok(AggWrap { data: Some(a) }) => a,
        _ => serde_json::from_str::<Agg>(text).map_err(|e| format!("aggTrade: {e}"))?,
    };
    let dec = |f: &str, v: &str| Fixed::parse(v).map_err(|e| format!("aggTrade `{f}` {v:?}: {e}"));
    Ok(Message::Trade {
        symbol: agg.s,
        trade: Trade {
            trade_id: agg.a,
            price: dec("p", agg.p)?,
            qty: dec("q", agg.q)?,
            buyer_is_maker: agg.m,
            transaction_time_ms: agg.t,
            event_time_ms: agg.e,
        },
    })
}

/// Decode one text frame.
pub fn decode(text: &str) -> Decoded<'_> {
    // `aggTrade`'s `a` (aggregate id) is an integer where the book events carry levels, so it
    // is read on its own path.
    if text.contains("\"e\":\"aggTrade\"") {
        return match agg_trade(text) {
            Ok(m) => Decoded::Market(m),
            Err(e) => Decoded::Bad(BadKind::BadField, e),
        };
    }
    match parse_message(text) {
        Ok(m) => Decoded::Market(m),
        Err(MessageError::UnsupportedEvent(ev)) if ev == "aggTrade" => match agg_trade(text) {
            Ok(m) => Decoded::Market(m),
            Err(e) => Decoded::Bad(BadKind::BadField, e),
        },
        Err(MessageError::UnsupportedEvent(ev)) => {
            Decoded::Bad(BadKind::UnknownEvent, format!("unknown event type {ev:?}"))
        }
        Err(MessageError::Unrecognised) => {
            if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| {
                v.get("id").is_some() && (v.get("result").is_some() || v.get("error").is_some())
            }) {
                Decoded::Control
            } else {
                Decoded::Bad(
                    BadKind::UnknownEvent,
                    "neither a stream event nor a snapshot".into(),
                )
            }
        }
        Err(MessageError::Json(e)) => {
            let kind = if e.is_eof() || e.is_syntax() {
                BadKind::Malformed
            } else {
                BadKind::BadField
            };
            Decoded::Bad(kind, e.to_string())
        }
        Err(e) => Decoded::Bad(BadKind::BadField, e.to_string()),
    }
}

/// The `stream` name of a combined-stream frame, for logs (`?` when none can be found).
pub fn stream_name(text: &str) -> &str {
    text.split_once("\"stream\":\"")
        .and_then(|(_, r)| r.split_once('"'))
        .map_or("?", |x| x.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTH: &str = r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"]],"a":[["61800.30","3.330"]]}}"#;
    const AGG: &str = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161256322,"s":"BTCUSDT","a":7,"p":"61800.3","q":"0.012","f":5266583935,"l":5266583936,"T":1723161256321,"m":true}}"#;

    #[test]
    fn decodes_market_messages_and_agg_trades() {
        assert!(matches!(
            decode(DEPTH),
            Decoded::Market(Message::Depth { .. })
        ));
        let Decoded::Market(Message::Trade { symbol, trade }) = decode(AGG) else {
            panic!()
        };
        assert_eq!(symbol, "BTCUSDT");
        assert_eq!(trade.qty, Fixed::parse("0.012").unwrap());
        assert!(trade.buyer_is_maker);
        assert_eq!(
            (trade.event_time_ms, trade.transaction_time_ms),
            (1723161256322, 1723161256321)
        );
        assert!(matches!(
            decode(r#"{"result":null,"id":1}"#),
            Decoded::Control
        ));
        assert_eq!(stream_name(AGG), "btcusdt@aggTrade");
        assert_eq!(stream_name("{}"), "?");
    }

    #[test]
    fn classifies_bad_input() {
        let cut = &DEPTH[..DEPTH.len() / 2];
        assert!(matches!(decode(cut), Decoded::Bad(BadKind::Malformed, _)));
        assert!(matches!(
            decode("not json"),
            Decoded::Bad(BadKind::Malformed, _)
        ));
        let k = r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1}}"#;
        assert!(matches!(decode(k), Decoded::Bad(BadKind::UnknownEvent, _)));
        let bad = DEPTH.replace(r#""pu":5123107831937,"#, "");
        assert!(matches!(decode(&bad), Decoded::Bad(BadKind::BadField, _)));
        let agg = AGG.replace(r#""q":"0.012""#, r#""q":"x""#);
        assert!(matches!(decode(&agg), Decoded::Bad(BadKind::BadField, _)));
        assert!(matches!(
            decode(r#"{"x":1}"#),
            Decoded::Bad(BadKind::UnknownEvent, _)
        ));
    }
}
