//! Criterion benchmarks of the scanner (issue 3 part 6): incremental push throughput at 16, 48
//! and 400 assets (all four windows) and the dense per-bar baseline.
//! `cargo bench -p dolphin-scanner --bench scanner`

#[path = "../tests/common/mod.rs"]
mod common;

use common::synthetic::factor_random_walk;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dolphin_scanner::{Scanner, ScannerConfig, dense_reference};
use std::hint::black_box;
use std::time::Duration;

/// A scanner warmed up on the first `warm` bars, and the following `run` bars to time.
fn warmed(n: usize, warm: usize, run: usize, seed: u64) -> (Scanner, Vec<f64>) {
    let closes = factor_random_walk(n, warm + run, seed);
    let mut sc = Scanner::new(n, ScannerConfig::default()).expect("config");
    for bar in closes[..warm * n].chunks_exact(n) {
        sc.push(bar);
    }
    (sc, closes[warm * n..].to_vec())
}

fn incremental(c: &mut Criterion) {
    let mut g = c.benchmark_group("scanner_push");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for &(n, run) in &[(16usize, 2000usize), (48, 1000), (400, 50)] {
        let (sc, bars) = warmed(n, 800, run, n as u64);
        g.throughput(Throughput::Elements(run as u64));
        g.bench_function(format!("{n}_assets"), |b| {
            b.iter_batched(
                || sc.clone(),
                |mut s| {
                    for bar in bars.chunks_exact(n) {
                        black_box(s.push(bar));
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn dense(c: &mut Criterion) {
    let mut g = c.benchmark_group("dense_per_bar");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for &n in &[16usize, 48] {
        let closes = factor_random_walk(n, 802, n as u64);
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{n}_assets"), |b| {
            b.iter(|| {
                black_box(
                    dense_reference(n, &closes, &ScannerConfig::default(), 801..802)
                        .expect("dense"),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, incremental, dense);
criterion_main!(benches);
