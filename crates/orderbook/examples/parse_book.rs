//! Parser + book over a whole capture, once, for instruction counts that do not depend on the
//! machine's load (docs/OB_FEATURES.md §7):
//! `valgrind --tool=callgrind --toggle-collect='parse_book::parse_and_book' \
//!   target/release/examples/parse_book ../shared/data/depth/btcusdt_20240808.gz`
//! (instructions of `parse_and_book` / messages = instructions per message).

use std::io::BufRead;
use std::path::Path;

use dolphin_orderbook::capture::open_capture;
use dolphin_orderbook::{DiffOutcome, LocalBook, Message, parse_capture_line};

/// Parse every line and apply every diff and snapshot to one book (the `parse+book` bench).
#[inline(never)]
fn parse_and_book(lines: &[String]) -> u64 {
    let mut book = LocalBook::new();
    let mut applied = 0;
    for l in lines {
        let (_, m) = parse_capture_line(l).expect("valid line");
        match m {
            Message::Depth { update, .. } => {
                applied += u64::from(book.apply_diff(update) == DiffOutcome::Applied);
            }
            Message::Snapshot(s) => {
                book.apply_snapshot(&s);
            }
            _ => {}
        }
    }
    applied
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_book CAPTURE");
    let lines: Vec<String> = open_capture(Path::new(&path))
        .expect("open capture")
        .lines()
        .map(|l| l.expect("read line"))
        .collect();
    let applied = parse_and_book(&lines);
    println!("{path}: {} messages, {applied} diffs applied", lines.len());
}
