//! Issue 12 acceptance, "with faults injected … the live run still ends with a consistent trade
//! log" (docs/LIVE.md §5, §6): `dolphin exchange` replays 2025-05-05 of the repository's sample
//! 1-minute klines at 1 200× with a fault plan — every websocket connection dropped at 06:00, the
//! streams stalled from 12:00 for 30 minutes (messages lost, connections open), the first three
//! depth requests answered 429 and a depth sequence gap — and `dolphin paper` (the
//! NautilusTrader LiveNode with the Binance data client, sandbox execution, scanner actor and
//! DolphinActor; not a dry run) trades it to the end of the day.
//!
//! What must hold: the node reconnects (the exchange counts the drop and new connections, the
//! adapter restores its subscriptions), reaches the end of the data and stops by itself; the bar
//! times it never received are reported as holes in `paper.json` (the stall's 30 exactly, the
//! drop's at 06:00), every other bar time was scanned whole; `trades.jsonl`, `days.jsonl`,
//! `summary.json` and `paper.json` agree with each other; and the run is exactly what
//! `dolphin backtest` gives on `dolphin scan` of the same klines without the bar times the node
//! lost (byte-identical trades and days). The 429s and the gap touch nothing here: the kline
//! node makes no depth request and follows no depth stream (the exchange says 0 refused, 0
//! skipped updates). Needs only the repository (no `../shared`, no Redis).
#![cfg(feature = "nautilus")]

mod live_common;

use live_common::{
    Child, DAY, DAY_MS, cut_day, dolphin, exchange_url, read, repo, run_ok, scan_and_backtest,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const MINUTE_MS: i64 = 60_000;
/// Times are event seconds after the first event (the kline closing at 00:01): the drop meets
/// the kline of the bar opening at 06:00, the stall those of 12:00 to 12:29.
const FAULTS: &str = "disconnect@21600,stall@43200+1800,rest-429=3,gap@30000";
const DROP_BAR: i64 = 360;
const STALL_BAR: i64 = 720;
const STALL_BARS: u64 = 30;

fn jsonl(p: &Path) -> Vec<Value> {
    read(p)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{p:?}: {e}: {l}")))
        .collect()
}

/// The number before `label` in the exchange's closing line, e.g. `21075 messages sent`.
fn count_before(line: &str, label: &str) -> u64 {
    let head = &line[..line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line:?}"))];
    let n = head.trim_end().rsplit([' ', '(']).next().unwrap();
    n.parse()
        .unwrap_or_else(|e| panic!("{n:?} before {label:?}: {e}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: {a} vs {b}");
}

#[test]
fn paper_node_survives_faults_with_a_consistent_trade_log() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sample = repo().join("data/sample");
    let symbols = cut_day(
        &sample.join("klines-1m"),
        &t.join("klines"),
        &BTreeSet::new(),
    );
    assert_eq!(symbols, 15, "sample klines of {DAY}");

    // The exchange with the fault plan; its closing counters go to a file (printed on SIGINT).
    let ex_err = t.join("exchange.err");
    let mut ex = Child(
        dolphin()
            .args(["exchange", "--klines"])
            .arg(sample.join("klines-1m"))
            .arg("--funding")
            .arg(sample.join("funding"))
            .args(["--from", DAY, "--to", DAY, "--speed", "1200", "--port", "0"])
            .args(["--wait-streams", &symbols.to_string(), "--faults", FAULTS])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&ex_err).unwrap())
            .spawn()
            .unwrap(),
    );
    let url = exchange_url(&mut ex);

    // The node: the time limit is only a safety net (the day takes 72 s of wall time).
    let started = Instant::now();
    let paper = run_ok(
        dolphin()
            .args(["paper", "--exchange-url", &url, "--end", "2025-05-06"])
            .args(["--bar-seconds", "60"])
            .args(["--run-for", "900", "--out"])
            .arg(t.join("paper")),
        "dolphin paper",
    );
    eprintln!(
        "faulted paper run: {:.1} s of wall time",
        started.elapsed().as_secs_f64()
    );
    assert!(
        paper.contains(&format!(
            "Loaded USD-M perpetual instruments: count={symbols}"
        )),
        "instruments from the local exchange:\n{paper}"
    );
    assert!(
        paper.contains("end of the live data reached"),
        "the node stopped at the end of the data, not by the time limit:\n{paper}"
    );
    let restored = paper
        .matches("WebSocket reconnected, restoring subscriptions")
        .count();
    assert!(
        restored >= 1,
        "the adapter reconnected and restored its subscriptions:\n{paper}"
    );

    // The exchange's side: one drop, new connections after it, nothing refused or skipped (no
    // depth request, no depth stream).
    Command::new("kill")
        .args(["-INT", &ex.0.id().to_string()])
        .status()
        .unwrap();
    let status = ex.0.wait().unwrap();
    assert!(status.success(), "exchange exit: {status}");
    let ex_text = read(&ex_err);
    let line = ex_text
        .lines()
        .find(|l| l.starts_with("exchange: "))
        .unwrap_or_else(|| panic!("exchange counters:\n{ex_text}"));
    eprintln!("{line}; adapter restorations: {restored}");
    let sent = count_before(line, "messages sent");
    let connections = count_before(line, "connections");
    assert_eq!(count_before(line, "disconnects"), 1, "{line}");
    assert_eq!(
        connections as usize,
        2 * restored,
        "each connection dropped at 06:00 came back: {line}"
    );
    assert_eq!(count_before(line, "refused"), 0, "{line}");
    assert_eq!(count_before(line, "skipped updates"), 0, "{line}");

    // paper.json: the holes in the bar times, every other bar time scanned whole, no error.
    let p = t.join("paper");
    let counters: Value = serde_json::from_str(&read(p.join("paper.json"))).unwrap();
    eprintln!("paper.json: {counters}");
    let stepped = counters["scans_stepped"].as_u64().unwrap();
    let missed = counters["bar_times_missed"].as_u64().unwrap();
    let gaps = counters["bar_time_gaps"].as_array().unwrap();
    assert_eq!(stepped + missed, 1440, "{counters}");
    assert_eq!(gaps.len(), 2, "the drop and the stall: {counters}");
    let gap = |i: usize| {
        (
            gaps[i]["from_ms"].as_i64().unwrap(),
            gaps[i]["bars"].as_u64().unwrap(),
        )
    };
    let (drop_from, drop_bars) = gap(0);
    assert_eq!(drop_from, DAY_MS + DROP_BAR * MINUTE_MS, "{counters}");
    assert!(drop_bars >= 1, "{counters}");
    assert_eq!(
        gap(1),
        (DAY_MS + STALL_BAR * MINUTE_MS, STALL_BARS),
        "{counters}"
    );
    assert_eq!(missed, drop_bars + STALL_BARS, "{counters}");
    assert_eq!(
        sent,
        stepped * symbols as u64,
        "the exchange sent exactly the klines of the bar times the node scanned"
    );
    assert!(
        paper.contains(&format!(
            "ScannerActor: scans={stepped} incomplete=0 late_closes=0"
        )),
        "every bar time that arrived arrived whole:\n{paper}"
    );
    for k in [
        "scans_skipped",
        "scans_after_end",
        "order_problems",
        "errors",
        "store_errors",
        "stale_state_events",
    ] {
        assert_eq!(counters[k], 0, "{k}: {counters}");
    }

    // The trade log is consistent in itself and with the days and the summary.
    let trades = jsonl(&p.join("trades.jsonl"));
    let days = jsonl(&p.join("days.jsonl"));
    let summary: Value = serde_json::from_str(&read(p.join("summary.json"))).unwrap();
    assert!(!trades.is_empty(), "the faulted day still trades");
    for (i, tr) in trades.iter().enumerate() {
        assert_eq!(tr["trade_id"], i as u64 + 1, "ids 1, 2, …: {tr}");
        assert_eq!(tr["date"], DAY, "{tr}");
        let (entry, exit) = (
            tr["entry_bar"].as_u64().unwrap(),
            tr["exit_bar"].as_u64().unwrap(),
        );
        assert!(entry < exit && exit < stepped, "exit after entry: {tr}");
        if i > 0 {
            assert!(
                entry >= trades[i - 1]["exit_bar"].as_u64().unwrap(),
                "one position at a time: {tr}"
            );
        }
        assert!(tr["entry_price"].as_f64().unwrap() > 0.0, "{tr}");
        assert!(tr["exit_price"].as_f64().unwrap() > 0.0, "{tr}");
        assert!(!tr["reason"].as_str().unwrap().is_empty(), "{tr}");
    }
    let pnl: f64 = trades.iter().map(|t| t["pnl"].as_f64().unwrap()).sum();
    let initial = summary["initial_capital"].as_f64().unwrap();
    close(
        initial,
        counters["start_capital"].as_f64().unwrap(),
        "start",
    );
    assert_eq!(days.len(), 1, "{days:?}");
    let mut capital = initial;
    for d in &days {
        capital += d["pnl"].as_f64().unwrap();
        close(d["capital"].as_f64().unwrap(), capital, "capital chain");
    }
    close(
        days[0]["pnl"].as_f64().unwrap(),
        pnl,
        "day pnl = sum of trades",
    );
    assert_eq!(days[0]["trades"], trades.len(), "{days:?}");
    close(summary["final_capital"].as_f64().unwrap(), capital, "final");
    close(
        counters["end_capital"].as_f64().unwrap(),
        capital,
        "paper end",
    );
    assert_eq!(summary["trades"], trades.len(), "{summary}");
    assert_eq!(summary["days"], days.len(), "{summary}");
    assert_eq!(counters["trades"], trades.len(), "{counters}");
    let wins = trades
        .iter()
        .filter(|t| t["pnl"].as_f64().unwrap() > 0.0)
        .count();
    close(
        summary["win_rate"].as_f64().unwrap(),
        wins as f64 / trades.len() as f64,
        "win rate",
    );
    // Every trade has an entry and an exit order, each filled by the sandbox.
    assert_eq!(counters["orders"], 2 * trades.len(), "{counters}");
    assert_eq!(counters["fills"], counters["orders"], "{counters}");

    // The run is the backtest of the bars the node received: the sample day without the bar
    // times it reported missing, scanned and backtested, gives the same bytes.
    let lost: BTreeSet<i64> = gaps
        .iter()
        .flat_map(|g| {
            let from = g["from_ms"].as_i64().unwrap();
            (0..g["bars"].as_i64().unwrap()).map(move |k| from + k * MINUTE_MS)
        })
        .collect();
    assert_eq!(lost.len() as u64, missed);
    cut_day(&sample.join("klines-1m"), &t.join("received"), &lost);
    scan_and_backtest(t, &t.join("received"));
    assert_eq!(
        read(p.join("trades.jsonl")),
        read(t.join("bt/trades.jsonl")),
        "trades.jsonl"
    );
    assert_eq!(
        read(p.join("days.jsonl")),
        read(t.join("bt/days.jsonl")),
        "days.jsonl"
    );
}
