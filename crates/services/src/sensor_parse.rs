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
    let end = rest.find([',', '}'])?;
    Some((&rest[..end], &rest[end..]))
}

/// `ts` of a heartbeat written as `{"ts":<number>,…}`; `None` = not that layout.
pub fn beat_ts(json: &str) -> Option<f64> {
    let (num, _) = token_after(json, "{\"ts\":")?;
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
    serde_json::from_str::<i64>(ts).ok().map(Some)
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
    let needle = format!("\"{asset}\":");
    let Some(at) = prices.find(&needle) else {
        return Some(None);
    };
    let rest = &prices[at + needle.len()..];
    let end = rest.find([',', '}'])?;
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
