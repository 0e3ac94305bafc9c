//! The local exchange over real sockets on a free loopback port: REST answers in Binance's
//! formats, the recorded stream byte for byte, merged depth batches that keep `pu`
//! continuity, and the REST faults. Skips (with a note) when the shared captures are absent.

use std::io::BufRead;
use std::path::PathBuf;

use dolphin_exchange::{ExchangeConfig, ExchangeData};
use dolphin_orderbook::{LocalBook, Message, parse_message};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn btc_capture() -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for a in here.ancestors() {
        let p = a.join("shared/data/depth/btcusdt_20240808.gz");
        if p.exists() {
            return Some(p);
        }
    }
    eprintln!("note: shared/data/depth not found beside the repository; skipping");
    None
}

/// A plain HTTP/1.1 GET: (status, headers, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Bodies are small enough to come without chunking, or in one chunk.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (_, rest) = body.split_once("\r\n").unwrap();
        rest.rsplit_once("\r\n0\r\n")
            .map_or(rest, |x| x.0)
            .to_string()
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_streams_speak_binance() {
    let Some(cap) = btc_capture() else { return };
    let lines: Vec<String> = dolphin_orderbook::capture::open_capture(&cap)
        .unwrap()
        .lines()
        .map(|l| l.unwrap())
        .collect();
    let tl = ExchangeData {
        captures: vec![cap.clone()],
        ..ExchangeData::default()
    }
    .load()
    .unwrap();
    let ex = dolphin_exchange::start(
        ExchangeConfig {
            speed: f64::INFINITY,
            faults: "rest-429=1,retry-after=2".into(),
            buffer: 1 << 20,
            ..ExchangeConfig::default()
        },
        tl,
    )
    .await
    .unwrap();
    let a = ex.addr;
    eprintln!("exchange on {a}");
    assert_eq!(get(a, "/fapi/v1/ping").await.2, "{}");
    eprintln!("ping ok");
    let (_, _, t) = get(a, "/fapi/v1/time").await;
    assert_eq!(t, r#"{"serverTime":1723161256299}"#);
    let (_, _, info) = get(a, "/fapi/v1/exchangeInfo").await;
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let sym = &info["symbols"][0];
    assert_eq!(sym["symbol"], "BTCUSDT");
    assert_eq!(sym["contractType"], "PERPETUAL");
    assert_eq!(sym["filters"][0]["tickSize"], "0.1");
    assert_eq!(sym["filters"][1]["stepSize"], "0.001");
    // Errors in Binance's shape.
    let (st, _, body) = get(a, "/fapi/v1/depth?symbol=NOPEUSDT").await;
    assert_eq!(
        (st, body.as_str()),
        (400, r#"{"code":-1121,"msg":"Invalid symbol."}"#)
    );
    let (st, _, _) = get(a, "/fapi/v1/depth?symbol=BTCUSDT&limit=7").await;
    assert_eq!(st, 400);
    // Fault: the first depth request is rate limited with Retry-After.
    let (st, head, body) = get(a, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000").await;
    assert_eq!(st, 429);
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 2"),
        "{head}"
    );
    assert!(body.contains("-1003"));
    // Before the replay has a book: the recorded snapshot, byte for byte.
    let (st, _, body) = get(a, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000").await;
    assert_eq!(st, 200);
    let recorded = lines.iter().find(|l| l.contains("lastUpdateId")).unwrap();
    assert_eq!(body, recorded.split_once(' ').unwrap().1);

    // Streams: the recorded depth and trades in recorded order, and the 100 ms batches.
    let url = format!(
        "{}/stream?streams=btcusdt@depth@0ms/btcusdt@trade/btcusdt@depth@100ms",
        ex.ws_url()
    );
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (_, mut rx) = ws.split();
    let expected: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(' ').unwrap().1)
        .filter(|j| j.contains("@depth@0ms") || j.contains("@trade"))
        .collect();
    eprintln!("REST ok; streaming");
    let mut raw = Vec::new();
    let mut batches = Vec::new();
    while raw.len() < expected.len() {
        let m = tokio::time::timeout(std::time::Duration::from_secs(60), rx.next())
            .await
            .expect("stream delivers")
            .unwrap()
            .unwrap();
        let t = m.into_text().unwrap().to_string();
        if t.contains("@depth@100ms") {
            batches.push(t);
        } else {
            raw.push(t);
        }
    }
    assert_eq!(raw, expected, "recorded messages differ");
    ex.wait_finished().await;
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(std::time::Duration::from_millis(300), rx.next()).await
    {
        let t = m.into_text().unwrap().to_string();
        if t.contains("@depth@100ms") {
            batches.push(t);
        }
    }
    // Batches chain by `pu` and rebuild the same book as the recorded diffs.
    let snap = match parse_message(recorded.split_once(' ').unwrap().1).unwrap() {
        Message::Snapshot(s) => s,
        _ => panic!(),
    };
    let mut b0 = LocalBook::new();
    let mut b1 = LocalBook::new();
    b0.apply_snapshot(&snap);
    b1.apply_snapshot(&snap);
    for r in &raw {
        if let Message::Depth { update, .. } = parse_message(r).unwrap() {
            b0.apply_diff(update);
        }
    }
    let mut prev_u = None;
    for b in &batches {
        let Message::Depth { update, .. } = parse_message(b).unwrap() else {
            panic!()
        };
        if let Some(p) = prev_u {
            assert_eq!(update.prev_final_update_id, p);
        }
        prev_u = Some(update.final_update_id);
        b1.apply_diff(update);
    }
    assert!(b0.is_synced() && b1.is_synced());
    assert_eq!(b0.stats().gaps + b1.stats().gaps, 0);
    assert_eq!(b0.last_update_id(), b1.last_update_id());
    assert!(b0.bids().eq(b1.bids()) && b0.asks().eq(b1.asks()));
    assert!(batches.len() < raw.len());
    // After the replay the book is the exchange's own, at the last update id.
    let (_, _, body) = get(a, "/fapi/v1/depth?symbol=BTCUSDT&limit=5").await;
    let Message::Snapshot(s) = parse_message(&body).unwrap() else {
        panic!()
    };
    assert_eq!(s.last_update_id, b0.last_update_id());
    assert_eq!(s.bids.len(), 5);
    assert_eq!(s.bids[0], b0.best_bid().unwrap());
    ex.stop().await;
}

/// `wait_streams`: the replay waits until that many distinct streams are followed, so a client
/// that subscribes its symbols one at a time still gets every symbol's first bar. Uses the
/// repository's own sample klines (no `../shared` needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_waits_for_the_configured_number_of_streams() {
    let klines = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/klines-1m");
    let tl = ExchangeData {
        klines: Some(klines),
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        from_ms: Some(1_746_403_200_000), // 2025-05-05
        to_ms: Some(1_746_403_200_000 + 3_600_000),
        ..ExchangeData::default()
    }
    .load()
    .unwrap();
    let ex = dolphin_exchange::start(
        ExchangeConfig {
            speed: f64::INFINITY,
            wait_streams: 2,
            ..ExchangeConfig::default()
        },
        tl,
    )
    .await
    .unwrap();
    let started = |ex: &dolphin_exchange::ExchangeHandle| ex.shared.market.lock().unwrap().started;
    let one = format!("{}/stream?streams=btcusdt@kline_1m", ex.ws_url());
    let (ws1, _) = tokio_tungstenite::connect_async(one).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !started(&ex),
        "one stream of two followed: the replay must wait"
    );
    let two = format!("{}/stream?streams=ethusdt@kline_1m", ex.ws_url());
    let (ws2, _) = tokio_tungstenite::connect_async(two).await.unwrap();
    let (_, mut rx2) = ws2.split();
    // The second follower gets the first bar of the stretch (00:00 opens, closed at 00:01).
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), rx2.next())
        .await
        .expect("the replay started")
        .unwrap()
        .unwrap()
        .into_text()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["stream"], "ethusdt@kline_1m");
    assert_eq!(v["data"]["k"]["t"], 1_746_403_200_000_i64);
    assert!(started(&ex));
    drop(ws1);
    ex.stop().await;
}
