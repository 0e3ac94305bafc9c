//! Tests on the shared Binance captures (data/README.md "depth/"): the SPEC §7 bookTicker
//! check over both whole files, gap detection, the feature table and both providers.
//! Each test prints a note and returns when the shared data are absent.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use dolphin_core::Direction;
use dolphin_engine::ObProvider;
use dolphin_orderbook::capture::open_capture;
use dolphin_orderbook::provider::DEFAULT_STALENESS_MS;
use dolphin_orderbook::{
    BookHealth, FeatureConfig, FeatureRow, FeatureTable, LiveObProvider, MarketMultiplier, Message,
    ObStream, ReplayObProvider, capture_to_features, parse_capture_line,
};

fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/depth/"
    ))
    .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} not found; skipping", p.display());
        None
    }
}

fn lines(p: &Path) -> Vec<String> {
    open_capture(p)
        .unwrap()
        .lines()
        .map(|l| l.unwrap())
        .collect()
}

fn run(lines: &[String]) -> (Vec<FeatureRow>, BookHealth, ObStream) {
    let mut s = ObStream::default();
    let mut rows = Vec::new();
    for l in lines {
        s.push_capture_line(l, &mut rows).unwrap();
    }
    let h = s.health();
    (rows, h, s)
}

#[test]
fn ticker_check_whole_captures() {
    for (name, depth_updates) in [("btcusdt_20240808.gz", 6551), ("ethusdt_20240808.gz", 6586)] {
        let Some(p) = capture(name) else { return };
        let (_, h) = capture_to_features(&p).unwrap();
        println!("{name}: {h:?}");
        assert_eq!(
            h.messages,
            [93954, 74655][usize::from(name.starts_with("eth"))]
        );
        assert_eq!(h.gaps, 0, "{name}");
        assert_eq!(h.resyncs, 0, "{name}");
        assert_eq!(h.ticker_mismatches, 0, "{name}");
        assert_eq!(h.ticker_no_reference, 0, "{name}");
        // Every applied diff is checked except the tail still waiting for a later ticker.
        assert_eq!(h.ticker_checked + h.ticker_pending, h.applied_diffs);
        assert!(h.ticker_pending <= 2, "{name}: {}", h.ticker_pending);
        assert_eq!(h.ticker_matched, h.ticker_checked);
        assert!(h.ticker_checked > 6_400, "{name}: {}", h.ticker_checked);
        // Every depth update is either applied, dropped as older than the snapshot, or (before
        // the snapshot) buffered and then dropped or applied.
        assert_eq!(h.applied_diffs + h.dropped_diffs, depth_updates);
        // Stale only until the first snapshot (~0.2–1.5 s after the first message).
        assert!(
            h.stale_seconds > 0.0 && h.stale_seconds < 2.0,
            "{}",
            h.stale_seconds
        );
    }
}

#[test]
fn dropped_diff_is_a_gap() {
    let Some(p) = capture("btcusdt_20240808.gz") else {
        return;
    };
    let mut all = lines(&p);
    // Remove the 500th depth update after the snapshot line.
    let snap_idx = all.iter().position(|l| l.contains("lastUpdateId")).unwrap();
    let victim = all
        .iter()
        .enumerate()
        .skip(snap_idx)
        .filter(|(_, l)| l.contains("depthUpdate"))
        .nth(500)
        .map(|(i, _)| i)
        .unwrap();
    all.remove(victim);
    let (_, h, s) = run(&all);
    println!("with a dropped diff: {h:?}");
    assert_eq!(h.gaps, 1);
    assert_eq!(
        h.ticker_mismatches, 0,
        "a broken book must never be checked"
    );
    let st = s.symbol("BTCUSDT").unwrap();
    assert!(st.book.needs_snapshot());
    assert_eq!(s.symbols_needing_snapshot(), vec!["BTCUSDT".to_string()]);
    // The book was stale from the gap to the end of the capture.
    assert!(h.stale_seconds > 60.0, "{}", h.stale_seconds);
}

#[test]
fn gap_then_new_snapshot_resyncs() {
    let Some(p) = capture("ethusdt_20240808.gz") else {
        return;
    };
    let all = lines(&p);
    let snap_line = all.iter().find(|l| l.contains("lastUpdateId")).unwrap();
    let Message::Snapshot(first_snap) = parse_capture_line(snap_line).unwrap().1 else {
        panic!()
    };
    let mut s = ObStream::default();
    let mut rows = Vec::new();
    let mut depth_seen = 0;
    let mut resent = false;
    let mut dropped_u = 0;
    for l in &all {
        let (_, m) = parse_capture_line(l).unwrap();
        if let Message::Depth { update, .. } = &m {
            depth_seen += 1;
            if depth_seen == 1000 {
                dropped_u = update.final_update_id;
                continue; // lost diff
            }
        }
        s.push_message(m, None, &mut rows);
        if dropped_u > 0 && !resent && s.symbol("ETHUSDT").unwrap().book.needs_snapshot() {
            // A "fresh" snapshot: rebuild one from the stream is impossible here, so replay the
            // original snapshot: it is older than the buffered diffs, which must be a gap again.
            s.push_message(Message::Snapshot(first_snap.clone()), None, &mut rows);
            resent = true;
        }
    }
    let h = s.health();
    assert!(resent);
    assert_eq!(h.gaps, 2, "{h:?}");
    assert_eq!(h.resyncs, 1);
    assert_eq!(h.ticker_mismatches, 0);
}

fn check_rows(rows: &[FeatureRow], n_assets: u32) {
    let mut last = i64::MIN;
    for r in rows {
        assert_eq!(r.sample_ms % 500, 0);
        assert!(r.sample_ms >= last);
        last = r.sample_ms;
        let f = &r.features;
        assert!(f.mid_price > 1000.0);
        assert!((-1.0..=1.0).contains(&f.imbalance));
        assert!((-1.0..=1.0).contains(&f.imbalance_ma5));
        assert!(f.imbalance_persistence > 0.0 && f.imbalance_persistence <= 1.0);
        assert!(f.withdrawal_velocity.is_finite() && f.withdrawal_velocity > -1.0);
        assert!(f.depth_quality > 0.0 && f.depth_quality.is_finite());
        assert!((0.0..=1.0).contains(&f.fill_probability));
        assert!(f.spread_proxy_bps > 0.0 && f.spread_proxy_bps < 5.0);
        for k in 1..5 {
            assert!(f.bid_notional[k] >= f.bid_notional[k - 1]);
            assert!(f.ask_notional[k] >= f.ask_notional[k - 1]);
            assert!(f.bid_depth[k] >= f.bid_depth[k - 1]);
        }
        assert_eq!(f.depth_1pct, f.bid_notional[0] + f.ask_notional[0]);
        let m = &r.market;
        assert!(m.n_assets >= 1 && m.n_assets <= n_assets);
        assert!(m.cascade_count <= m.n_assets);
        assert!((-1..=1).contains(&m.regime_signal));
        assert!((0.0..=1.0).contains(&m.agreement_pct));
        assert!((-1.0..=1.0).contains(&m.macro_imbalance));
    }
}

#[test]
fn features_on_real_captures_and_parquet_replay() {
    let Some(p) = capture("btcusdt_20240808.gz") else {
        return;
    };
    let (table, h) = capture_to_features(&p).unwrap();
    // ~345 s of data at 500 ms, minus the time before the snapshot.
    println!("BTC rows: {}, health {h:?}", table.rows.len());
    assert!(table.rows.len() > 650 && table.rows.len() < 700);
    check_rows(&table.rows, 1);
    // BTC at 61.8k with a 0.1 tick: the spread is mostly one tick = 0.016 bps.
    let one_tick = table
        .rows
        .iter()
        .filter(|r| r.features.spread_proxy_bps < 0.02)
        .count();
    assert!(one_tick * 10 > table.rows.len() * 9);
    // With one asset the macro imbalance is the asset's imbalance and agreement is 1 (or 0).
    for r in &table.rows {
        assert!((r.market.macro_imbalance - r.features.imbalance).abs() < 1e-12);
    }
    // imbalance_ma5 is the mean of the last five imbalances (consecutive samples).
    for w in table.rows.windows(5) {
        if w[4].sample_ms - w[0].sample_ms == 2000 {
            let mean = w.iter().map(|r| r.features.imbalance).sum::<f64>() / 5.0;
            assert!((w[4].features.imbalance_ma5 - mean).abs() < 1e-12);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("btc.parquet");
    table.write_parquet(&out).unwrap();
    let back = FeatureTable::read_parquet(&out).unwrap();
    assert_eq!(back.rows.len(), table.rows.len());
    let replay = ReplayObProvider::from_parquet(&out).unwrap();
    for r in table.rows.iter().step_by(37) {
        let s = replay.signal("BTCUSDT", r.sample_ms + 499).unwrap();
        assert_eq!(s.imbalance_ma5, r.features.imbalance_ma5);
        assert_eq!(s.withdrawal_velocity, r.features.withdrawal_velocity);
        let pl = replay.placement("BTCUSDT", r.sample_ms).unwrap();
        assert_eq!(pl.depth_quality, r.features.depth_quality);
        let m = replay.macro_state(r.sample_ms).unwrap();
        assert_eq!(m.macro_imbalance, r.market.macro_imbalance);
        let mult = replay.market_multiplier(Direction::Short, r.sample_ms);
        assert!((0.85..=1.20).contains(&mult));
    }
    let last = table.rows.last().unwrap().sample_ms;
    assert!(
        replay
            .signal("BTCUSDT", last + DEFAULT_STALENESS_MS)
            .is_some()
    );
    assert!(
        replay
            .signal("BTCUSDT", last + DEFAULT_STALENESS_MS + 1)
            .is_none()
    );
}

#[test]
fn live_provider_matches_capture_replay() {
    let Some(p) = capture("ethusdt_20240808.gz") else {
        return;
    };
    let (table, _) = capture_to_features(&p).unwrap();
    let live = LiveObProvider::new(
        FeatureConfig::default(),
        DEFAULT_STALENESS_MS,
        3_600_000,
        MarketMultiplier::default(),
    );
    for l in lines(&p) {
        let (_, json) = l.split_once(' ').unwrap();
        live.push_json(json).unwrap();
    }
    assert_eq!(live.health().ticker_mismatches, 0);
    for r in &table.rows {
        let f = live.features("ETHUSDT", r.sample_ms).unwrap();
        assert_eq!(f.imbalance, r.features.imbalance);
        assert_eq!(f.fill_probability, r.features.fill_probability);
        assert_eq!(
            live.signal("ETHUSDT", r.sample_ms)
                .unwrap()
                .imbalance_persistence,
            r.features.imbalance_persistence
        );
    }
}

#[test]
fn two_asset_market_features() {
    let (Some(b), Some(e)) = (
        capture("btcusdt_20240808.gz"),
        capture("ethusdt_20240808.gz"),
    ) else {
        return;
    };
    // Merge both captures by local receive time; snapshots carry no symbol, so tag them.
    let mut merged: Vec<(i64, &'static str, String)> = Vec::new();
    for (p, sym) in [(b, "BTCUSDT"), (e, "ETHUSDT")] {
        for l in lines(&p) {
            let ts: i64 = l.split_once(' ').unwrap().0.parse().unwrap();
            merged.push((ts, sym, l));
        }
    }
    merged.sort_by_key(|(ts, _, _)| *ts);
    let mut s = ObStream::default();
    let mut rows = Vec::new();
    for (_, sym, l) in &merged {
        let (_, m) = parse_capture_line(l).unwrap();
        s.push_message(m, Some(sym), &mut rows);
    }
    let h = s.health();
    println!("merged: {h:?}");
    assert_eq!((h.gaps, h.ticker_mismatches), (0, 0));
    assert!(h.ticker_checked > 12_900);
    check_rows(&rows, 2);
    let both: Vec<_> = rows.iter().filter(|r| r.market.n_assets == 2).collect();
    assert!(both.len() > 1300);
    // Recompute the macro imbalance of each two-asset sample from its rows.
    for pair in rows
        .chunks(2)
        .filter(|c| c.len() == 2 && c[0].sample_ms == c[1].sample_ms)
    {
        let net: f64 = pair
            .iter()
            .map(|r| r.features.bid_notional[0] - r.features.ask_notional[0])
            .sum();
        let tot: f64 = pair.iter().map(|r| r.features.depth_1pct).sum();
        assert!((pair[0].market.macro_imbalance - net / tot).abs() < 1e-12);
        let agree = pair
            .iter()
            .filter(|r| r.features.imbalance.signum() == (net / tot).signum())
            .count() as f64
            / 2.0;
        assert_eq!(pair[0].market.agreement_pct, agree);
    }
    let regimes: Vec<i8> = rows.iter().map(|r| r.market.regime_signal).collect();
    println!(
        "regime counts: calm {} neutral {} stress {}; cascades {}",
        regimes.iter().filter(|&&x| x == -1).count(),
        regimes.iter().filter(|&&x| x == 0).count(),
        regimes.iter().filter(|&&x| x == 1).count(),
        rows.iter().filter(|r| r.market.cascade_count > 0).count()
    );
}

/// On every line of both captures the three parser paths agree: the fast path result equals
/// serde_json's (SPEC §7 parser; `canonical` / `scan` fast paths).
#[test]
fn fast_parser_equals_serde_on_every_capture_line() {
    use dolphin_orderbook::{parse_message, parse_message_serde};
    for name in ["btcusdt_20240808.gz", "ethusdt_20240808.gz"] {
        let Some(p) = capture(name) else { return };
        let ls = lines(&p);
        for (i, l) in ls.iter().enumerate() {
            let (_, json) = l.split_once(' ').unwrap();
            assert_eq!(
                parse_message(json).unwrap(),
                parse_message_serde(json).unwrap(),
                "{name}:{}",
                i + 1
            );
        }
    }
}

/// The dense book with a tiny window (constant overflow traffic and re-basing) holds exactly
/// the same levels as the default window after every diff of both captures.
#[test]
fn tiny_window_book_equals_default_book_on_captures() {
    use dolphin_orderbook::{DiffOutcome, LocalBook};
    for name in ["btcusdt_20240808.gz", "ethusdt_20240808.gz"] {
        let Some(p) = capture(name) else { return };
        let ls = lines(&p);
        let mut big = LocalBook::new();
        let mut tiny = LocalBook::with_window(16);
        let mut compared = 0;
        for l in &ls {
            match parse_capture_line(l).unwrap().1 {
                Message::Depth { update, .. } => {
                    let a = big.apply_diff(update.clone());
                    assert_eq!(a, tiny.apply_diff(update));
                    if a == DiffOutcome::Applied {
                        assert!(big.bids().eq(tiny.bids()), "{name}");
                        assert!(big.asks().eq(tiny.asks()), "{name}");
                        compared += 1;
                    }
                }
                Message::Snapshot(s) => {
                    assert_eq!(big.apply_snapshot(&s), tiny.apply_snapshot(&s));
                }
                _ => {}
            }
        }
        assert!(compared > 6_400, "{name}: {compared}");
        assert_eq!(big.level_counts(), tiny.level_counts());
    }
}

/// `replay_captures` on both captures: the merged replay is healthy, and its 1-second trade
/// bars written as kline CSVs equal the shipped data/sample/ob/klines-1s byte for byte.
#[test]
fn merged_replay_trade_bars_equal_shipped_klines() {
    use dolphin_orderbook::{replay_captures, write_kline_csvs};
    let (Some(b), Some(e)) = (
        capture("btcusdt_20240808.gz"),
        capture("ethusdt_20240808.gz"),
    ) else {
        return;
    };
    let r = replay_captures(&[b, e], &FeatureConfig::default(), 1_000).unwrap();
    assert_eq!(r.health.messages, 93_954 + 74_655);
    assert_eq!((r.health.gaps, r.health.ticker_mismatches), (0, 0));
    check_rows(&r.table.rows, 2);
    let bars = r.trade_bars.bars().unwrap();
    assert_eq!(bars["BTCUSDT"].len(), 344);
    assert_eq!(bars["ETHUSDT"].len(), 345);
    // Every bar's volume is the sum of its trades; 21 313 BTC trades in all.
    assert_eq!(bars["BTCUSDT"].iter().map(|b| b.count).sum::<u64>(), 21_313);
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/ob/klines-1s"
    ));
    for p in write_kline_csvs(dir.path(), "1s", &bars).unwrap() {
        let name = p.file_name().unwrap();
        assert!(
            std::fs::read(&p).unwrap() == std::fs::read(shipped.join(name)).unwrap(),
            "{name:?} differs from the shipped file"
        );
    }
}
