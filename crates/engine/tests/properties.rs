//! Property tests of the engine over generated days: capital stays finite, no entry while a
//! position is open (nor on an exit bar), leverage within its bounds, and `process_day`
//! equal to the `begin_day`/`step_bar`/`end_day` path (SPEC D6).

use dolphin_core::Posture;
use dolphin_engine::synthetic::synthetic_days;
use dolphin_engine::{Bar, DayContext, EngineConfig, NDAlphaEngine};
use proptest::prelude::*;

fn cfg(lookback: u32, warm: u32, vol: bool, irp: bool) -> EngineConfig {
    EngineConfig {
        lookback,
        day_warmup_bars: warm,
        use_vol_filter: vol,
        use_asset_selection: irp,
        ..EngineConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn invariants_hold_bar_by_bar(seed in 0u32..10_000, n in 2usize..12, lookback in 1u32..150,
                                  warm in 0u32..120, vol in any::<bool>(), irp in any::<bool>(),
                                  posture in prop::sample::select(vec![Posture::Apex, Posture::Stalker, Posture::Turtle]),
                                  rm in 0.0f64..1.0) {
        let days = synthetic_days("2025-01-01".parse().unwrap(), 2, 400, n, seed);
        let c = cfg(lookback, warm, vol, irp);
        let mut e = NDAlphaEngine::new(c.clone()).unwrap();
        let ctx = DayContext { posture, rm };
        for d in &days {
            e.begin_day(d.date, &d.assets, ctx).unwrap();
            for r in 0..d.len() {
                let had = e.position().is_some();
                let prices = d.row_prices(r);
                let ok = e.vol_regime_ok(prices);
                let out = e.step_bar(&Bar {
                    timestamp_ms: d.timestamp[r],
                    vel_div: d.vel_div[r],
                    v50_vel: 0.0,
                    v750_vel: 0.0,
                    prices,
                    vol_regime_ok: ok,
                }).unwrap();
                prop_assert!(e.capital().is_finite());
                if out.entered.is_some() {
                    prop_assert!(!had, "entry while a position was open");
                    prop_assert!(out.exited.is_none(), "entry on an exit bar");
                    prop_assert!(posture != Posture::Turtle, "TURTLE halts entries");
                    let p = e.position().unwrap();
                    let ceiling = if posture == Posture::Stalker { 2.0 } else { (6.0 * rm).max(1.0) };
                    prop_assert!(p.leverage >= c.min_leverage);
                    prop_assert!(p.leverage <= ceiling.max(c.min_leverage) + 1e-12);
                    prop_assert!(p.notional > 0.0 && p.notional.is_finite());
                }
                if out.exited.is_some() {
                    prop_assert!(had);
                }
            }
            e.end_day().unwrap();
        }
        for t in e.trade_history() {
            prop_assert!(t.exit_bar > t.entry_bar);
            prop_assert!(t.exit_bar - t.entry_bar <= 120);
        }
    }

    #[test]
    fn process_day_equals_step_bar(seed in 0u32..10_000, n in 2usize..10) {
        let days = synthetic_days("2025-01-01".parse().unwrap(), 3, 300, n, seed);
        let c = cfg(50, 20, true, true);
        let mut a = NDAlphaEngine::new(c.clone()).unwrap();
        let mut ra = Vec::new();
        for (i, d) in days.iter().enumerate() {
            ra.push(a.process_day(d, DayContext::default(), i == 2).unwrap());
        }
        let mut b = NDAlphaEngine::new(c).unwrap();
        let mut rb = Vec::new();
        for (i, d) in days.iter().enumerate() {
            b.begin_day(d.date, &d.assets, DayContext::default()).unwrap();
            for r in 0..d.len() {
                let prices = d.row_prices(r);
                let ok = b.vol_regime_ok(prices);
                b.step_bar(&Bar {
                    timestamp_ms: d.timestamp[r],
                    vel_div: d.vel_div[r],
                    v50_vel: d.v50_vel[r],
                    v750_vel: d.v750_vel[r],
                    prices,
                    vol_regime_ok: ok,
                }).unwrap();
            }
            if i == 2 {
                b.close_end_of_data();
            }
            rb.push(b.end_day().unwrap());
        }
        prop_assert_eq!(a.trade_history(), b.trade_history());
        prop_assert_eq!(ra, rb);
        prop_assert!(a.position().is_none());
    }
}

#[test]
fn generated_days_do_trade() {
    // Guards the properties above against being vacuous: the generated data produces entries
    // and exits under the configurations they use.
    let days = synthetic_days("2025-01-01".parse().unwrap(), 2, 400, 6, 1);
    let mut e = NDAlphaEngine::new(cfg(1, 0, false, false)).unwrap();
    for (i, d) in days.iter().enumerate() {
        e.process_day(d, DayContext::default(), i == 1).unwrap();
    }
    assert!(e.trade_history().len() >= 3, "{}", e.trade_history().len());
    let mut e = NDAlphaEngine::new(cfg(50, 20, true, true)).unwrap();
    let days = synthetic_days("2025-01-01".parse().unwrap(), 3, 300, 8, 3);
    for (i, d) in days.iter().enumerate() {
        e.process_day(d, DayContext::default(), i == 2).unwrap();
    }
    assert!(!e.trade_history().is_empty());
}
