//! Issue 12 acceptance, end to end over real sockets (docs/LIVE.md §5): `dolphin exchange`
//! replays one day of the repository's sample 1-minute klines (2025-05-05, 15 listed symbols;
//! ADAUSDT has no klines that day) on a free loopback port; `dolphin paper` — a NautilusTrader
//! LiveNode with the Binance data client pointed at it, the sandbox execution client, the
//! scanner actor and the DolphinActor, not a dry run — trades it to the end of the day
//! (`--end`) and writes its run; `dolphin backtest` on the day files that `dolphin scan` makes
//! from the same bars must give byte-identical `trades.jsonl` and `days.jsonl`. Neither side
//! has warm-up from earlier days. Needs only the repository (no `../shared`, no Redis).
#![cfg(feature = "nautilus")]

mod live_common;

use live_common::{DAY, backtest, day_files, dolphin, read, run_ok, start_exchange};

#[test]
fn paper_node_on_the_local_exchange_trades_exactly_as_the_backtest() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Backtest side: day files from the same bars, then the backtest.
    let symbols = day_files(t);
    backtest(t);

    // Live side: the exchange replays the day at 1200x once the node follows every kline
    // stream; the paper node runs to the end of the day and writes its run.
    let (ex, url) = start_exchange(symbols, &[]);
    let paper = run_ok(
        dolphin()
            .args(["paper", "--exchange-url", &url, "--end", "2025-05-06"])
            .args(["--bar-seconds", "60"])
            .args(["--run-for", "900", "--out"])
            .arg(t.join("paper")),
        "dolphin paper",
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
    let bt_days = read(t.join("bt/days.jsonl"));
    assert!(
        bt_days.contains(&format!("\"date\":\"{DAY}\"")),
        "{bt_days}"
    );
    let bt_trades = read(t.join("bt/trades.jsonl"));
    assert!(
        bt_trades.lines().count() >= 1,
        "the day trades: {bt_trades}"
    );
    assert_eq!(read(t.join("paper/days.jsonl")), bt_days, "days.jsonl");
    assert_eq!(
        read(t.join("paper/trades.jsonl")),
        bt_trades,
        "trades.jsonl"
    );
    let counters: serde_json::Value =
        serde_json::from_str(&read(t.join("paper/paper.json"))).unwrap();
    assert_eq!(counters["scans_stepped"], 1440, "{counters}");
    assert_eq!(counters["scans_skipped"], 0, "{counters}");
    assert_eq!(counters["bar_times_missed"], 0, "no hole: {counters}");
    assert_eq!(counters["errors"], 0, "{counters}");
    assert!(
        counters["bar_to_order"]["n"].as_u64().unwrap() >= 1,
        "{counters}"
    );
    drop(ex);
}
