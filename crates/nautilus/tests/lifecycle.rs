//! Lifecycle tests of the DolphinActor (B §17, S §14 `test_dolphin_actor.py`): instantiate,
//! on_bar, HIBERNATE, once-per-date, date change, ACB listener, store unavailable, on_stop,
//! stale state, capital persistence. Bars are handed to `on_bar` directly, as Nautilus's data
//! engine would; generated day frames (`dolphin_engine::synthetic`) stand in for day files.

use dolphin_core::{DayFrame, Posture, UtcDate};
use dolphin_engine::synthetic::synthetic_days;
use dolphin_engine::{EngineConfig, ExitReason};
use dolphin_nautilus::{DayFrames, DolphinActor, DolphinActorConfig, shared_store};
use dolphin_store::schema::{
    AcbBoostValue, DOLPHIN_FEATURES, DOLPHIN_PNL_BLUE, DOLPHIN_STATE_BLUE, DailyResultValue, Extra,
    KEY_ACB_BOOST, KEY_LATEST_NAUTILUS, NautilusStateValue, SafetyValue, get_json, put_json,
    write_safety,
};
use dolphin_store::{EmbeddedMemory, StoreError, SystemMemory};
use nautilus_common::actor::DataActor;
use nautilus_core::UnixNanos;
use nautilus_model::data::{Bar, BarType};
use nautilus_model::types::{Price, Quantity};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: usize = 720;

fn days(n: usize) -> Vec<DayFrame> {
    synthetic_days(UtcDate::new(2026, 1, 1).unwrap(), n, ROWS, 16, 7)
}

fn bar_at(ts_ms: i64) -> Bar {
    let p = Price::from("100.0");
    let ts = UnixNanos::from(ts_ms as u64 * 1_000_000);
    Bar::new(
        BarType::from("BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"),
        p,
        p,
        p,
        p,
        Quantity::from("1"),
        ts,
        ts,
    )
}

fn feed(actor: &mut DolphinActor, frame: &DayFrame, rows: std::ops::Range<usize>) {
    for r in rows {
        actor.on_bar(&bar_at(frame.timestamp[r])).unwrap();
    }
}

fn actor_with(frames: &[DayFrame], store: Option<&EmbeddedMemory>) -> DolphinActor {
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    if let Some(m) = store {
        cfg.store = shared_store(Arc::new(m.clone()));
    }
    DolphinActor::new(cfg, Box::new(DayFrames::new(frames.to_vec())))
}

fn set_posture(mem: &EmbeddedMemory, posture: Posture, rm: f64) {
    let old = dolphin_store::schema::read_safety(mem).unwrap();
    let new = SafetyValue {
        posture,
        rm,
        extra: Extra::new(),
    };
    assert!(write_safety(mem, old.as_ref(), &new).unwrap());
}

#[test]
fn instantiate_then_start_builds_engine_and_connects_store() {
    let frames = days(1);
    let mut a = actor_with(&frames, None);
    assert!(
        a.engine().is_none(),
        "the engine is created at on_start (S §5.1)"
    );
    assert!(!a.has_store());
    assert_eq!(a.posture(), Posture::Apex);
    a.on_start().unwrap();
    assert!(a.has_store(), "embedded store by default");
    let e = a.engine().unwrap();
    assert_eq!(e.capital(), 25_000.0);
    assert_eq!(e.current_date(), None);
}

#[test]
fn on_bar_feeds_one_row_per_bar_and_date_change_ends_the_day() {
    let frames = days(2);
    let mut a = actor_with(&frames, None);
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..10);
    assert_eq!(a.bar_idx_today(), 10);
    assert_eq!(a.engine().unwrap().bar_count(), 10);
    assert_eq!(a.engine().unwrap().current_date(), Some(frames[0].date));
    feed(&mut a, &frames[0], 10..ROWS);
    // The first bar of the next date ends day 1 and begins day 2 (S §5.3 ②).
    feed(&mut a, &frames[1], 0..1);
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.days.len(), 1);
    assert_eq!(log.days[0].date, frames[0].date);
    assert_eq!(log.days[0].bars, ROWS as u64);
    assert_eq!(log.bars, ROWS as u64 + 1);
    assert_eq!(log.asset_bars, 16 * (ROWS as u64 + 1));
    assert_eq!(log.ts_mismatches, 0);
    assert_eq!(a.engine().unwrap().current_date(), Some(frames[1].date));
    assert!(a.processed_dates().contains(&frames[0].date));
}

#[test]
fn once_per_date_guard_counts_begin_day_per_date() {
    // B §17.2: three bars on one date → one day begun; a bar on the next date → two.
    let frames = days(2);
    let mut a = actor_with(&frames, None);
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..3);
    assert_eq!(a.log().borrow().days_begun, 1);
    feed(&mut a, &frames[1], 0..1);
    assert_eq!(a.log().borrow().days_begun, 2);
    // A late bar of the processed first date is dropped, and does not begin it again.
    feed(&mut a, &frames[0], 3..4);
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.days_begun, 2);
    assert_eq!(log.bars_dropped_processed, 1);
    assert_eq!(log.bars, 4);
}

#[test]
fn bars_past_the_end_of_a_day_file_are_ignored() {
    let frames = days(1);
    let short = {
        let mut f = frames[0].clone();
        let keep = 5;
        let n = f.n_assets();
        f.timestamp.truncate(keep);
        f.scan_number.truncate(keep);
        for v in [
            &mut f.vel_div,
            &mut f.v50_vel,
            &mut f.v150_vel,
            &mut f.v300_vel,
            &mut f.v750_vel,
            &mut f.instability_50,
            &mut f.instability_150,
        ] {
            v.truncate(keep);
        }
        f.prices.truncate(keep * n);
        f
    };
    let mut a = actor_with(std::slice::from_ref(&short), None);
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..8);
    let log = a.log();
    assert_eq!(log.borrow().bars, 5);
    assert_eq!(log.borrow().bars_received, 8);
}

#[test]
fn missing_day_file_steps_nothing_for_that_date() {
    let frames = days(2);
    let mut a = actor_with(&frames[1..], None);
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..5);
    feed(&mut a, &frames[1], 0..5);
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.missing_days, vec![frames[0].date]);
    assert_eq!(log.bars, 5);
    assert_eq!(log.days_begun, 1);
}

/// Feeds day 1 until the engine holds a position; returns the row after it.
fn until_position(a: &mut DolphinActor, frame: &DayFrame) -> usize {
    for r in 0..frame.len() {
        feed(a, frame, r..r + 1);
        if a.engine().unwrap().position().is_some() {
            return r + 1;
        }
    }
    panic!("no entry on {}", frame.date);
}

#[test]
fn hibernate_force_closes_then_takes_no_entries() {
    // SPEC D5: force-close the open position (HIBERNATE_HALT), then no entries.
    let frames = days(4);
    let day = {
        let mut probe = actor_with(&frames, None);
        probe.on_start().unwrap();
        for f in &frames {
            feed(&mut probe, f, 0..f.len());
        }
        let first = probe.engine().unwrap().trade_history()[0].date;
        frames.iter().position(|f| f.date == first).unwrap()
    };
    assert!(day + 1 < frames.len(), "first entry on day {day}");
    let mem = EmbeddedMemory::new();
    let mut a = actor_with(&frames, Some(&mem));
    a.on_start().unwrap();
    for g in &frames[..day] {
        feed(&mut a, g, 0..g.len());
    }
    until_position(&mut a, &frames[day]);
    let trades_before = a.engine().unwrap().trade_history().len();
    set_posture(&mem, Posture::Hibernate, 0.3);
    let next = &frames[day + 1];
    feed(&mut a, next, 0..1);
    assert_eq!(
        a.posture(),
        Posture::Hibernate,
        "posture re-read at the date change"
    );
    let e = a.engine().unwrap();
    assert!(e.position().is_none());
    let last = e.trade_history().last().unwrap();
    assert_eq!(last.reason, ExitReason::HibernateHalt);
    assert_eq!(
        last.exit_bar,
        e.global_bar_idx() - 1,
        "closed on the day's first bar"
    );
    assert_eq!(e.trade_history().len(), trades_before + 1);
    feed(&mut a, next, 1..next.len());
    let e = a.engine().unwrap();
    assert!(e.position().is_none(), "no entries under HIBERNATE");
    assert_eq!(e.trade_history().len(), trades_before + 1);
    assert_eq!(a.log().borrow().days.last().unwrap().posture, Posture::Apex);
}

#[test]
fn acb_listener_never_calls_the_engine_value_applies_on_next_bar() {
    // B §17.1: the listener only parks the value; the engine sees it on the next bar.
    let frames = days(1);
    let mem = EmbeddedMemory::new();
    let mut a = actor_with(&frames, Some(&mem));
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..3);
    assert_eq!(a.engine().unwrap().day_base_boost(), 1.0);
    put_json(
        &mem,
        DOLPHIN_FEATURES,
        KEY_ACB_BOOST,
        &AcbBoostValue {
            boost: 1.35,
            beta: 0.8,
            extra: Extra::new(),
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.pending_acb().peek().is_none() {
        assert!(Instant::now() < deadline, "listener did not deliver");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(a.pending_acb().peek().unwrap().boost, 1.35);
    // Delivered on the store's thread, yet the engine is untouched.
    let e = a.engine().unwrap();
    assert_eq!((e.day_base_boost(), e.day_beta()), (1.0, 0.0));
    assert_eq!(a.log().borrow().acb_applied, 0);
    feed(&mut a, &frames[0], 3..4);
    let e = a.engine().unwrap();
    assert_eq!((e.day_base_boost(), e.day_beta()), (1.35, 0.8));
    assert!(a.pending_acb().peek().is_none());
    assert_eq!(a.log().borrow().acb_applied, 1);
    // Other keys of the map are not ACB updates.
    mem.put(DOLPHIN_FEATURES, "latest_eigen_scan", "{}")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(a.pending_acb().peek().is_none());
}

#[test]
fn store_unavailable_is_not_fatal() {
    let frames = days(2);
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    cfg.store = Arc::new(|| {
        Err(StoreError::Backend {
            backend: "redis",
            op: "connect",
            map: String::new(),
            reason: "connection refused (127.0.0.1:1)".into(),
        })
    });
    let mut a = DolphinActor::new(cfg, Box::new(DayFrames::new(frames.clone())));
    a.on_start().unwrap();
    assert!(!a.has_store());
    assert_eq!(a.posture(), Posture::Apex);
    feed(&mut a, &frames[0], 0..ROWS);
    feed(&mut a, &frames[1], 0..1);
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.days.len(), 1);
    assert_eq!(log.store_errors.len(), 1);
    assert!(
        log.store_errors[0].contains("connection refused"),
        "{:?}",
        log.store_errors
    );
}

#[test]
fn on_stop_ends_the_open_day_and_clears_state() {
    let frames = days(2);
    let mem = EmbeddedMemory::new();
    let mut a = actor_with(&frames, Some(&mem));
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..ROWS);
    feed(&mut a, &frames[1], 0..100);
    assert_eq!(a.processed_dates().len(), 1);
    a.on_stop().unwrap();
    assert!(a.processed_dates().is_empty());
    assert_eq!(a.stale_state_events(), 0);
    assert!(!a.has_store());
    assert_eq!(a.current_date(), None);
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.days.len(), 2, "the open day's result is kept");
    assert_eq!(log.days[1].bars, 100);
    assert_eq!(log.trades, a.engine().unwrap().trade_history());
    // Both results reached DOLPHIN_PNL_BLUE (B §14.5).
    for d in &log.days {
        let v: DailyResultValue = get_json(&mem, DOLPHIN_PNL_BLUE, &d.date.to_string())
            .unwrap()
            .unwrap();
        assert_eq!(v.capital, d.capital);
        assert_eq!(v.trades, u64::from(d.trades));
        assert_eq!(v.mc_status, "OK");
        assert_eq!(v.stale_state, None);
    }
}

#[test]
fn posture_change_within_a_bar_is_a_stale_state_event() {
    // S §5.3 ⑧: the posture re-read after step_bar differs from the day's → stale.
    let frames = days(2);
    let mem = EmbeddedMemory::new();
    let mut a = actor_with(&frames, Some(&mem));
    a.on_start().unwrap();
    feed(&mut a, &frames[0], 0..ROWS);
    feed(&mut a, &frames[1], 0..10);
    assert_eq!(a.stale_state_events(), 0);
    set_posture(&mem, Posture::Stalker, 0.8);
    feed(&mut a, &frames[1], 10..13);
    assert_eq!(
        a.stale_state_events(),
        3,
        "every bar decided under the old posture"
    );
    assert_eq!(
        a.posture(),
        Posture::Apex,
        "the day keeps its posture until the next date"
    );
    a.on_stop().unwrap();
    let day0: DailyResultValue = get_json(&mem, DOLPHIN_PNL_BLUE, &frames[0].date.to_string())
        .unwrap()
        .unwrap();
    let day1: DailyResultValue = get_json(&mem, DOLPHIN_PNL_BLUE, &frames[1].date.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(day0.stale_state, None);
    assert_eq!(day1.stale_state, Some(true));
    assert_eq!(a.log().borrow().stale_state_events, 3);
}

#[test]
fn capital_persists_across_days_and_across_runs() {
    let frames = days(4);
    let mem = EmbeddedMemory::new();
    let mut a = actor_with(&frames[..3], Some(&mem));
    a.on_start().unwrap();
    for f in &frames[..3] {
        feed(&mut a, f, 0..f.len());
    }
    a.on_stop().unwrap();
    let log = a.log();
    let log = log.borrow();
    assert_eq!(log.days.len(), 3);
    for w in log.days.windows(2) {
        assert_eq!(
            w[1].start_capital, w[0].capital,
            "capital carries over the day boundary"
        );
    }
    let end = log.days[2].capital;
    assert!(!log.trades.is_empty(), "the generated days trade");
    assert_ne!(end, 25_000.0);
    let state: NautilusStateValue = get_json(&mem, DOLPHIN_STATE_BLUE, KEY_LATEST_NAUTILUS)
        .unwrap()
        .unwrap();
    assert_eq!(state.capital, end);
    assert_eq!(
        state.param_hash,
        dolphin_engine::champion::champion_hash(&EngineConfig::champion())
    );
    assert_eq!(state.extra["date"], frames[2].date.to_string());

    // A second run restores it (S §17 capital continuity) …
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    cfg.store = shared_store(Arc::new(mem.clone()));
    cfg.restore_capital = true;
    let mut b = DolphinActor::new(cfg.clone(), Box::new(DayFrames::new(frames[3..].to_vec())));
    b.on_start().unwrap();
    assert_eq!(b.engine().unwrap().capital(), end);
    feed(&mut b, &frames[3], 0..1);
    b.on_stop().unwrap();
    assert_eq!(b.log().borrow().days[0].start_capital, end);

    // … but not into a config with other parameters.
    let mut other = cfg;
    other.engine.fraction = 0.1;
    let mut c = DolphinActor::new(other, Box::new(DayFrames::new(Vec::new())));
    c.on_start().unwrap();
    assert_eq!(c.engine().unwrap().capital(), 25_000.0);
    assert!(c.log().borrow().store_errors[0].contains("param_hash"));
}

#[test]
fn restore_capital_without_a_saved_state_starts_from_initial_capital() {
    let mem = EmbeddedMemory::new();
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    cfg.store = shared_store(Arc::new(mem));
    cfg.restore_capital = true;
    let mut a = DolphinActor::new(cfg, Box::new(DayFrames::new(Vec::new())));
    a.on_start().unwrap();
    assert_eq!(a.engine().unwrap().capital(), 25_000.0);
    assert!(a.log().borrow().store_errors.is_empty());
}

struct FixedAcb;
impl dolphin_engine::AcbProvider for FixedAcb {
    fn day(
        &self,
        _: UtcDate,
        _: Option<&dyn dolphin_engine::ObProvider>,
    ) -> dolphin_engine::AcbDay {
        dolphin_engine::AcbDay {
            boost: 1.3,
            beta: 0.8,
        }
    }
}

#[test]
fn a_restarted_actor_gets_its_providers_back() {
    // The providers value is installed at every on_start (issue 16): the ACB and the posture
    // source act on the days after a stop/start exactly as before it.
    let frames = days(2);
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    cfg.providers = dolphin_runtime::Providers::none()
        .with_acb(FixedAcb)
        .with_posture(|_: UtcDate| dolphin_engine::DayContext {
            posture: Posture::Stalker,
            rm: 0.5,
        });
    let mut a = DolphinActor::new(cfg, Box::new(DayFrames::new(frames.to_vec())));
    for (start, frame) in frames.iter().enumerate() {
        a.on_start().unwrap();
        assert!(a.engine().is_some(), "start {start} builds an engine");
        feed(&mut a, frame, 0..10);
        let e = a.engine().unwrap();
        assert_eq!(
            (e.day_base_boost(), e.day_beta()),
            (1.3, 0.8),
            "start {start}"
        );
        assert_eq!(e.posture(), Some(Posture::Stalker));
        assert_eq!(e.abs_max_leverage_eff(), 3.0, "max(1, 6 × Rm 0.5)");
        a.on_stop().unwrap();
    }
    let log = a.log();
    let days = &log.borrow().days;
    assert_eq!(days.len(), 2);
    assert!(
        days.iter()
            .all(|d| d.boost == 1.3 && d.posture == Posture::Stalker)
    );
}
