//! Fixed-layout fast path of `message::parse_message` for the three stream events exactly as
//! Binance sends them (data/README.md "depth/"; task target ≥ 1 M messages/s). `bookTicker`
//! is ~70 % of capture lines, `trade` ~22 %, `depthUpdate` ~7 %.
//!
//! Each event is matched against its literal wire layout, key by key in Binance's order, with
//! no whitespace, optionally inside the combined-stream envelope `{"stream":..,"data":..}`:
//!
//! - `{"e":"bookTicker","u":U64,"s":STR,"b":DEC,"B":DEC,"a":DEC,"A":DEC,"T":I64,"E":I64}`
//! - `{"e":"trade","E":I64,"T":I64,"s":STR,"t":U64,"p":DEC,"q":DEC,"X":STR,"m":BOOL}`
//! - `{"e":"depthUpdate","E":I64,"T":I64,"s":STR,"U":U64,"u":U64,"pu":U64,"b":LEVELS,"a":LEVELS}`
//!
//! Values are read straight into the message (no intermediate field table, no allocation
//! except the level vectors of a depth update). Anything else — another key order, spaces,
//! escapes, a bad number or decimal — returns `None` and the caller runs the general scanner
//! and then `serde_json`, which accept every layout and produce the errors. A line accepted
//! here parses to the same message on those paths (unit- and property-tested).

use crate::decimal::Fixed;
use crate::event::{BookTicker, DepthUpdate, Level, Message, Trade};

struct Cur<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        let end = self.i + l.len();
        (self.b.get(self.i..end)? == l).then(|| self.i = end)
    }

    /// The body of a string whose opening quote was consumed; consumes the closing quote.
    #[inline]
    fn str_body(&mut self) -> Option<&'a str> {
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let out = self.s.get(start..self.i)?;
        self.i += 1;
        Some(out)
    }

    #[inline]
    fn dec(&mut self) -> Option<Fixed> {
        Fixed::parse(self.str_body()?).ok()
    }

    /// A JSON integer without sign, fraction or exponent (no leading zeros), as u64.
    #[inline]
    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            self.i += 1;
        }
        let n = self.i - start;
        if n == 0 || (n > 1 && self.b[start] == b'0') {
            return None;
        }
        Some(v)
    }

    /// A non-negative integer that fits i64 (negative times take the general path).
    #[inline]
    fn int(&mut self) -> Option<i64> {
        i64::try_from(self.uint()?).ok()
    }

    #[inline]
    fn boolean(&mut self) -> Option<bool> {
        if self.lit(b"true").is_some() {
            Some(true)
        } else {
            self.lit(b"false").map(|_| false)
        }
    }

    /// `[]` or `[["p","q"],...]` with non-negative decimals.
    fn levels(&mut self) -> Option<Vec<Level>> {
        self.lit(b"[")?;
        let mut out = Vec::new();
        if self.lit(b"]").is_some() {
            return Some(out);
        }
        loop {
            self.lit(b"[\"")?;
            let price = self.dec()?;
            self.lit(b",\"")?;
            let qty = self.dec()?;
            self.lit(b"]")?;
            if price.0 < 0 || qty.0 < 0 {
                return None;
            }
            out.push(Level { price, qty });
            match *self.b.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }
}

/// Parse one message in the canonical layout; `None` means "use the general parser".
#[inline]
pub(crate) fn parse(json: &str) -> Option<Message<'_>> {
    let mut c = Cur {
        s: json,
        b: json.as_bytes(),
        i: 0,
    };
    let wrapped = if c.lit(b"{\"stream\":\"").is_some() {
        c.str_body()?;
        c.lit(b",\"data\":{\"e\":\"")?;
        true
    } else {
        c.lit(b"{\"e\":\"")?;
        false
    };
    let event = c.str_body()?;
    let msg = match event {
        "bookTicker" => {
            c.lit(b",\"u\":")?;
            let update_id = c.uint()?;
            c.lit(b",\"s\":\"")?;
            let symbol = c.str_body()?;
            c.lit(b",\"b\":\"")?;
            let bid_price = c.dec()?;
            c.lit(b",\"B\":\"")?;
            let bid_qty = c.dec()?;
            c.lit(b",\"a\":\"")?;
            let ask_price = c.dec()?;
            c.lit(b",\"A\":\"")?;
            let ask_qty = c.dec()?;
            c.lit(b",\"T\":")?;
            let transaction_time_ms = c.int()?;
            c.lit(b",\"E\":")?;
            let event_time_ms = c.int()?;
            Message::BookTicker {
                symbol,
                ticker: BookTicker {
                    update_id,
                    bid_price,
                    bid_qty,
                    ask_price,
                    ask_qty,
                    transaction_time_ms,
                    event_time_ms,
                },
            }
        }
        "trade" => {
            c.lit(b",\"E\":")?;
            let event_time_ms = c.int()?;
            c.lit(b",\"T\":")?;
            let transaction_time_ms = c.int()?;
            c.lit(b",\"s\":\"")?;
            let symbol = c.str_body()?;
            c.lit(b",\"t\":")?;
            let trade_id = c.uint()?;
            c.lit(b",\"p\":\"")?;
            let price = c.dec()?;
            c.lit(b",\"q\":\"")?;
            let qty = c.dec()?;
            c.lit(b",\"X\":\"")?;
            c.str_body()?;
            c.lit(b",\"m\":")?;
            let buyer_is_maker = c.boolean()?;
            Message::Trade {
                symbol,
                trade: Trade {
                    trade_id,
                    price,
                    qty,
                    buyer_is_maker,
                    transaction_time_ms,
                    event_time_ms,
                },
            }
        }
        "depthUpdate" => {
            c.lit(b",\"E\":")?;
            let event_time_ms = c.int()?;
            c.lit(b",\"T\":")?;
            let transaction_time_ms = c.int()?;
            c.lit(b",\"s\":\"")?;
            let symbol = c.str_body()?;
            c.lit(b",\"U\":")?;
            let first_update_id = c.uint()?;
            c.lit(b",\"u\":")?;
            let final_update_id = c.uint()?;
            c.lit(b",\"pu\":")?;
            let prev_final_update_id = c.uint()?;
            c.lit(b",\"b\":")?;
            let bids = c.levels()?;
            c.lit(b",\"a\":")?;
            let asks = c.levels()?;
            Message::Depth {
                symbol,
                update: DepthUpdate {
                    event_time_ms,
                    transaction_time_ms,
                    first_update_id,
                    final_update_id,
                    prev_final_update_id,
                    bids,
                    asks,
                },
            }
        }
        _ => return None,
    };
    c.lit(if wrapped { b"}}" } else { b"}" })?;
    (c.i == c.b.len()).then_some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_message, parse_message_serde};
    use proptest::prelude::*;

    const LINES: [&str; 6] = [
        r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61510.90","0.000"]],"a":[["61800.30","3.330"]]}}"#,
        r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#,
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#,
        r#"{"e":"depthUpdate","E":1,"T":1,"s":"X","U":1,"u":2,"pu":0,"b":[],"a":[]}"#,
        r#"{"e":"bookTicker","u":7,"s":"X","b":"1","B":"2","a":"3","A":"4","T":5,"E":6}"#,
        r#"{"e":"trade","E":1,"T":2,"s":"X","t":3,"p":"4","q":"5","X":"LIQUIDATION","m":true}"#,
    ];

    #[test]
    fn canonical_lines_take_the_fast_path_and_agree() {
        for l in LINES {
            let fast = parse(l).unwrap_or_else(|| panic!("not canonical: {l}"));
            assert_eq!(fast, parse_message_serde(l).unwrap(), "{l}");
            assert_eq!(fast, parse_message(l).unwrap(), "{l}");
        }
    }

    #[test]
    fn other_layouts_decline() {
        let t = LINES[1];
        for bad in [
            t.replace(',', ", "),
            t.replace(r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#),
            t.replace(r#""u":5123107839020"#, r#""u":05123107839020"#),
            t.replace(r#""u":5123107839020"#, r#""u":5123107839020.0"#),
            t.replace(r#""B":"2.507""#, r#""B":"2.5.07""#),
            t.replace(r#""B":"2.507""#, r#""B":2.507"#),
            format!("{t} "),
            t[..t.len() - 1].to_string(),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
        assert!(parse(&LINES[0].replace(r#""0.014""#, r#""-0.014""#)).is_none());
    }

    proptest! {
        /// A mutated line accepted by the fast path parses identically through serde_json.
        #[test]
        fn fast_path_never_disagrees(
            which in 0usize..LINES.len(),
            pos in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"0123456789.-,:[]{}\" etfa\\".to_vec()),
        ) {
            let mut b = LINES[which].as_bytes().to_vec();
            let i = pos.index(b.len());
            b[i] = byte;
            let s = String::from_utf8(b).unwrap();
            if let Some(fast) = parse(&s) {
                prop_assert_eq!(fast, parse_message_serde(&s).unwrap());
            }
        }
    }
}
