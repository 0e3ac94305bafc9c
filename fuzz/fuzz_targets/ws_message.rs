//! Binance websocket / depth-capture message parser (SPEC §7; crates/orderbook/src/message.rs)
//! and the book behind it on arbitrary bytes: an error or a message, never a panic; the fast
//! paths (canonical, scan) and serde_json agree on every message both accept, and a message
//! the fast path accepts is one serde_json accepts too.
#![no_main]

use dolphin_orderbook::{ObStream, parse_capture_line, parse_message, parse_message_serde};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match (parse_message(text), parse_message_serde(text)) {
        (Ok(fast), Ok(serde)) => assert_eq!(fast, serde),
        (Ok(fast), Err(e)) => panic!("fast path accepted {fast:?}, serde_json says {e}"),
        _ => {}
    }
    let _ = parse_capture_line(text);
    // Several lines: a capture through the books, the ticker check and the sampler.
    let mut stream = ObStream::new(Default::default());
    let mut rows = Vec::new();
    for line in text.lines() {
        let _ = stream.push_capture_line(line, &mut rows);
        let _ = stream.push_json(line, None, &mut rows);
    }
    let _ = stream.health();
});
