//! Parser + book throughput on the shared captures (messages/s). Run with
//! `CARGO_TARGET_DIR=/work/target-orderbook cargo bench -p dolphin-orderbook --bench book`.

use std::hint::black_box;
use std::io::BufRead;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dolphin_orderbook::capture::open_capture;
use dolphin_orderbook::{LocalBook, Message, ObStream, parse_capture_line, parse_message_serde};

fn load(name: &str) -> Option<Vec<String>> {
    let p = format!(
        "{}/../../../shared/data/depth/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if !Path::new(&p).exists() {
        eprintln!("note: {p} not found; skipping");
        return None;
    }
    Some(
        open_capture(Path::new(&p))
            .expect("open capture")
            .lines()
            .map(|l| l.expect("read line"))
            .collect(),
    )
}

fn parse_and_book(lines: &[String]) -> u64 {
    let mut book = LocalBook::new();
    let mut applied = 0;
    for l in lines {
        let (_, m) = parse_capture_line(l).expect("valid line");
        match m {
            Message::Depth { update, .. } => {
                let outcome = book.apply_diff(update);
                applied += u64::from(outcome == dolphin_orderbook::DiffOutcome::Applied);
            }
            Message::Snapshot(s) => {
                book.apply_snapshot(&s);
            }
            _ => {}
        }
    }
    applied
}

fn bench(c: &mut Criterion) {
    for name in ["btcusdt_20240808.gz", "ethusdt_20240808.gz"] {
        let Some(lines) = load(name) else { continue };
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| {
                for l in &lines {
                    black_box(parse_capture_line(l).expect("valid line"));
                }
            })
        });
        g.bench_function("parse_serde_only", |b| {
            b.iter(|| {
                for l in &lines {
                    let (_, json) = l.split_once(' ').expect("separator");
                    black_box(parse_message_serde(json).expect("valid line"));
                }
            })
        });
        g.bench_function("parse+book", |b| {
            b.iter(|| black_box(parse_and_book(&lines)))
        });
        g.bench_function("parse+book+check+features", |b| {
            b.iter(|| {
                let mut s = ObStream::default();
                let mut rows = Vec::new();
                for l in &lines {
                    s.push_capture_line(l, &mut rows).expect("valid line");
                }
                black_box((rows.len(), s.health()))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
