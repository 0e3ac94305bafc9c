//! The OB stream service against the local exchange on a free loopback port (issue 12
//! acceptance): shard maps equal `dolphin ob --capture` on the same captures; faults are
//! reported and recovered from; bad wire input is counted, never a panic.
//! Tests print a note and return when the shared captures are absent.

mod common;

use std::time::Duration;

use common::*;
use dolphin_live::{ObFeatureValue, StatusCell, run_ob_stream_with_status};
use dolphin_orderbook::{FeatureConfig, FeatureRow, replay_captures};
use tokio_util::sync::CancellationToken;

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(1.0)
}

/// Field-by-field comparison to 1e-12 (relative above 1); the names of differing fields.
fn diff(r: &FeatureRow, v: &ObFeatureValue) -> Vec<&'static str> {
    let f = &r.features;
    let g = v.features();
    let mut out = Vec::new();
    let pairs: [(&'static str, f64, f64); 13] = [
        ("mid_price", f.mid_price, g.mid_price),
        ("imbalance", f.imbalance, g.imbalance),
        ("imbalance_ma5", f.imbalance_ma5, g.imbalance_ma5),
        (
            "imbalance_persistence",
            f.imbalance_persistence,
            g.imbalance_persistence,
        ),
        (
            "withdrawal_velocity",
            f.withdrawal_velocity,
            g.withdrawal_velocity,
        ),
        ("depth_quality", f.depth_quality, g.depth_quality),
        ("fill_probability", f.fill_probability, g.fill_probability),
        ("spread_proxy_bps", f.spread_proxy_bps, g.spread_proxy_bps),
        ("depth_1pct", f.depth_1pct, g.depth_1pct),
        (
            "depth_median_1pct",
            f.depth_median_1pct,
            g.depth_median_1pct,
        ),
        ("prev_depth_1pct", f.prev_depth_1pct, g.prev_depth_1pct),
        (
            "macro_imbalance",
            r.market.macro_imbalance,
            v.market.macro_imbalance,
        ),
        (
            "macro_depth_quality",
            r.market.macro_depth_quality,
            v.market.macro_depth_quality,
        ),
    ];
    for (n, a, b) in pairs {
        if !close(a, b) {
            out.push(n);
        }
    }
    for k in 0..5 {
        if !close(f.bid_notional[k], g.bid_notional[k]) || !close(f.ask_depth[k], g.ask_depth[k]) {
            out.push("band depth");
        }
    }
    if (
        r.market.cascade_count,
        r.market.regime_signal,
        r.market.n_assets,
    ) != (
        v.market.cascade_count,
        v.market.regime_signal,
        v.market.n_assets,
    ) {
        out.push("market counts");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_maps_equal_ob_capture_at_the_same_timestamps() {
    let Some(dir) = depth_dir() else { return };
    let caps = captures(&dir);
    // What `dolphin ob --capture btc,eth` computes.
    let reference = replay_captures(&caps, &FeatureConfig::default(), 1_000)
        .unwrap()
        .table
        .rows;
    assert!(reference.len() > 1000, "{} reference rows", reference.len());
    // As fast as the exchange can send: the rules run on event time.
    let ex = exchange(&caps, f64::INFINITY, "").await;
    let (mem, seen) = recording_store();
    let status = StatusCell::default();
    let token = CancellationToken::new();
    let task = tokio::spawn(run_ob_stream_with_status(
        recorded_streams(&ex),
        mem.clone(),
        token.clone(),
        status.clone(),
    ));
    let total = ex.shared.timeline.events.len() as u64;
    ex.wait_finished().await;
    wait_messages(&status, total, Duration::from_secs(60)).await;
    settle(&seen).await;
    token.cancel();
    let health = task.await.unwrap().unwrap();
    ex.stop().await;

    // Every frame but the two recorded REST snapshots came over the socket.
    assert_eq!(health.messages, total - 2 + 2, "{health:?}");
    assert_eq!(health.bad_messages, 0);
    assert_eq!((health.gaps, health.reconnects), (0, 0), "{health:?}");
    assert_eq!(health.ticker_mismatches, 0);
    assert!(health.ticker_checked > 13_000, "{health:?}");
    assert_eq!(health.stale_samples, 0, "{health:?}");
    let seen = seen.lock().unwrap();
    let mut missing = 0;
    let mut bad = Vec::new();
    for r in &reference {
        match seen.get(&(r.asset.clone(), r.sample_ms)) {
            None => missing += 1,
            Some(v) => {
                let d = diff(r, v);
                if !d.is_empty() {
                    bad.push((r.asset.clone(), r.sample_ms, d));
                }
            }
        }
    }
    assert_eq!(missing, 0, "rows of ob --capture not in the shard maps");
    assert!(
        bad.is_empty(),
        "{} rows differ, first {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );
    assert_eq!(seen.len(), reference.len(), "extra rows in the shard maps");
    assert_eq!(health.published as usize, reference.len());
    // The latest dict of each symbol is in its shard (BTCUSDT → 07, ETHUSDT → 05).
    let btc: ObFeatureValue = serde_json::from_str(
        &mem.get("DOLPHIN_FEATURES_SHARD_07", "BTCUSDT")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let last_btc = reference
        .iter()
        .rev()
        .find(|r| r.asset == "BTCUSDT")
        .unwrap();
    assert_eq!(btc.ts, last_btc.sample_ms);
    assert!(
        mem.get("DOLPHIN_FEATURES_SHARD_05", "ETHUSDT")
            .unwrap()
            .is_some()
    );
    assert!(mem.get("DOLPHIN_FEATURES", "ob_health").unwrap().is_some());
    assert!(mem.heartbeat_age("ob_stream").unwrap().is_some());
}

/// Faults at fixed event-time offsets (s after the start): a 429 on the first snapshot,
/// a dropped connection at 60, a skipped BTC depth update at 120, a 20 s stall at 180.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_reported_and_recovered_from() {
    let Some(dir) = depth_dir() else { return };
    let caps = captures(&dir);
    let reference = replay_captures(&caps, &FeatureConfig::default(), 1_000)
        .unwrap()
        .table
        .rows;
    let speed = 40.0;
    let ex = exchange(
        &caps,
        speed,
        "rest-429=1,retry-after=1,disconnect@60,gap@120:BTCUSDT,stall@180+20",
    )
    .await;
    let t0 = ex.shared.timeline.events[0].0;
    let (mem, seen) = recording_store();
    let status = StatusCell::default();
    let token = CancellationToken::new();
    let mut cfg = recorded_streams(&ex);
    // The 20 s stall lasts 0.5 s of wall time at 40x: shorter than the silence timeout, so it
    // is seen as a stale stream followed by a gap, not as a dead connection.
    cfg.silence_timeout_ms = 3_000;
    let bound_ms = cfg.backoff_max_ms;
    let task = tokio::spawn(run_ob_stream_with_status(
        cfg,
        mem.clone(),
        token.clone(),
        status.clone(),
    ));
    ex.wait_finished().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle(&seen).await;
    token.cancel();
    let health = task.await.unwrap().unwrap();
    ex.stop().await;
    let st = status.lock().unwrap().clone();

    // REST 429 reported (and honoured: the books synced afterwards).
    assert!(health.rest_errors >= 1, "{health:?}");
    // Disconnect: one reconnect, within the backoff bound.
    assert_eq!(health.reconnects, 1, "{health:?}");
    assert!(
        st.reconnect_waits_ms.iter().all(|w| *w <= bound_ms + 1_000),
        "{st:?}"
    );
    // Gap and stall: each breaks continuity (BTC at 120 s; both symbols after the stall).
    assert!(health.gaps >= 3, "{health:?}");
    // Resyncs: 2 after the reconnect, 1 after the gap, 2 after the stall.
    assert!(health.resyncs >= 5, "{health:?}");
    // Nothing published from a stale book: the samples of the stall were suppressed ...
    assert!(health.stale_samples > 0, "{health:?}");
    let seen = seen.lock().unwrap();
    let stall = (t0 + 180_000, t0 + 200_000);
    let in_stall: Vec<_> = seen
        .keys()
        .filter(|(_, ts)| *ts > stall.0 + 5_000 + 500 && *ts < stall.1)
        .collect();
    assert!(
        in_stall.is_empty(),
        "published during the stall: {in_stall:?}"
    );
    // ... and no book was built across a gap: every applied diff matched bookTicker, and every
    // published top of book equals `ob --capture`'s at the same time.
    assert_eq!(health.ticker_mismatches, 0, "{health:?}");
    let by_key: std::collections::HashMap<_, _> = reference
        .iter()
        .map(|r| ((r.asset.clone(), r.sample_ms), r))
        .collect();
    let mut compared = 0;
    for ((sym, ts), v) in seen.iter() {
        let r = by_key
            .get(&(sym.clone(), *ts))
            .expect("a sample ob --capture also has");
        assert_eq!(v.mid_price, r.features.mid_price, "{sym} {ts}");
        assert_eq!(
            v.spread_proxy_bps, r.features.spread_proxy_bps,
            "{sym} {ts}"
        );
        compared += 1;
    }
    // The service kept publishing after each fault (the end of the data is past them all).
    let last = seen.keys().map(|k| k.1).max().unwrap();
    assert!(last > t0 + 300_000, "last sample {last}");
    assert!(compared > 1000);
    assert!(health.books_synced == 2, "{health:?}");
}

/// Bad wire input on a hand-made stream (the recorded BTC frames with bad frames between):
/// every bad frame is counted by kind and logged with stream and offset; the book and the
/// features carry on; nothing panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_wire_input_is_counted_and_survived() {
    use futures_util::SinkExt;
    use std::io::BufRead;
    use tokio_tungstenite::tungstenite::Message as M;
    let Some(dir) = depth_dir() else { return };
    let btc = dir.join("btcusdt_20240808.gz");
    // REST snapshots come from the exchange (it serves the recorded one).
    let ex = exchange(std::slice::from_ref(&btc), 1.0, "").await;
    let frames: Vec<String> = dolphin_orderbook::capture::open_capture(&btc)
        .unwrap()
        .lines()
        .take(6_000)
        .map(|l| l.unwrap().split_once(' ').unwrap().1.to_string())
        .filter(|j| j.starts_with("{\"stream\""))
        .collect();
    let depth: Vec<String> = frames
        .iter()
        .filter(|f| f.contains("@depth"))
        .cloned()
        .collect();
    let repeat = depth[200].clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        for (i, f) in frames.iter().enumerate() {
            ws.feed(M::Text(f.clone().into())).await.unwrap();
            match i {
                1000 => {
                    let cut = &f[..f.len() / 2];
                    ws.feed(M::Text(cut.to_string().into())).await.unwrap();
                }
                1100 => ws.feed(M::Text("not json".into())).await.unwrap(),
                1200 => ws
                    .feed(M::Text(
                        r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1723161300000,"o":{}}}"#.into(),
                    ))
                    .await
                    .unwrap(),
                1300 => ws
                    .feed(M::Text(
                        depth[150].replace(r#""pu":"#, r#""px":"#).into(),
                    ))
                    .await
                    .unwrap(),
                1400 => ws.feed(M::Binary(vec![1, 2, 3].into())).await.unwrap(),
                // An old update again, long after the book moved on: out of order.
                3000 => ws.feed(M::Text(repeat.clone().into())).await.unwrap(),
                _ => {}
            }
        }
        ws.flush().await.unwrap();
        // Keep the connection open until the client is done.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let (mem, seen) = recording_store();
    let status = StatusCell::default();
    let token = CancellationToken::new();
    let mut cfg = recorded_streams(&ex);
    cfg.ws_url = format!("ws://{addr}");
    cfg.symbols = vec!["BTCUSDT".into()];
    let task = tokio::spawn(run_ob_stream_with_status(
        cfg,
        mem,
        token.clone(),
        status.clone(),
    ));
    let t = std::time::Instant::now();
    while status.lock().unwrap().health.bad_messages < 5 && t.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    token.cancel();
    let health = task.await.unwrap().unwrap();
    server.abort();
    ex.stop().await;
    let st = status.lock().unwrap().clone();
    assert_eq!(health.bad_messages, 5, "{st:?}");
    assert_eq!(st.bad_by_kind.get("malformed"), Some(&2), "{st:?}");
    assert_eq!(st.bad_by_kind.get("unknown_event"), Some(&1));
    assert_eq!(st.bad_by_kind.get("bad_field"), Some(&1));
    assert_eq!(st.bad_by_kind.get("binary"), Some(&1));
    // The repeated update was dropped as older than the book (4 more were dropped at sync).
    assert!(health.dropped_updates >= 5, "{health:?}");
    assert_eq!(
        (health.gaps, health.ticker_mismatches),
        (0, 0),
        "{health:?}"
    );
    assert!(!seen.lock().unwrap().is_empty());
}

/// The documented streams (`depth@100ms` batches, `aggTrade`): books stay in sync and match
/// bookTicker after every batch; features are published; nothing is bad on the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_streams_keep_books_in_sync() {
    let Some(dir) = depth_dir() else { return };
    let caps = captures(&dir);
    let ex = exchange(&caps, f64::INFINITY, "").await;
    let (mem, seen) = recording_store();
    let status = StatusCell::default();
    let token = CancellationToken::new();
    let mut cfg = recorded_streams(&ex);
    cfg.depth_stream = "depth@100ms".into();
    cfg.trade_stream = "aggTrade".into();
    let task = tokio::spawn(run_ob_stream_with_status(
        cfg,
        mem,
        token.clone(),
        status.clone(),
    ));
    ex.wait_finished().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle(&seen).await;
    token.cancel();
    let h = task.await.unwrap().unwrap();
    ex.stop().await;
    assert_eq!((h.bad_messages, h.gaps, h.reconnects), (0, 0, 0), "{h:?}");
    assert_eq!(h.ticker_mismatches, 0, "{h:?}");
    assert!(h.ticker_checked > 3_000, "{h:?}");
    assert!(h.published > 1_000, "{h:?}");
    assert_eq!(h.books_synced, 2);
}
