//! Criterion benches of the engine: one `step_bar` and a whole replay day, at 16, 48 and 400
//! assets (generated data; the same code path as real day files, file reading excluded).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dolphin_engine::synthetic::synthetic_days;
use dolphin_engine::{Bar, DayContext, EngineConfig, NDAlphaEngine};
use std::hint::black_box;

fn replay(c: &mut Criterion) {
    let mut g = c.benchmark_group("replay_day_1440_rows");
    for &n in &[16usize, 48, 400] {
        let days = synthetic_days("2025-01-01".parse().unwrap(), 3, 1440, n, 42);
        g.throughput(Throughput::Elements(1440 * 3));
        g.bench_with_input(BenchmarkId::from_parameter(n), &days, |b, days| {
            b.iter(|| {
                let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
                for (i, d) in days.iter().enumerate() {
                    black_box(e.process_day(d, DayContext::default(), i == 2).unwrap());
                }
                e.capital()
            })
        });
    }
    g.finish();
}

fn step_bar(c: &mut Criterion) {
    let mut g = c.benchmark_group("step_bar");
    for &n in &[16usize, 400] {
        let days = synthetic_days("2025-01-01".parse().unwrap(), 1, 1440, n, 42);
        let d = &days[0];
        let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
        e.begin_day(d.date, &d.assets, DayContext::default())
            .unwrap();
        let mut r = 0usize;
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let prices = d.row_prices(r % d.len());
                let ok = e.vol_regime_ok(prices);
                let out = e
                    .step_bar(&Bar {
                        timestamp_ms: d.timestamp[r % d.len()],
                        vel_div: d.vel_div[r % d.len()],
                        v50_vel: 0.0,
                        v750_vel: 0.0,
                        prices,
                        vol_regime_ok: ok,
                    })
                    .unwrap();
                r += 1;
                black_box(out)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, replay, step_bar);
criterion_main!(benches);
