//! What the watchdog's posture trace costs a replay (docs/BENCHMARKS.md, "`dolphin serve`",
//! session 10): with 1-minute bars the watchdog evaluates on every bar (SPEC §8: every 60 s of
//! event time), and every evaluation appends one `posture_trace.jsonl` line
//! (`{"ts_ms", <SensorReadings>}`, ≈ 240 bytes) — 60,191 lines, ≈ 14.5 MB, on the 43 shared days.
//! Three costs, each for the whole 43-day run: formatting the lines, writing them through
//! [`RunFiles`] into a new run directory, and writing them over a previous run's files (a
//! re-run into the same `--out`: opening the files truncates the old ones).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dolphin_risk::SensorReadings;
use dolphin_services::json_text::{TraceNumbers, trace_line};
use dolphin_services::run_files::{RunFiles, Trace};
use std::hint::black_box;
use std::path::Path;

/// Bars of the 43 shared days (`dolphin backtest` on them prints this count).
const LINES: usize = 60_191;
/// 2025-05-04 00:00 UTC.
const T0: i64 = 1_746_316_800_000;

/// The readings of bar `i`: fresh data, every heartbeat of this tick, and — as on the shared
/// days, where a position is open on about two bars in three — a drawdown that moves with the
/// open position's mark two bars in three.
fn readings(i: usize) -> SensorReadings {
    SensorReadings {
        staleness_hours: 1.0 / 60.0,
        drawdown: if i.is_multiple_of(3) {
            0.0
        } else {
            0.01 + (i as f64 * 0.37).sin().abs() * 0.03
        },
        ..SensorReadings::default()
    }
}

/// Hands each bar's trace line to `f`, formatted as the watchdog formats it (one reused buffer).
fn each_line(readings: &[SensorReadings], mut f: impl FnMut(&str)) {
    let (mut line, mut numbers) = (String::new(), TraceNumbers::default());
    for (i, r) in readings.iter().enumerate() {
        line.clear();
        trace_line(&mut line, T0 + i as i64 * 60_000, r, &mut numbers);
        f(&line);
    }
}

/// Writes the run's trace lines into `dir` through the run files, as the watchdog does.
fn write_trace(dir: &Path, readings: &[SensorReadings]) {
    let files = RunFiles::create(dir).expect("run files");
    each_line(readings, |line| {
        files.append_raw(Trace::PostureTrace, line).expect("append")
    });
    files.flush().expect("flush");
}

fn bench(c: &mut Criterion) {
    let all: Vec<SensorReadings> = (0..LINES).map(readings).collect();
    let mut g = c.benchmark_group("posture_trace_43_days");
    g.sample_size(20);
    g.bench_function("format_60191_lines", |b| {
        b.iter(|| {
            let mut bytes = 0;
            each_line(&all, |line| bytes += line.len() + 1);
            black_box(bytes)
        })
    });
    // The temporary directories are made and removed outside the measured routine.
    g.bench_function("write_60191_lines_new_run_dir", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |dir| {
                write_trace(dir.path(), &all);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("write_60191_lines_over_previous_run", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                write_trace(dir.path(), &all);
                dir
            },
            |dir| {
                write_trace(dir.path(), &all);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
