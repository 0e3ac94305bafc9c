//! Issue 12 item 4 end to end over real sockets (docs/LIVE.md §4, §6): the champion's 5-second
//! bars. `dolphin exchange` replays the shared depth captures (BTCUSDT and ETHUSDT,
//! 2024-08-08 23:54:15–23:59:59.9, real Binance messages; their trades go out as `aggTrade`);
//! `dolphin paper --bar-seconds 5` subscribes the two trade streams, builds 5-second bars in
//! the node (SPEC §8 "Bars": last trade price, closed on the 5-second boundary, silent bars
//! carried and marked), scans them and steps the engine at that cadence, records the bars it
//! built (`--out`/bars, kline CSVs) and stops at `--end`. `dolphin backtest` on the day files
//! that `dolphin scan` makes from those same bars must give byte-identical `trades.jsonl` and
//! `days.jsonl`, and the node must have stepped one scan per recorded bar time.
//!
//! Needs `../shared/data/depth` (the full captures; the repository ships 30-second cuts, too
//! short for 5-second bars); it says so and skips without it.
#![cfg(feature = "nautilus")]

mod live_common;

use live_common::{Child, dolphin, exchange_url, read, run_ok, scan_and_backtest};
use std::path::PathBuf;
use std::process::Stdio;

#[test]
fn five_second_bars_from_the_trade_stream_trade_exactly_as_the_backtest() {
    let depth = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/depth");
    let caps = ["btcusdt_20240808.gz", "ethusdt_20240808.gz"].map(|f| depth.join(f));
    if !caps.iter().all(|c| c.exists()) {
        eprintln!(
            "SKIP five_second_bars_from_the_trade_stream: needs the full depth captures in {}",
            depth.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let captures = format!("{},{}", caps[0].display(), caps[1].display());
    let mut ex = Child(
        dolphin()
            .args(["exchange", "--captures", &captures])
            .args(["--speed", "20", "--port", "0", "--wait-streams", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = exchange_url(&mut ex);
    // The captures end at 23:59:59.9: the bar of 23:59:45 is the last one a later trade
    // closes, so the run ends at 23:59:50.
    let paper = run_ok(
        dolphin()
            .args([
                "paper",
                "--exchange-url",
                &url,
                "--assets",
                "BTCUSDT,ETHUSDT",
            ])
            .args(["--bar-seconds", "5", "--end", "2024-08-08T23:59:50Z"])
            .args(["--run-for", "300", "--out"])
            .arg(t.join("paper")),
        "dolphin paper",
    );
    assert!(
        paper.contains("Loaded USD-M perpetual instruments: count=2"),
        "instruments from the local exchange:\n{paper}"
    );
    assert!(
        paper.contains("end of the live data reached"),
        "the node stopped at the end of the data, not by the time limit:\n{paper}"
    );
    assert!(
        paper.contains("5 s, built from the trade stream"),
        "{paper}"
    );

    // The bars the node built, as kline files: 5-second rows on the grid, from the first
    // trade's bar to the bar before the end.
    let open_times = |sym: &str| -> Vec<i64> {
        read(t.join(format!("paper/bars/{sym}-5s.csv")))
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    };
    let mut bar_times = std::collections::BTreeSet::new();
    for sym in ["BTCUSDT", "ETHUSDT"] {
        let rows = open_times(sym);
        assert!(rows.len() > 60, "{} {sym} bars", rows.len());
        assert!(
            rows.windows(2).all(|w| w[1] - w[0] == 5_000),
            "{sym}: a 5 s grid"
        );
        assert_eq!(
            *rows.last().unwrap(),
            1_723_161_585_000,
            "{sym}: last bar 23:59:45"
        );
        bar_times.extend(rows);
    }

    scan_and_backtest(t, &t.join("paper/bars"));
    let bt_days = read(t.join("bt/days.jsonl"));
    assert!(bt_days.contains("\"date\":\"2024-08-08\""), "{bt_days}");
    assert_eq!(read(t.join("paper/days.jsonl")), bt_days, "days.jsonl");
    assert_eq!(
        read(t.join("paper/trades.jsonl")),
        read(t.join("bt/trades.jsonl")),
        "trades.jsonl"
    );
    let counters: serde_json::Value =
        serde_json::from_str(&read(t.join("paper/paper.json"))).unwrap();
    // One scan per bar time of the panel.
    assert_eq!(
        counters["scans_stepped"],
        bar_times.len() as u64,
        "{counters}"
    );
    assert_eq!(counters["errors"], 0, "{counters}");
    drop(ex);
}
