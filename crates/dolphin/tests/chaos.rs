//! The short chaos run (issue 14 item 3, docs/CHAOS.md): `dolphin chaos` over two sample days
//! with a real `redis-server` and a real `dolphin exchange` (the shipped 30 s depth cut, or
//! `../shared/data/depth`), one fault of each kind — Redis kill, old RDB, serve kill, serve
//! pause, the store down across the date change (the second day begun fail-safe HIBERNATE), a
//! websocket drop and a feed stall — in about two minutes. Needs redis-server and redis-cli
//! (skipped with a note where they are absent; CI installs them).

use dolphin_store::testkit::require_redis;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn short_chaos_run_loses_nothing_and_equals_the_traced_backtest() {
    if !require_redis("short_chaos_run_loses_nothing_and_equals_the_traced_backtest") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("chaos");
    let o = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args([
            "chaos",
            "--hours",
            "48",
            "--from",
            "2025-05-07",
            "--wall",
            "60",
        ])
        .args(["--faults", "4", "--seed", "11", "--out"])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "chaos failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The fault table names every kind.
    for kind in [
        "redis_kill",
        "redis_old_rdb",
        "serve_kill",
        "serve_pause",
        "redis_date_change",
        "ws_drop",
        "feed_stall",
    ] {
        assert!(stdout.contains(kind), "{kind} not in the table:\n{stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("chaos.json")).unwrap()).unwrap();
    assert_eq!(report["pass"], true);
    assert_eq!(report["seed"], 11);
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 5);
    for f in faults {
        let rec = f["recovery_ms"].as_u64().expect("recovered");
        assert!(rec <= f["bound_ms"].as_u64().unwrap(), "{f}");
        assert!(f["ended_wall_ms"].as_u64().unwrap() >= f["injected_wall_ms"].as_u64().unwrap());
    }
    // The websocket faults: the OB stream reported each (a reconnect, a gap and a resync)
    // and was in sync and publishing again within its bound.
    let ob = report["ob_faults"].as_array().unwrap();
    assert_eq!(ob.len(), 2, "{report}");
    for f in ob {
        assert_eq!(f["ok"], true, "{f}");
        assert!(f["recovery_ms"].as_u64().unwrap() <= f["bound_ms"].as_u64().unwrap());
        let seen = f["observed"].as_str().unwrap();
        // A service restarted by an overlapping fault (a Redis kill) rebuilt its connection
        // and books from fresh snapshots and counts from zero: that is the evidence then
        // (chaos/ob_faults.rs `evidence`), as for a websocket drop below.
        assert!(
            seen.contains("resyncs +") || seen.contains("restarted"),
            "{f}"
        );
        if f["kind"] == "ws_drop" {
            assert!(
                seen.contains("reconnects +") || seen.contains("restarted"),
                "{f}"
            );
        }
    }
    assert!(
        report["exchange"]["faults"]
            .as_str()
            .unwrap()
            .contains("disconnect@")
    );
    // The store was down across the date change: serve began 2025-05-08 fail-safe.
    let outage = faults
        .iter()
        .find(|f| f["kind"] == "redis_date_change")
        .unwrap();
    assert!(
        outage["detail"]
            .as_str()
            .unwrap()
            .contains("serve began 2025-05-08 fail-safe"),
        "{outage}"
    );
    let checks = report["checks"].as_array().unwrap();
    for name in [
        "days.jsonl: every date once",
        "DOLPHIN_PNL_BLUE: every date once, equal to days.jsonl",
        "posture defined every date",
        "backtest on the run's traces = the run",
        "resume verified",
    ] {
        let c = checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("check {name} missing: {report}"));
        assert_eq!(c["ok"], true, "{c}");
    }
    let serve = out.join("serve");
    let postures: Vec<serde_json::Value> = std::fs::read_to_string(serve.join("posture.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(postures.len(), 2);
    assert_eq!(postures[1]["date"], "2025-05-08");
    let days: Vec<serde_json::Value> = std::fs::read_to_string(serve.join("days.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(days[1]["date"], "2025-05-08");
    assert_eq!(days[1]["posture"], postures[1]["posture"]);
    // The day began fail-safe (the harness saw it in serve's log, above) and that decision is
    // the day's — unless serve was killed later and its last process re-ran the date change
    // from a state stored before it (the store was down, so no state of 2025-05-08 existed):
    // that process took the date's posture again, from the store, which was back (a resumed
    // run re-applies only the decisions up to its stored state, docs/SERVICES.md). Timing
    // decides which; both are the system working, and the trade log equals the traced
    // backtest either way (asserted below).
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(serve.join("run.json")).unwrap()).unwrap();
    let resumed_before_day = run["trader"]["resumed"]["ts_ms"]
        .as_i64()
        .is_some_and(|ts| ts < 1_746_662_400_000); // 2025-05-08T00:00:00Z
    if postures[1]["source"] == "fail_safe" {
        assert_eq!(postures[1]["posture"], "HIBERNATE");
    } else {
        assert!(
            resumed_before_day && postures[1]["source"] == "store",
            "2025-05-08 neither fail-safe nor re-decided after a resume from before it: {} / {}",
            postures[1],
            run["trader"]
        );
    }
    // The first day's result is real: 2025-05-07 has trades in the sample, and the run's trade
    // log is the traced backtest's, byte for byte (the fail-safe day included).
    let trades = std::fs::read_to_string(serve.join("trades.jsonl")).unwrap();
    assert!(trades.lines().count() >= 3, "{trades}");
    assert_eq!(
        std::fs::read(serve.join("trades.jsonl")).unwrap(),
        std::fs::read(serve.join("backtest/trades.jsonl")).unwrap()
    );
    // The same seed is the same plan.
    let plan: Vec<(String, i64)> = faults
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["planned"]["at_event_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(plan.len(), 5);
    assert!(plan.windows(2).all(|w| w[0].1 <= w[1].1));
}
