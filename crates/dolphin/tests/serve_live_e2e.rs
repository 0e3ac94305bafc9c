//! Issue 11 item 5 end to end over real sockets (docs/SERVICES.md, "Live mode"): `dolphin
//! serve --live` runs the whole service set around the NautilusTrader paper node, whose market
//! data comes from `dolphin exchange` replaying one day of the repository's sample klines
//! (2025-05-05) on a free loopback port. The services run on the node's event time, every
//! decision goes through the services' governor, and the run must be the same machine as the
//! replay of the same bars:
//!
//! - its decision traces (`acb.jsonl`, `mc.jsonl`, `cb.jsonl`, `posture.jsonl`,
//!   `posture_trace.jsonl`) and heartbeats (but the pid) equal, byte for byte, those of
//!   `dolphin serve --replay` on the day file `dolphin scan` makes from the same bars, and so
//!   do `trades.jsonl` and `days.jsonl`;
//! - `dolphin backtest` on that day file given the live run's traces writes byte-identical
//!   `trades.jsonl` and `days.jsonl`.
//!
//! Needs only the repository (no `../shared`, no Redis).
#![cfg(feature = "nautilus")]

mod live_common;

use live_common::{DAY, day_files, dolphin, read, run_ok, start_exchange};

const TRACES: [&str; 5] = [
    "acb.jsonl",
    "mc.jsonl",
    "cb.jsonl",
    "posture.jsonl",
    "posture_trace.jsonl",
];

fn without_pid(s: &str) -> String {
    s.lines()
        .map(|l| match l.find("\"pid\":") {
            Some(i) => {
                let rest = &l[i + 6..];
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                format!("{}{}", &l[..i], &rest[end..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn serve_live_takes_the_replays_decisions_on_the_same_bars() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let symbols = day_files(t);

    // The replay of the same bars through the same services.
    run_ok(
        dolphin()
            .args(["serve", "--replay"])
            .arg(t.join("days"))
            .arg("--out")
            .arg(t.join("replay")),
        "dolphin serve --replay",
    );

    // The live system: the node on the local exchange, the services on its event time.
    let (ex, url) = start_exchange(symbols, &[]);
    let live = run_ok(
        dolphin()
            .args(["serve", "--live", "--exchange-url", &url])
            .args(["--end", "2025-05-06", "--bar-seconds", "60"])
            .args(["--run-for", "900", "--out"])
            .arg(t.join("live")),
        "dolphin serve --live",
    );
    drop(ex);
    assert!(
        live.contains("end of the live data reached"),
        "the node stopped at the end of the data, not by the time limit:\n{live}"
    );
    let run: serde_json::Value = serde_json::from_str(&read(t.join("live/run.json"))).unwrap();
    assert_eq!(run["mode"], "serve-live", "{run}");
    assert_eq!(run["first_event"], format!("{DAY}T00:00:00.000Z"), "{run}");
    assert_eq!(run["last_event"], format!("{DAY}T23:59:00.000Z"), "{run}");
    assert_eq!(run["trader"]["store_errors"], 0, "{run}");
    assert_eq!(run["trader"]["acb_kept_previous"], 0, "{run}");
    let services: serde_json::Value =
        serde_json::from_str(&read(t.join("live/services.json"))).unwrap();
    for s in services.as_array().unwrap() {
        assert_ne!(s["state"], "failed", "{s}");
        assert_eq!(s["restarts"], 0, "{s}");
    }
    let paper: serde_json::Value = serde_json::from_str(&read(t.join("live/paper.json"))).unwrap();
    assert_eq!(paper["scans_stepped"], 1440, "{paper}");
    assert_eq!(paper["errors"], 0, "{paper}");

    let trades = read(t.join("live/trades.jsonl"));
    assert!(trades.lines().count() >= 1, "the day trades: {trades}");
    for f in ["trades.jsonl", "days.jsonl"].iter().chain(TRACES.iter()) {
        assert_eq!(
            read(t.join("live").join(f)),
            read(t.join("replay").join(f)),
            "{f}: live and replay differ"
        );
    }
    assert_eq!(
        without_pid(&read(t.join("live/heartbeats.jsonl"))),
        without_pid(&read(t.join("replay/heartbeats.jsonl"))),
        "heartbeats"
    );

    // The backtest given the live run's traces.
    let l = t.join("live");
    run_ok(
        dolphin()
            .args(["backtest", "--no-plot", "--data"])
            .arg(t.join("days"))
            .arg("--acb-trace")
            .arg(l.join("acb.jsonl"))
            .arg("--mc-trace")
            .arg(l.join("mc.jsonl"))
            .arg("--cb-trace")
            .arg(l.join("cb.jsonl"))
            .arg("--posture-trace")
            .arg(l.join("posture_trace.jsonl"))
            .arg("--out")
            .arg(t.join("bt")),
        "dolphin backtest with the live traces",
    );
    assert_eq!(read(t.join("bt/trades.jsonl")), trades, "trades.jsonl");
    assert_eq!(
        read(t.join("bt/days.jsonl")),
        read(l.join("days.jsonl")),
        "days.jsonl"
    );
}
