//! Parser and sync fuzz/property tests (proptest): random bytes, mutated real lines, huge
//! numbers and wrong types give an error, never a panic; reordered or lost diffs are handled by
//! the buffer/sync rules of SPEC §7 and never produce a book that disagrees with bookTicker.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::OnceLock;

use dolphin_orderbook::capture::open_capture;
use dolphin_orderbook::{ObStream, parse_capture_line, parse_message};
use proptest::prelude::*;

/// The first lines of the BTC capture (empty when the shared data are absent).
fn real_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let p = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/depth/btcusdt_20240808.gz"
        ));
        if !p.exists() {
            eprintln!("note: {} not found; real-line fuzzing skipped", p.display());
            return Vec::new();
        }
        open_capture(&p)
            .unwrap()
            .lines()
            .take(6_000)
            .map(|l| l.unwrap())
            .collect()
    })
}

const TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_message(&s);
        let _ = parse_capture_line(&s);
    }

    #[test]
    fn json_like_noise_never_panics(s in r#"[\[\]{}":,0-9a-zA-Z.\-]{0,200}"#) {
        let _ = parse_message(&s);
        let wrapped = format!(r#"{{"stream":"x","data":{s}}}"#);
        let _ = parse_message(&wrapped);
    }

    #[test]
    fn mutated_real_lines_never_panic(
        idx in 0usize..6_000,
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let lines = real_lines();
        if lines.is_empty() {
            return Ok(());
        }
        let line = &lines[idx % lines.len()];
        let mut b = line.as_bytes().to_vec();
        let i = pos.index(b.len());
        b[i] = byte;
        let s = String::from_utf8_lossy(&b);
        let _ = parse_capture_line(&s);
        let truncated = &line[..cut.index(line.len())];
        // A truncated line is never valid JSON unless nothing was cut.
        prop_assert!(parse_capture_line(truncated).is_err());
    }

    #[test]
    fn huge_numbers_are_errors(digits in "[1-9][0-9]{20,40}") {
        let t = TICKER.replace("5123107839020", &digits);
        prop_assert!(parse_message(&t).is_err());
        let t = TICKER.replace("61800.20", &digits);
        prop_assert!(parse_message(&t).is_err());
        let t = TICKER.replace("1723161256313", &digits);
        prop_assert!(parse_message(&t).is_err());
    }

    #[test]
    fn wrong_types_are_errors(
        field in prop::sample::select(vec!["u", "b", "B", "a", "A", "T", "E", "s"]),
        value in prop::sample::select(vec!["null", "true", "[]", "{}", "1.5", "\"x\""]),
    ) {
        let mut v: serde_json::Value = serde_json::from_str(TICKER).unwrap();
        v["data"][field] = serde_json::from_str(value).unwrap();
        let text = v.to_string();
        let r = parse_message(&text);
        if field == "s" && value == "\"x\"" {
            prop_assert!(r.is_ok());
        } else {
            prop_assert!(r.is_err(), "{} accepted", text);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Swapping two diffs or dropping one: the book either stays correct or reports a gap —
    /// never a bookTicker mismatch.
    #[test]
    fn reordered_or_lost_diffs_never_corrupt_the_book(
        a in any::<prop::sample::Index>(),
        d in 1usize..4,
        drop in any::<bool>(),
    ) {
        let lines = real_lines();
        if lines.is_empty() {
            return Ok(());
        }
        let depth: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("depthUpdate"))
            .map(|(i, _)| i)
            .collect();
        let i = a.index(depth.len() - d);
        let mut ls: Vec<&str> = lines.iter().map(String::as_str).collect();
        if drop {
            ls.remove(depth[i]);
        } else {
            ls.swap(depth[i], depth[i + d]);
        }
        let mut s = ObStream::default();
        let mut rows = Vec::new();
        for l in ls {
            s.push_capture_line(l, &mut rows).unwrap();
        }
        let h = s.health();
        prop_assert_eq!(h.ticker_mismatches, 0, "{:?}", h);
        prop_assert_eq!(h.ticker_no_reference, 0);
    }
}
