//! Fast readers of the store values the watchdog reads every minute of event time (B §16.3;
//! SPEC §8): the heartbeat's `ts`, the latest scan's `timestamp` and one asset's price.
//!
//! The services write these values themselves, always in the same layout
//! (`{"ts":…,"phase":…}` from the supervisor, `{"vel_div":…,"scan_number":…,"timestamp":…,
//! "asset_prices":{…}}` from the trader). For that layout the number is cut out of the text and
//! parsed by `serde_json` alone, which gives the value a full parse would give; for anything
//! else — another writer's layout, a value a human edited — the readers answer `None` and the
//! caller falls back to the full `serde_json` parse. A full parse of the scan walked every
//! asset's price (and built a map of them) every minute only to read one number.

/// The token after `prefix` up to the next `,` or `}` (a JSON number or `null`), when `json`
/// starts with `prefix`.
fn token_after<'a>(json: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = json.strip_prefix(prefix)?;
    // Byte search: both ends are ASCII, so the cut is on a char boundary.
    let end = rest.bytes().position(|b| b == b',' || b == b'}')?;
    Some((&rest[..end], &rest[end..]))
}

/// A JSON integer made of an optional `-` and digits only, as `serde_json` reads it into an
/// `i64`; anything else (exponent, fraction, overflow) is left to `serde_json`.
fn parse_i64(tok: &str) -> Option<i64> {
    let (neg, digits) = match tok.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, tok),
    };
    // Leading zeros and `-0` are `serde_json`'s to judge.
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
        && !(neg && digits == "0");
    if !plain {
        return serde_json::from_str::<i64>(tok).ok();
    }
    let v = digits
        .bytes()
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    Some(if neg { -v } else { v })
}

/// The posture of a `DOLPHIN_SAFETY` value: cut out of the watchdog's own layout
/// (`{"posture":"NAME",…}`), else a full parse; `None` when it does not read as one.
pub fn posture(json: &str) -> Option<dolphin_core::Posture> {
    use dolphin_core::Posture;
    if let Some(rest) = json.strip_prefix("{\"posture\":\"") {
        let name = &rest[..rest.find('"')?];
        let after = &rest[name.len() + 1..];
        if after.starts_with(',') || after.starts_with('}') {
            match name {
                "APEX" => return Some(Posture::Apex),
                "STALKER" => return Some(Posture::Stalker),
                "TURTLE" => return Some(Posture::Turtle),
                "HIBERNATE" => return Some(Posture::Hibernate),
                _ => {}
            }
        }
    }
    serde_json::from_str::<dolphin_store::schema::SafetyValue>(json)
        .ok()
        .map(|v| v.posture)
}

/// `ts` of a heartbeat written as `{"ts":<number>,…}`; `None` = not that layout.
pub fn beat_ts(json: &str) -> Option<f64> {
    let (num, _) = token_after(json, "{\"ts\":")?;
    serde_json::from_str::<f64>(num).ok()
}

/// [`beat_ts`] when the caller knows the time it expects: a `ts` whose text equals
/// `now_text` (the text `serde_json` writes for `now`) is `now` without parsing it again.
pub fn beat_ts_at(json: &str, now_text: &str, now: f64) -> Option<f64> {
    let (num, _) = token_after(json, "{\"ts\":")?;
    if num == now_text {
        return Some(now);
    }
    serde_json::from_str::<f64>(num).ok()
}

/// `timestamp` of a scan in the trader's layout: `Some(Some(ts))`, or `Some(None)` when it is
/// `null`; `None` = not that layout (parse it in full).
pub fn scan_timestamp(json: &str) -> Option<Option<i64>> {
    let (vel_div, rest) = token_after(json, "{\"vel_div\":")?;
    plain_number_or_null(vel_div)?;
    let (scan_number, rest) = token_after(rest, ",\"scan_number\":")?;
    plain_number_or_null(scan_number)?;
    let (ts, _) = token_after(rest, ",\"timestamp\":")?;
    if ts == "null" {
        return Some(None);
    }
    parse_i64(ts).map(Some)
}

/// The price of `asset` in a scan of the trader's layout (which writes only finite prices);
/// `Some(None)` when the scan has no price for it; `None` = not that layout.
pub fn scan_price(json: &str, asset: &str) -> Option<Option<f64>> {
    scan_timestamp(json)?;
    let prices_at = json.find(",\"asset_prices\":{")?;
    let prices = &json[prices_at + ",\"asset_prices\":{".len()..];
    // The trader writes symbols without quotes or backslashes; anything else: full parse.
    if asset.contains(['"', '\\']) {
        return None;
    }
    // `"ASSET":` — the asset's name between quotes, followed by the colon.
    let bytes = prices.as_bytes();
    let mut from = 0;
    let at = loop {
        let Some(i) = prices[from..].find(asset) else {
            return Some(None);
        };
        let i = from + i;
        let end = i + asset.len();
        if i > 0 && bytes[i - 1] == b'"' && prices[end..].starts_with("\":") {
            break end + 2;
        }
        from = i + 1;
    };
    let rest = &prices[at..];
    let end = rest.bytes().position(|b| b == b',' || b == b'}')?;
    serde_json::from_str::<f64>(&rest[..end]).ok().map(Some)
}

/// `Some(())` when `tok` is `null` or made of number characters only.
fn plain_number_or_null(tok: &str) -> Option<()> {
    (tok == "null"
        || (!tok.is_empty()
            && tok
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))))
    .then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize)]
    struct Beat {
        ts: f64,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        timestamp: Option<i64>,
    }
    #[derive(serde::Deserialize)]
    struct Prices {
        asset_prices: BTreeMap<String, f64>,
    }

    const SCAN: &str = r#"{"vel_div":-0.0123456789,"scan_number":42,"timestamp":1746316860000,"asset_prices":{"BTCUSDT":104523.1,"ETHUSDT":2511.07,"XBTCUSDT":3.5e-7}}"#;

    #[test]
    fn heartbeat_ts_equals_the_full_parse() {
        for json in [
            r#"{"ts":1746316800.0,"phase":"running","service":"acb","pid":7}"#,
            r#"{"ts":1746316860.123,"phase":"stopped","service":"trader","pid":1}"#,
            r#"{"ts":1e9}"#,
        ] {
            let full = serde_json::from_str::<Beat>(json).unwrap().ts;
            assert_eq!(beat_ts(json).unwrap().to_bits(), full.to_bits(), "{json}");
        }
        // The expected time's text is taken as that time; any other text is parsed.
        let b = r#"{"ts":1746316860.5,"phase":"running"}"#;
        assert_eq!(
            beat_ts_at(b, "1746316860.5", 1_746_316_860.5),
            Some(1_746_316_860.5)
        );
        assert_eq!(
            beat_ts_at(b, "1746316920.0", 1_746_316_920.0),
            Some(1_746_316_860.5)
        );
        assert_eq!(beat_ts_at("{\"ts\":\"x\"}", "1.0", 1.0), None);
        // Another layout: left to the full parse.
        assert_eq!(beat_ts(r#"{"phase":"running","ts":1.0}"#), None);
        assert_eq!(beat_ts(r#"{"ts":"soon"}"#), None);
        assert_eq!(beat_ts("not json"), None);
    }

    #[test]
    fn scan_timestamp_and_prices_equal_the_full_parse() {
        let head = serde_json::from_str::<Head>(SCAN).unwrap();
        assert_eq!(scan_timestamp(SCAN), Some(head.timestamp));
        assert_eq!(scan_timestamp(SCAN), Some(Some(1_746_316_860_000)));
        let prices = serde_json::from_str::<Prices>(SCAN).unwrap().asset_prices;
        for a in ["BTCUSDT", "ETHUSDT", "XBTCUSDT", "SOLUSDT"] {
            assert_eq!(scan_price(SCAN, a), Some(prices.get(a).copied()), "{a}");
        }
        // A key that ends another key is not confused with it.
        assert_eq!(scan_price(SCAN, "BTCUSDT"), Some(Some(104523.1)));
        let null_ts = r#"{"vel_div":null,"scan_number":1,"timestamp":null,"asset_prices":{}}"#;
        assert_eq!(scan_timestamp(null_ts), Some(None));
        assert_eq!(scan_price(null_ts, "BTCUSDT"), Some(None));
    }

    #[test]
    fn posture_and_integers_equal_the_full_parse() {
        use dolphin_core::Posture;
        for (json, want) in [
            (r#"{"posture":"TURTLE","Rm":0.6}"#, Some(Posture::Turtle)),
            (r#"{"posture":"APEX","Rm":1.0}"#, Some(Posture::Apex)),
            (
                r#"{"Rm":0.3,"posture":"HIBERNATE"}"#,
                Some(Posture::Hibernate),
            ),
            (
                r#"{"posture":"STALKER","Rm":0.8,"source":"x"}"#,
                Some(Posture::Stalker),
            ),
            (r#"{"posture":"SLEEPY","Rm":0.8}"#, None),
            ("garbage", None),
        ] {
            assert_eq!(posture(json), want, "{json}");
        }
        for tok in ["0", "-7", "1746316860000", "999999999999999999", "-0"] {
            assert_eq!(
                parse_i64(tok),
                serde_json::from_str::<i64>(tok).ok(),
                "{tok}"
            );
        }
        for tok in [
            "99999999999999999999",
            "1e3",
            "1.0",
            "",
            "-",
            "+1",
            "007",
            "-01",
        ] {
            assert_eq!(
                parse_i64(tok),
                serde_json::from_str::<i64>(tok).ok(),
                "{tok}"
            );
        }
    }

    #[test]
    fn other_layouts_are_left_to_the_full_parse() {
        for json in [
            r#"{"timestamp":5,"vel_div":1.0,"scan_number":1}"#,
            r#"{"vel_div":{"x":1},"scan_number":1,"timestamp":5}"#,
            r#"{"vel_div":1.0,"scan_number":"a,b","timestamp":5}"#,
            r#"{"vel_div":1.0,"scan_number":1,"timestamp":1.5e12}"#,
            "",
        ] {
            assert_eq!(scan_timestamp(json), None, "{json}");
            assert_eq!(scan_price(json, "BTCUSDT"), None, "{json}");
        }
        assert_eq!(scan_price(SCAN, "BAD\"NAME"), None);
    }
}
