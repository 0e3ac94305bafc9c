//! Speed of the risk control plane's hot calls: the ACB's per-date verdict, one Survival
//! Stack evaluation, a posture-trace lookup, and the MC-Forewarner's `assess` over a
//! 1000-path envelope model (docs/MC_FOREWARNER.md).

use criterion::{Criterion, criterion_group, criterion_main};
use dolphin_core::{ExternalFactors, UtcDate};
use dolphin_engine::{AcbProvider, EngineConfig, McForewarner};
use dolphin_risk::{
    AcbConfig, AdaptiveCircuitBreaker, DolphinForewarner, EnvelopeModel, EnvelopePoint, McConfig,
    McParams, PostureTrace, SensorReadings, SplitMix64, SurvivalConfig, SurvivalStack,
};
use std::collections::BTreeMap;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let start: UtcDate = "2023-01-01".parse().unwrap();
    let mut factors = BTreeMap::new();
    let mut w750 = BTreeMap::new();
    let mut date = start;
    for i in 0..1000 {
        let x = i as f64;
        factors.insert(
            date,
            ExternalFactors {
                date,
                funding_btc: Some((x * 0.37).sin() * 2e-4),
                dvol_btc: Some(50.0 + 30.0 * (x * 0.11).cos()),
                fng: Some(50.0 + 40.0 * (x * 0.05).sin()),
                taker: None,
            },
        );
        w750.insert(date, (x * 0.7).sin() * 1e-3);
        date = date.succ();
    }
    let acb =
        AdaptiveCircuitBreaker::new(AcbConfig::default(), factors.clone(), w750.clone()).unwrap();
    c.bench_function("acb_build_1000_dates", |b| {
        b.iter(|| {
            AdaptiveCircuitBreaker::new(
                AcbConfig::default(),
                black_box(factors.clone()),
                black_box(w750.clone()),
            )
            .unwrap()
        })
    });
    let mid = start.succ().succ();
    c.bench_function("acb_day", |b| b.iter(|| acb.day(black_box(mid), None)));

    let mut stack = SurvivalStack::new(SurvivalConfig::default()).unwrap();
    let r = SensorReadings {
        drawdown: 0.07,
        fill_prob: 0.8,
        ..SensorReadings::default()
    };
    c.bench_function("survival_update", |b| {
        b.iter(|| stack.update(black_box(&r), black_box(1.0)).unwrap())
    });

    let readings: Vec<(i64, SensorReadings)> = (0..10_000)
        .map(|i| {
            (
                i * 60_000,
                SensorReadings {
                    drawdown: (i % 300) as f64 / 1000.0,
                    ..SensorReadings::default()
                },
            )
        })
        .collect();
    let trace = PostureTrace::from_readings(SurvivalConfig::default(), &readings).unwrap();
    c.bench_function("posture_at_10k_points", |b| {
        b.iter(|| trace.posture_at(black_box(345_678_901)))
    });
}

/// A 1000-path envelope model with the default sigmas, drawn like a real run's parameters.
fn mc_model() -> EnvelopeModel {
    let cfg = EngineConfig::default();
    let mc = McConfig::default();
    let base = McParams::of(&cfg);
    let mut rng = SplitMix64::new(1);
    let pts = (0..1000)
        .map(|_| {
            let params = base.perturbed(&mc.perturbation, &cfg, &mut rng);
            EnvelopePoint {
                params,
                final_roi: 0.05 * rng.normal() + 0.03,
                max_drawdown: (0.05 + 0.04 * rng.normal()).abs().min(1.0),
            }
        })
        .collect();
    EnvelopeModel::from_points(mc, cfg, pts)
}

fn bench_mc(c: &mut Criterion) {
    let fw = DolphinForewarner::new(mc_model()).unwrap();
    let mut cfg = EngineConfig::default();
    cfg.max_leverage *= 1.347;
    c.bench_function("mc_assess_1000_paths", |b| {
        b.iter(|| fw.assess(black_box(&cfg)))
    });
}

criterion_group!(benches, bench, bench_mc);
criterion_main!(benches);
