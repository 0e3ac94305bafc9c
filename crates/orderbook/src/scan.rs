//! Hand-written scanner for the canonical Binance wire layout (data/README.md "depth/"), the
//! fast path of `message::parse_message` (task target ≥ 1 M messages/s). It accepts only a
//! strict subset of JSON: objects with unescaped string keys, the known fields with their
//! expected types, unknown fields holding unescaped strings, integers, booleans or null, and
//! nothing after the top-level object but whitespace. On anything else it returns `None` and
//! the caller falls back to `serde_json`, so results never depend on which path ran.

use crate::decimal::Fixed;
use crate::event::Level;
use crate::raw::{Dec, Raw, SideField};

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Bits of the known keys, to reject duplicates as serde does.
const KEYS: [&[u8]; 20] = [
    b"data",
    b"e",
    b"E",
    b"T",
    b"s",
    b"U",
    b"u",
    b"pu",
    b"b",
    b"a",
    b"B",
    b"A",
    b"t",
    b"p",
    b"q",
    b"m",
    b"lastUpdateId",
    b"bids",
    b"asks",
    b"stream",
];

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// An unescaped string without control characters.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let out = self.s.get(start..self.i)?;
        self.i += 1;
        Some(out)
    }

    /// A JSON integer (no fraction or exponent), as (negative, magnitude).
    #[inline]
    fn integer(&mut self) -> Option<(bool, u64)> {
        self.ws();
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if c.is_ascii_digit() {
                v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                self.i += 1;
            } else {
                break;
            }
        }
        let n = self.i - start;
        if n == 0 || (n > 1 && self.b[start] == b'0') {
            return None;
        }
        if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some((neg, v))
    }

    fn u64(&mut self) -> Option<u64> {
        match self.integer()? {
            (false, v) => Some(v),
            (true, _) => None,
        }
    }

    fn i64(&mut self) -> Option<i64> {
        let (neg, v) = self.integer()?;
        let v = i64::try_from(v).ok()?;
        Some(if neg { -v } else { v })
    }

    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        self.ws();
        let end = self.i + lit.len();
        (self.b.get(self.i..end)? == lit).then(|| self.i = end)
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| true),
            b'f' => self.literal(b"false").map(|_| false),
            _ => None,
        }
    }

    fn decimal(&mut self) -> Option<Fixed> {
        Fixed::parse(self.string()?).ok()
    }

    fn levels(&mut self) -> Option<Vec<Level>> {
        self.eat(b'[')?;
        let mut out = Vec::with_capacity(32);
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            self.eat(b'[')?;
            let price = self.decimal()?;
            self.eat(b',')?;
            let qty = self.decimal()?;
            self.eat(b']')?;
            if price.0 < 0 || qty.0 < 0 {
                return None;
            }
            out.push(Level { price, qty });
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// Skip an unknown field's value: only unescaped strings, integers, booleans and null.
    fn skip_simple(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b't' | b'f' => self.boolean().map(|_| ()),
            b'n' => self.literal(b"null"),
            _ => self.integer().map(|_| ()),
        }
    }

    fn object(&mut self, top: bool) -> Option<Raw<'a>> {
        let mut raw = Raw::default();
        let mut seen: u32 = 0;
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(raw);
        }
        loop {
            let key = self.string()?.as_bytes();
            self.eat(b':')?;
            if let Some(k) = KEYS.iter().position(|k| *k == key) {
                let bit = 1u32 << k;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
            }
            match key {
                b"data" if top => raw.data = Some(Box::new(self.object(false)?)),
                b"e" => raw.e = Some(self.string()?),
                b"E" => raw.big_e = Some(self.i64()?),
                b"T" => raw.big_t = Some(self.i64()?),
                b"s" => raw.s = Some(self.string()?),
                b"U" => raw.big_u = Some(self.u64()?),
                b"u" => raw.u = Some(self.u64()?),
                b"pu" => raw.pu = Some(self.u64()?),
                b"b" | b"a" => {
                    let v = match self.peek()? {
                        b'"' => SideField::Price(self.decimal()?),
                        b'[' => SideField::Levels(self.levels()?),
                        _ => return None,
                    };
                    if key == b"b" {
                        raw.b = Some(v);
                    } else {
                        raw.a = Some(v);
                    }
                }
                b"B" => raw.big_b = Some(Dec(self.decimal()?)),
                b"A" => raw.big_a = Some(Dec(self.decimal()?)),
                b"t" => raw.t = Some(self.u64()?),
                b"p" => raw.p = Some(Dec(self.decimal()?)),
                b"q" => raw.q = Some(Dec(self.decimal()?)),
                b"m" => raw.m = Some(self.boolean()?),
                b"lastUpdateId" => raw.last_update_id = Some(self.u64()?),
                b"bids" => raw.bids = Some(self.levels()?),
                b"asks" => raw.asks = Some(self.levels()?),
                b"data" => return None,
                _ => self.skip_simple()?,
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(raw);
                }
                _ => return None,
            }
        }
    }
}

/// Scan one message; `None` means "use the general parser".
pub(crate) fn scan(s: &str) -> Option<Raw<'_>> {
    let mut sc = Scan {
        s,
        b: s.as_bytes(),
        i: 0,
    };
    let raw = sc.object(true)?;
    sc.ws();
    (sc.i == sc.b.len()).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_message, parse_message_serde};
    use proptest::prelude::*;

    const LINES: [&str; 4] = [
        r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"],["61510.90","0.000"]],"a":[["61800.30","3.330"]]}}"#,
        r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#,
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#,
        r#"{"lastUpdateId":5123107852948,"E":1723161256501,"T":1723161256493,"bids":[["61800.20","2.909"]],"asks":[]}"#,
    ];

    #[test]
    fn fast_path_takes_canonical_lines_and_agrees_with_serde() {
        for l in LINES {
            assert!(scan(l).is_some(), "{l}");
            assert_eq!(parse_message(l).unwrap(), parse_message_serde(l).unwrap());
            let spaced = l.replace(',', " , ").replace(':', " : ");
            assert!(scan(&spaced).is_some(), "{spaced}");
            assert_eq!(parse_message(&spaced).unwrap(), parse_message(l).unwrap());
        }
    }

    #[test]
    fn fast_path_declines_unusual_input() {
        let t = LINES[1];
        for bad in [
            t.replace(r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#),
            t.replace(r#""u":5123107839020"#, r#""u":5123107839020.0"#),
            t.replace(r#""u":5123107839020"#, r#""u":05123107839020"#),
            t.replace(
                r#""e":"bookTicker","#,
                r#""e":"bookTicker","e":"bookTicker","#,
            ),
            format!("{t}x"),
            t.replace(r#""s":"BTCUSDT""#, r#""s":"BTCUSDT","x":{"y":1}"#),
            t.replace(r#""u":5123107839020"#, r#""u":-1"#),
        ] {
            assert!(scan(&bad).is_none(), "{bad}");
        }
        // The symbol field borrows from the input, so an escaped symbol is an error in serde.
        let escaped = t.replace(r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#);
        assert!(parse_message(&escaped).is_err());
        // An unknown nested field is fine for serde.
        let nested = t.replace(r#""s":"BTCUSDT""#, r#""s":"BTCUSDT","x":{"y":1}"#);
        assert_eq!(parse_message(&nested).unwrap(), parse_message(t).unwrap());
    }

    proptest! {
        /// Whenever the fast path accepts a mutated line, serde accepts it with the same result.
        #[test]
        fn fast_path_never_disagrees(
            which in 0usize..4,
            pos in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"0123456789.-,:[]{}\" etfa\\".to_vec()),
        ) {
            let mut b = LINES[which].as_bytes().to_vec();
            let i = pos.index(b.len());
            b[i] = byte;
            let s = String::from_utf8(b).unwrap();
            if scan(&s).is_some() {
                let fast = parse_message(&s);
                let slow = parse_message_serde(&s);
                match (fast, slow) {
                    (Ok(f), Ok(sl)) => prop_assert_eq!(f, sl),
                    (Err(_), Err(_)) => {}
                    (f, sl) => prop_assert!(false, "{:?} vs {:?} on {}", f, sl, s),
                }
            }
        }
    }
}
