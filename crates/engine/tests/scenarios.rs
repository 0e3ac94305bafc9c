//! Scenario tests on small hand-built days (issue 2 item 6): each exit reason, each posture
//! effect, the sub-day ACB exit, the MC gate and the hand-worked golden trade.

use dolphin_core::{DayFrame, DayRow, Direction, Posture, UtcDate};
use dolphin_engine::{
    AcbDay, AcbProvider, DayContext, EngineConfig, ExitReason, McForewarner, McReport, McStatus,
    NDAlphaEngine, ObProvider,
};

/// A config that isolates the mechanics: no warm-up, no volatility filter, IRP off
/// (BTCUSDT traded), alpha layers on.
fn plain() -> EngineConfig {
    EngineConfig {
        lookback: 1,
        day_warmup_bars: 0,
        use_vol_filter: false,
        use_asset_selection: false,
        ..EngineConfig::default()
    }
}

fn date(s: &str) -> UtcDate {
    s.parse().unwrap()
}

/// A day with assets BTCUSDT and ETHUSDT; `btc[r]`, `vd[r]` per row; ETH flat at 2000.
fn day(d: &str, btc: &[f64], vd: &[f64]) -> DayFrame {
    assert_eq!(btc.len(), vd.len());
    let mut f = DayFrame::empty(date(d), vec!["BTCUSDT".into(), "ETHUSDT".into()]);
    let t0 = date(d).start_ms();
    for r in 0..btc.len() {
        let prices = [btc[r], 2000.0];
        let row = DayRow::new(t0 + r as i64 * 60_000, r as i64, &prices)
            .vel_div(vd[r])
            .velocities([0.0; 4])
            .instability(0.0, 0.0);
        f.push_row(&row).unwrap();
    }
    f.check_shape().unwrap();
    f
}

struct FixedAcb(f64, f64);
impl AcbProvider for FixedAcb {
    fn day(&self, _: UtcDate, _: Option<&dyn ObProvider>) -> AcbDay {
        AcbDay {
            boost: self.0,
            beta: self.1,
        }
    }
}

struct FixedMc(f64, f64);
impl McForewarner for FixedMc {
    fn assess(&self, _: &EngineConfig) -> McReport {
        McReport {
            catastrophic_probability: self.0,
            envelope_score: self.1,
        }
    }
}

const APEX: DayContext = DayContext {
    posture: Posture::Apex,
    rm: 1.0,
};

#[test]
fn golden_take_profit_trade_worked_by_hand() {
    // Rows 0..9: BTC 100, vel_div 0. Row 10: vel_div −0.03 → SHORT entry at 100.
    // Row 15: BTC 99.0 → pnl 1.0 % ≥ 0.95 % → FIXED_TP.
    let mut btc = vec![100.0; 20];
    for p in btc.iter_mut().skip(15) {
        *p = 99.0;
    }
    let mut vd = vec![0.0; 20];
    vd[10] = -0.03;
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    let r = e
        .process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    assert_eq!(r.trades, 1);
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::FixedTp);
    assert_eq!((t.entry_bar, t.exit_bar), (10, 15));
    assert_eq!(t.asset, "BTCUSDT");
    assert_eq!(t.direction, Direction::Short);
    assert_eq!(t.entry_price, 100.0);

    // Sizing by hand (B §6): strength = (−0.02 − (−0.03)) / 0.03 = 1/3.
    let strength = (-0.02 - -0.03) / (-0.02 - -0.05);
    let leverage = 0.5 + f64::powf(strength, 3.0) * (5.0 - 0.5); // 0.6667
    // vd_trend = vd[10] − vd[1] = −0.03 < −0.01 → trend 1.3; no bucket/streak history → 1.0.
    let fraction = ((0.02 + strength * (0.20 - 0.02)) * (0.55 / 0.95) * 1.0 * 1.3 * 1.0 * 1.0)
        .clamp(0.02, 0.20);
    assert!((fraction - 0.060_210_526).abs() < 1e-9);
    // ACB neutral: rsm = 1; ceiling min(5, 6) = 5; final leverage = 0.6667.
    assert_eq!(t.leverage, leverage);
    let notional = 25_000.0 * fraction * leverage;
    assert_eq!(t.notional, notional);
    // Exit fill 99.0 × 1.0002 = 99.0198; RNG(42): 0.3745 < 0.62 → entry refund +2 bps;
    // 0.9507 ≥ 0.50 → no exit refund; 0.7320 ≥ 0.40 → no OB edge.
    assert_eq!(t.exit_price, 99.0 * (1.0 + 0.0002));
    let pnl_raw = (100.0 - t.exit_price) / 100.0 + 0.0002;
    let entry_fee = (0.0002 * 0.62 + 0.0005 * (1.0 - 0.62)) * notional;
    let exit_fee = (0.0002 * 0.50 + 0.0005 * (1.0 - 0.50)) * notional;
    let net = pnl_raw * notional - entry_fee - exit_fee;
    assert_eq!(t.pnl, net);
    assert!((t.pnl - 9.3713).abs() < 1e-3, "{}", t.pnl);
    assert_eq!(e.capital(), 25_000.0 + net);
    // The day's pnl is the capital change (SPEC §6), not the sum of nets.
    assert_eq!(r.pnl, (25_000.0 + net) - 25_000.0);
}

#[test]
fn max_hold_exit_after_120_bars() {
    let n = 200;
    let btc = vec![100.0; n];
    let mut vd = vec![0.0; n];
    vd[10] = -0.03;
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::MaxHold);
    assert_eq!(t.exit_bar - t.entry_bar, 120);
}

#[test]
fn max_hold_fires_without_a_price_at_the_last_known_price() {
    let n = 200;
    let mut btc = vec![100.0; n];
    for p in btc.iter_mut().take(140).skip(120) {
        *p = f64::NAN; // no BTC price on rows 120..139
    }
    btc[119] = 100.5;
    let mut vd = vec![0.0; n];
    vd[10] = -0.03;
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::MaxHold);
    assert_eq!(t.exit_bar, 130);
    assert_eq!(t.exit_price, 100.5 * 1.0002);
}

#[test]
fn stop_loss_uses_taker_fee_and_wider_slippage() {
    let cfg = EngineConfig {
        stop_pct: 0.01,
        ..plain()
    };
    let mut btc = vec![100.0; 30];
    btc[20] = 101.5;
    let mut vd = vec![0.0; 30];
    vd[10] = -0.03;
    let mut e = NDAlphaEngine::new(cfg).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::StopLoss);
    assert_eq!(t.exit_bar, 20);
    assert_eq!(t.exit_price, 101.5 * 1.0005);
    // Draws: entry 0.3745 < 0.62 → refund; exit draw skipped; OB draw 0.9507 ≥ 0.40.
    let pnl_raw = (100.0 - t.exit_price) / 100.0 + 0.0002;
    let n = t.notional;
    let net = pnl_raw * n - (0.0002 * 0.62 + 0.0005 * (1.0 - 0.62)) * n - 0.0005 * n;
    assert_eq!(t.pnl, net);
}

#[test]
fn hibernate_force_closes_then_halts_entries() {
    let mut vd = vec![0.0; 30];
    vd[25] = -0.03;
    let btc = vec![100.0; 30];
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    assert!(e.position().is_some(), "entered on row 25, still open");
    let vd2 = vec![-0.04; 30]; // strong signal all day: no entry under HIBERNATE
    let ctx = DayContext {
        posture: Posture::Hibernate,
        rm: 0.3,
    };
    let r = e
        .process_day(&day("2025-05-06", &btc, &vd2), ctx, false)
        .unwrap();
    assert_eq!(r.trades, 1);
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::HibernateHalt);
    assert_eq!(
        t.exit_bar, 30,
        "closed on the first bar of the HIBERNATE day"
    );
    assert_eq!(e.trade_history().len(), 1);
    assert!(e.position().is_none());
    assert!(e.entries_halted());
}

#[test]
fn turtle_halts_entries_and_scales_the_ceiling_by_rm() {
    let mut vd = vec![-0.04; 30];
    vd[0] = 0.0;
    let btc = vec![100.0; 30];
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    let ctx = DayContext {
        posture: Posture::Turtle,
        rm: 0.6,
    };
    let r = e
        .process_day(&day("2025-05-05", &btc, &vd), ctx, false)
        .unwrap();
    assert_eq!(r.trades, 0);
    assert!(e.position().is_none());
    assert_eq!(e.abs_max_leverage_eff(), 6.0 * 0.6);
    // Rm so low the ceiling would fall below 1: floored at 1.0 (SPEC D4).
    e.begin_day(
        date("2025-05-06"),
        &["BTCUSDT".into(), "ETHUSDT".into()],
        DayContext {
            posture: Posture::Turtle,
            rm: 0.1,
        },
    )
    .unwrap();
    assert_eq!(e.abs_max_leverage_eff(), 1.0);
}

#[test]
fn stalker_caps_leverage_at_two() {
    let mut vd = vec![0.0; 30];
    vd[10] = -0.1; // extreme: leverage 5 × rsm
    let btc = vec![100.0; 30];
    let ctx = DayContext {
        posture: Posture::Stalker,
        rm: 0.8,
    };
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_acb(std::sync::Arc::new(FixedAcb(1.5, 0.8)));
    e.process_day(&day("2025-05-05", &btc, &vd), ctx, true)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.leverage, 2.0);
    assert_eq!(t.reason, ExitReason::EndOfData);
    // Same day under APEX: ceiling min(5 × 1.5 × 1.8, 6 × 1.0) = 6.
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_acb(std::sync::Arc::new(FixedAcb(1.5, 0.8)));
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, true)
        .unwrap();
    assert_eq!(e.trade_history()[0].leverage, 6.0);
    assert_eq!(
        e.regime_size_mult(),
        1.5,
        "row 29 has vel_div 0: rsm = boost"
    );
}

#[test]
fn subday_acb_normalization_exits_on_the_next_bar() {
    let mut vd = vec![0.0; 40];
    vd[10] = -0.03;
    let btc = vec![100.0; 40];
    let f = day("2025-05-05", &btc, &vd);
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_acb(std::sync::Arc::new(FixedAcb(1.3, 0.2)));
    e.begin_day(f.date, &f.assets, APEX).unwrap();
    for r in 0..f.len() {
        if r == 20 {
            // The listener's value arrives between bars 19 and 20.
            e.update_acb_boost(1.05, 0.2);
            assert_eq!(e.trade_history().len(), 0, "never closed inside the update");
        }
        let prices = f.row_prices(r);
        let ok = e.vol_regime_ok(prices);
        e.step_bar(&dolphin_engine::Bar {
            timestamp_ms: f.timestamp[r],
            vel_div: f.vel_div[r],
            v50_vel: 0.0,
            v750_vel: 0.0,
            prices,
            vol_regime_ok: ok,
        })
        .unwrap();
    }
    let r = e.end_day().unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.reason, ExitReason::SubdayAcbNormalization);
    assert_eq!(t.exit_bar, 20);
    assert_eq!(r.boost, 1.05);
    // A fall that does not start at ≥ 1.25 does nothing.
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_acb(std::sync::Arc::new(FixedAcb(1.2, 0.2)));
    e.begin_day(f.date, &f.assets, APEX).unwrap();
    e.update_acb_boost(1.0, 0.2);
    e.end_day().unwrap();
    assert!(e.trade_history().is_empty());
}

#[test]
fn mc_gate_red_halts_orange_halves() {
    let mut vd = vec![0.0; 30];
    vd[10] = -0.1;
    let btc = vec![100.0; 30];
    let f = day("2025-05-05", &btc, &vd);
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_mc_forewarner(std::sync::Arc::new(FixedMc(0.30, 0.5)));
    let r = e.process_day(&f, APEX, true).unwrap();
    assert_eq!(r.mc_status, McStatus::Red);
    assert!(e.trade_history().is_empty());

    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.set_mc_forewarner(std::sync::Arc::new(FixedMc(0.15, 0.5)));
    let r = e.process_day(&f, APEX, true).unwrap();
    assert_eq!(r.mc_status, McStatus::Orange);
    assert_eq!(e.day_mc_scale(), 0.5);
    // rsm 0.5 → ceiling 2.5; raw 5 × 0.5 = 2.5.
    assert_eq!(e.trade_history()[0].leverage, 2.5);
}

#[test]
fn long_direction_mirrors_short() {
    let cfg = EngineConfig {
        direction: Direction::Long,
        ..plain()
    };
    let mut btc = vec![100.0; 20];
    for p in btc.iter_mut().skip(15) {
        *p = 101.0;
    }
    let mut vd = vec![0.0; 20];
    vd[10] = 0.02; // > 0.01 long threshold
    let mut e = NDAlphaEngine::new(cfg).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.direction, Direction::Long);
    assert_eq!(t.reason, ExitReason::FixedTp);
    assert_eq!(t.exit_price, 101.0 * (1.0 - 0.0002));
    // strength (0.01 − 0.02)/(0.01 − 0.04) = 1/3 → same leverage as the SHORT golden.
    assert_eq!(
        t.leverage,
        0.5 + f64::powf((0.01 - 0.02) / (0.01 - 0.04), 3.0) * 4.5
    );
}

#[test]
fn dc_contradiction_skips_entry() {
    // BTC rising 1 bp per row: over 7 rows +7 bps > 0.75 → CONTRADICT for SHORT.
    let btc: Vec<f64> = (0..30).map(|i| 100.0 * (1.0 + 0.0001 * i as f64)).collect();
    let mut vd = vec![0.0; 30];
    vd[10] = -0.03;
    let mut e = NDAlphaEngine::new(plain()).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, true)
        .unwrap();
    assert!(e.trade_history().is_empty());
    let cfg = EngineConfig {
        dc_skip_contradicts: false,
        ..plain()
    };
    let mut e = NDAlphaEngine::new(cfg).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, true)
        .unwrap();
    assert_eq!(e.trade_history().len(), 1);
}

#[test]
fn no_reentry_on_the_exit_bar_and_warmup_gates() {
    let mut btc = vec![100.0; 40];
    for p in btc.iter_mut().skip(15) {
        *p = 99.0;
    }
    let vd = vec![-0.03; 40];
    let cfg = EngineConfig {
        lookback: 5,
        ..plain()
    };
    let mut e = NDAlphaEngine::new(cfg).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, true)
        .unwrap();
    let th = e.trade_history();
    assert_eq!(
        th[0].entry_bar, 4,
        "bar_count ≥ lookback first holds on bar 4"
    );
    assert_eq!(th[0].exit_bar, 15);
    assert_eq!(th[1].entry_bar, 16, "no entry on the exit bar");
}

#[test]
fn missing_reference_asset_is_a_clear_error() {
    let mut e = NDAlphaEngine::new(EngineConfig::default()).unwrap();
    let err = e
        .begin_day(date("2025-05-05"), &["ETHUSDT".into()], APEX)
        .unwrap_err();
    assert!(
        err.to_string().contains("`BTCUSDT` is not in the data"),
        "{err}"
    );
}

/// TF-spread recovery (B §19 TODO-6), default ratios: exhaustion 0.25, flip 0.5, 5 bars.
/// Entry at row 10 on vel_div −0.04 → e = 0.04: exhaustion line vel_div ≥ −0.01 (in profit),
/// flip line vel_div ≥ +0.02. `btc_after` from row 11 on, `vd_after` from row 11 on.
fn tf_run(
    tf_enabled: bool,
    btc_after: f64,
    vd_after: f64,
    no_price: usize,
) -> (u64, ExitReason, f64) {
    let n = 200;
    let mut btc = vec![100.0; n];
    for (r, p) in btc.iter_mut().enumerate().skip(11) {
        *p = if r < 11 + no_price {
            f64::NAN
        } else {
            btc_after
        };
    }
    let mut vd = vec![vd_after; n];
    vd[..10].fill(0.0);
    vd[10] = -0.04;
    let cfg = EngineConfig {
        tf_enabled,
        ..plain()
    };
    let mut e = NDAlphaEngine::new(cfg).unwrap();
    e.process_day(&day("2025-05-05", &btc, &vd), APEX, false)
        .unwrap();
    let t = &e.trade_history()[0];
    assert_eq!(t.entry_bar, 10);
    (t.exit_bar, t.reason, t.exit_price)
}

#[test]
fn tf_recovery_exhaustion_in_profit_after_min_bars() {
    // vel_div −0.005 from row 11 (x = 0.005 ≤ 0.01), BTC 99.8 (pnl +0.2 %, below TP):
    // exhausted from bar 1 on, fires at 5 bars held → bar 15, other_slip 2 bps.
    assert_eq!(
        tf_run(true, 99.8, -0.005, 0),
        (15, ExitReason::TfRecovery, 99.8 * 1.0002)
    );
    // Off (the champion): the same trade runs to MAX_HOLD.
    assert_eq!(tf_run(false, 99.8, -0.005, 0).1, ExitReason::MaxHold);
    // Exhausted but in loss (BTC 100.3): no exhaustion exit, and not flipped.
    assert_eq!(tf_run(true, 100.3, -0.005, 0).1, ExitReason::MaxHold);
    // Still stretched (x = 0.015 > 0.01) in profit: no exit.
    assert_eq!(tf_run(true, 99.8, -0.015, 0).1, ExitReason::MaxHold);
}

#[test]
fn tf_recovery_flip_in_loss_and_not_without_a_price() {
    // vel_div +0.03 (x = −0.03 ≤ −0.02) with BTC 100.3 (pnl −0.3 %): flip at bar 15.
    let (bar, reason, price) = tf_run(true, 100.3, 0.03, 0);
    assert_eq!(
        (bar, reason, price),
        (15, ExitReason::TfRecovery, 100.3 * 1.0002)
    );
    // +0.01 crossed zero but not by half the entry spread: no flip.
    assert_eq!(tf_run(true, 100.3, 0.01, 0).1, ExitReason::MaxHold);
    // No BTC price on rows 11..=29: the first bar with a price (30) exits.
    assert_eq!(tf_run(true, 100.3, 0.03, 19).0, 30);
}
