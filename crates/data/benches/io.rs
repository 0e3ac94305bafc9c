//! Benchmarks: reading one day file (SPEC §3) and loading the shared kline directory (SPEC §6).
//! Run: `CARGO_TARGET_DIR=/work/target-data cargo bench -p dolphin-data --bench io`

use criterion::{Criterion, criterion_group, criterion_main};
use dolphin_core::{DayFrame, UtcDate};
use dolphin_data::{load_kline_dir, read_day_file, write_day_file};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A synthetic day: `rows` bars spread over 2025-05-05, `assets` random-walk prices, signals.
fn synthetic_day(rows: usize, assets: usize) -> DayFrame {
    let date: UtcDate = "2025-05-05".parse().unwrap();
    let names = (0..assets).map(|i| format!("A{i:02}USDT")).collect();
    let mut f = DayFrame::empty(date, names);
    let step = 86_400_000 / rows as i64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut px: Vec<f64> = (0..assets).map(|a| 10.0 + a as f64).collect();
    for r in 0..rows {
        f.timestamp.push(date.start_ms() + r as i64 * step);
        f.scan_number.push(r as i64);
        for col in [
            &mut f.vel_div,
            &mut f.v50_vel,
            &mut f.v150_vel,
            &mut f.v300_vel,
            &mut f.v750_vel,
            &mut f.instability_50,
            &mut f.instability_150,
        ] {
            col.push(next() * 0.01);
        }
        for p in px.iter_mut() {
            *p *= 1.0 + next() * 0.002;
            f.prices.push(*p);
        }
    }
    f
}

fn shared_klines() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/klines-1m"
    ));
    p.is_dir().then_some(p)
}

fn bench_day_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("day_file");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    // 1-minute bars x 16 assets (the shared data's shape) and B §3.1's 5 s-scan shape
    // scaled to a full day (17,280 rows x 48 assets).
    for (rows, assets) in [(1440usize, 16usize), (17_280, 48)] {
        let sub = dir.path().join(format!("{rows}x{assets}"));
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("2025-05-05.parquet");
        let frame = synthetic_day(rows, assets);
        write_day_file(&path, &frame).unwrap();
        g.bench_function(format!("read_{rows}x{assets}"), |b| {
            b.iter(|| black_box(read_day_file(black_box(&path)).unwrap()))
        });
        g.bench_function(format!("write_{rows}x{assets}"), |b| {
            b.iter(|| write_day_file(black_box(&path), black_box(&frame)).unwrap())
        });
    }
    g.finish();
}

fn bench_klines(c: &mut Criterion) {
    let Some(dir) = shared_klines() else {
        eprintln!("note: shared/data/klines-1m not found, skipping the kline benchmark");
        return;
    };
    let mut g = c.benchmark_group("klines");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("load_kline_dir_shared_16_symbols", |b| {
        b.iter(|| black_box(load_kline_dir(Path::new(&dir), None, None).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench_day_file, bench_klines);
criterion_main!(benches);
