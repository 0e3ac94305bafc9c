//! Live mode (S §5.3 ④ `live_mode=True`, §9.1) and the paper node (issue 7 item 4):
//! - klines → ScannerActor → store → DolphinActor (live) trades exactly as the replay of the
//!   day files `dolphin scan` makes from the same klines (real shipped klines);
//! - duplicate, stale and missing scans;
//! - the LiveNode with the Binance data client builds and validates without a network.

use dolphin_core::{DayFrame, UtcDate, date_of_ms};
use dolphin_data::klines::split_by_utc_date;
use dolphin_data::load_kline_dir;
use dolphin_engine::EngineConfig;
use dolphin_nautilus::scan_publisher::scan_value;
use dolphin_nautilus::{
    ActorMode, DayFrames, DolphinActor, DolphinActorConfig, PaperOptions, ScanPublisher,
    ScannerActor, build_paper_node, shared_store,
};
use dolphin_runtime::SystemConfig;
use dolphin_scanner::{ScanRow, Scanner, ScannerConfig};
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, to_json};
use dolphin_store::{EmbeddedMemory, SystemMemory};
use nautilus_common::actor::DataActor;
use nautilus_core::UnixNanos;
use nautilus_model::data::{Bar, BarType};
use nautilus_model::types::{Price, Quantity};
use std::path::PathBuf;
use std::sync::Arc;

const MINUTE: i64 = 60_000;

fn kline_bar(asset: &str, close_ms: i64, price: f64) -> Bar {
    let p = Price::new(price, 6);
    let ts = UnixNanos::from(close_ms as u64 * 1_000_000);
    Bar::new(
        BarType::from(format!("{asset}-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL").as_str()),
        p,
        p,
        p,
        p,
        Quantity::from("1"),
        ts,
        ts,
    )
}

fn live_actor(store: &EmbeddedMemory, assets: Vec<String>) -> DolphinActor {
    let mut cfg = DolphinActorConfig::new(EngineConfig::champion());
    cfg.store = shared_store(Arc::new(store.clone()));
    cfg.mode = ActorMode::Live { assets };
    DolphinActor::new(cfg, Box::new(DayFrames::new(std::iter::empty())))
}

fn put_scan(store: &EmbeddedMemory, value: &dolphin_store::schema::EigenScanValue) {
    let json = to_json(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, value).unwrap();
    store
        .put(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &json)
        .unwrap();
}

fn sample_klines() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/klines-1m"
    ))
}

/// The shipped klines of 2025-05-05 and 05-06 through the whole live path give the same
/// trades and days as the replay of the day files made from them.
#[test]
fn live_pipeline_on_real_klines_equals_the_replay() {
    let panel = load_kline_dir(&sample_klines(), None, None).unwrap();
    let days: Vec<_> = split_by_utc_date(&panel)
        .into_iter()
        .skip(1)
        .take(2)
        .collect();
    assert_eq!(days[0].0, UtcDate::new(2025, 5, 5).unwrap());
    // The assets quoted on every row of these days (ADAUSDT starts on 05-09).
    let all_rows = days[0].1.start..days[1].1.end;
    let cols: Vec<usize> = (0..panel.symbols.len())
        .filter(|&c| {
            all_rows
                .clone()
                .all(|r| dolphin_core::is_valid_price(panel.row(r)[c]))
        })
        .collect();
    assert_eq!(cols.len(), 15);
    let assets: Vec<String> = cols.iter().map(|&c| panel.symbols[c].clone()).collect();
    let n = assets.len();
    let closes_of = |r: usize| -> Vec<f64> { cols.iter().map(|&c| panel.row(r)[c]).collect() };

    // Replay side: day frames exactly as `dolphin scan` writes them.
    let mut scanner = Scanner::new(n, ScannerConfig::default()).unwrap();
    let mut frames = Vec::new();
    for (date, range) in &days {
        let mut f = DayFrame::empty(*date, assets.clone());
        for r in range.clone() {
            let closes = closes_of(r);
            let row: ScanRow = scanner.push(&closes);
            row.append_to(&mut f, panel.open_time[r], r as i64, &closes);
        }
        frames.push(f);
    }
    let mut replay = DolphinActor::new(
        DolphinActorConfig::new(EngineConfig::champion()),
        Box::new(DayFrames::new(frames.clone())),
    );
    replay.on_start().unwrap();
    for f in &frames {
        for &ts in &f.timestamp {
            replay.on_bar(&kline_bar("BTCUSDT", ts, 1.0)).unwrap();
        }
    }
    replay.on_stop().unwrap();

    // Live side: one kline bar per asset (stamped at its close), the scanner actor publishing
    // to the store, the driver bar after the row's bars.
    let store = EmbeddedMemory::new();
    let publisher = ScanPublisher::new(assets.clone(), ScannerConfig::default(), MINUTE).unwrap();
    let mut scan_actor =
        ScannerActor::new(publisher, vec![], shared_store(Arc::new(store.clone())));
    scan_actor.on_start().unwrap();
    let mut live = live_actor(&store, assets.clone());
    live.on_start().unwrap();
    let mut rows = 0u64;
    for (_, range) in &days {
        for r in range.clone() {
            let close_ms = panel.open_time[r] + MINUTE;
            // Arrival order: reverse column order, the driver's bar in the middle.
            for (a, p) in assets.iter().zip(closes_of(r)).rev() {
                scan_actor.handle_bar(&kline_bar(a, close_ms, p));
            }
            rows += 1;
            assert_eq!(scan_actor.stats().scans, rows, "row {r} complete");
            live.on_bar(&kline_bar("BTCUSDT", close_ms, 1.0)).unwrap();
        }
    }
    live.on_stop().unwrap();

    let (r, l) = (replay.log(), live.log());
    let (r, l) = (r.borrow(), l.borrow());
    assert!(r.trades.len() >= 3, "the sample days trade");
    assert_eq!(l.bars, r.bars);
    assert_eq!(l.trades, r.trades);
    assert_eq!(l.days, r.days);
    assert_eq!(
        (
            l.scans_missing,
            l.scans_duplicate,
            l.scans_stale,
            l.scans_skipped
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(
        l.days.iter().map(|d| d.date).collect::<Vec<_>>(),
        vec![days[0].0, days[1].0]
    );
}

#[test]
fn duplicate_stale_and_missing_scans() {
    let store = EmbeddedMemory::new();
    let assets = vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()];
    let mut a = live_actor(&store, assets.clone());
    a.on_start().unwrap();
    let t0 = 1_746_316_800_000; // 2025-05-04 00:00 UTC
    // No scan yet: nothing is stepped.
    a.on_bar(&kline_bar("BTCUSDT", t0 + MINUTE, 1.0)).unwrap();
    assert_eq!(a.log().borrow().scans_missing, 1);
    assert_eq!(a.engine().unwrap().bar_count(), 0);

    let row = ScanRow::NAN;
    put_scan(
        &store,
        &scan_value(&assets, &[96_000.0, 1_800.0], t0, t0 + MINUTE, 0, &row),
    );
    a.on_bar(&kline_bar("BTCUSDT", t0 + MINUTE, 1.0)).unwrap();
    assert_eq!(a.engine().unwrap().bar_count(), 1);
    assert_eq!(a.engine().unwrap().current_date(), Some(date_of_ms(t0)));
    // The same scan again: skipped (S §5.3 ④ dedup).
    a.on_bar(&kline_bar("BTCUSDT", t0 + 2 * MINUTE, 1.0))
        .unwrap();
    assert_eq!(a.log().borrow().scans_duplicate, 1);
    assert_eq!(a.engine().unwrap().bar_count(), 1);
    // A scan made 30 s before the bar: warned about, still stepped.
    put_scan(
        &store,
        &scan_value(
            &assets,
            &[96_100.0, 1_801.0],
            t0 + MINUTE,
            t0 + 2 * MINUTE,
            1,
            &row,
        ),
    );
    a.on_bar(&kline_bar("BTCUSDT", t0 + 2 * MINUTE + 30_000, 1.0))
        .unwrap();
    assert_eq!(a.log().borrow().scans_stale, 1);
    assert_eq!(a.engine().unwrap().bar_count(), 2);
    // A malformed value is recorded and not stepped.
    store
        .put(
            DOLPHIN_FEATURES,
            KEY_LATEST_EIGEN_SCAN,
            r#"{"vel_div":0.1,"scan_number":9,"asset_prices":{}}"#,
        )
        .unwrap();
    a.on_bar(&kline_bar("BTCUSDT", t0 + 3 * MINUTE, 1.0))
        .unwrap();
    assert_eq!(a.engine().unwrap().bar_count(), 2);
    assert!(
        a.log()
            .borrow()
            .store_errors
            .iter()
            .any(|e| e.contains("`timestamp`")),
        "{:?}",
        a.log().borrow().store_errors
    );
    // Scans 2 and 3 were replaced before a bar read them: scan 4 is stepped, 2 are skipped.
    put_scan(
        &store,
        &scan_value(
            &assets,
            &[96_200.0, 1_802.0],
            t0 + 4 * MINUTE,
            t0 + 5 * MINUTE,
            4,
            &row,
        ),
    );
    a.on_bar(&kline_bar("BTCUSDT", t0 + 5 * MINUTE, 1.0))
        .unwrap();
    assert_eq!(a.engine().unwrap().bar_count(), 3);
    assert_eq!(a.log().borrow().scans_skipped, 2);
}

#[test]
fn scan_of_a_bar_before_midnight_belongs_to_that_day() {
    // The 23:59 bar closes at 00:00 of the next day; its scan row is the old day's last row.
    let store = EmbeddedMemory::new();
    let assets = vec!["BTCUSDT".to_string()];
    let mut a = live_actor(&store, assets.clone());
    a.on_start().unwrap();
    let midnight = 1_746_403_200_000; // 2025-05-05 00:00 UTC
    put_scan(
        &store,
        &scan_value(
            &assets,
            &[96_000.0],
            midnight - MINUTE,
            midnight,
            0,
            &ScanRow::NAN,
        ),
    );
    a.on_bar(&kline_bar("BTCUSDT", midnight, 1.0)).unwrap();
    assert_eq!(
        a.engine().unwrap().current_date(),
        Some(UtcDate::new(2025, 5, 4).unwrap())
    );
}

#[test]
fn paper_node_builds_and_validates_without_a_network() {
    let assets: Vec<String> = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut opts = PaperOptions::new(SystemConfig::blue(), assets);
    opts.log_level = log::LevelFilter::Off;
    let paper = build_paper_node(&opts).unwrap();
    let r = &paper.report;
    assert_eq!(r.data_clients, vec!["BINANCE".to_string()]);
    assert_eq!(r.exec_clients.len(), 1);
    assert!(r.strategies.contains(&"DOLPHIN-001".to_string()));
    assert!(r.actors.contains(&"DOLPHIN-SCANNER-001".to_string()));
    assert_eq!(r.driver, "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL");
    // The champion's 5-second bars (SPEC D1): built in the node from the trade streams.
    assert_eq!(
        r.bar_types,
        vec!["5-SECOND bars built in the node from 3 trade streams".to_string()]
    );
    assert_eq!(
        r.champion_hash,
        "725afdbaa3783b37432d53b53698aab37001f474ec3fdae105a0def766432c08"
    );
    assert!(!paper.node.is_running());

    // 1-minute exchange klines by config: one kline bar type per asset.
    let mut klines = opts.clone();
    klines.system.bar_seconds = 60;
    let k = build_paper_node(&klines).unwrap();
    assert_eq!(
        k.report.bar_types,
        vec![
            "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL".to_string(),
            "ETHUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL".to_string(),
            "SOLUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL".to_string(),
        ]
    );
    assert_eq!(k.report.driver, r.driver);

    // Bad panels are refused with the symbol named.
    let bad = build_paper_node(&PaperOptions::new(
        SystemConfig::blue(),
        vec!["btc-usdt".into()],
    ));
    let e = bad.err().expect("refused").to_string();
    assert!(e.contains("btc-usdt"), "{e}");
}
