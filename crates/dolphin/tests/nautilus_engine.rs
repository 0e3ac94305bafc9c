//! `dolphin backtest --engine nautilus` and `dolphin paper --dry-run` as a user runs them
//! (issue 7): same files as the standalone engine, a clean reconciliation, layers honoured.
#![cfg(feature = "nautilus")]

use std::path::Path;
use std::process::Command;

fn dolphin(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run dolphin");
    assert!(
        out.status.success(),
        "dolphin {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn same_outputs(a: &Path, b: &Path) {
    for f in ["trades.jsonl", "summary.json", "days.jsonl"] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(!x.is_empty(), "{f} is empty");
        assert!(x == y, "{f} differs between the engines");
    }
}

#[test]
fn nautilus_engine_writes_the_standalone_files_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let (s, n) = (dir.path().join("s"), dir.path().join("n"));
    dolphin(&["backtest", "--no-plot", "--out", s.to_str().unwrap()]);
    let out = dolphin(&[
        "backtest",
        "--no-plot",
        "--engine",
        "nautilus",
        "--out",
        n.to_str().unwrap(),
    ]);
    same_outputs(&s, &n);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("0 difference(s); 88/88 orders filled"),
        "{table}"
    );
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(n.join("reconciliation.json")).unwrap()).unwrap();
    assert_eq!(rec["engine_trades"], 44);
    assert_eq!(rec["orders_filled"], 88);
    assert_eq!(rec["differences"], serde_json::json!([]));
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(n.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["engine"], "nautilus");
}

#[test]
fn nautilus_engine_follows_a_posture_trace_like_the_standalone_one() {
    // Healthy readings, then no store nodes from 2025-05-07 00:00 UTC: HIBERNATE from that date.
    let ok = r#""hz_nodes":1,"heartbeat_age_s":1.0,"mc_status":"OK","staleness_hours":0.0,"ob_stale":false,"depth_quality":1.0,"fill_prob":1.0,"dvol_spike":false,"drawdown":0.0"#;
    let bad = ok.replace(r#""hz_nodes":1"#, r#""hz_nodes":0"#);
    let (t0, t7) = (1_746_316_800_000i64, 1_746_576_000_000i64); // 05-04, 05-07 00:00 UTC
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.jsonl");
    std::fs::write(
        &trace,
        format!("{{\"ts_ms\":{t0},{ok}}}\n{{\"ts_ms\":{t7},{bad}}}\n"),
    )
    .unwrap();
    let (s, n) = (dir.path().join("s"), dir.path().join("n"));
    for (engine, out) in [("standalone", &s), ("nautilus", &n)] {
        dolphin(&[
            "backtest",
            "--no-plot",
            "--engine",
            engine,
            "--posture-trace",
            trace.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    same_outputs(&s, &n);
    let days = std::fs::read_to_string(n.join("days.jsonl")).unwrap();
    let postures: Vec<String> = days
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["posture"].to_string())
        .collect();
    assert_eq!(postures[2], "\"APEX\"");
    assert_eq!(postures[3], "\"HIBERNATE\"");
}

#[test]
fn paper_dry_run_builds_the_live_node() {
    let out = dolphin(&["paper", "--dry-run", "--assets", "BTCUSDT,ETHUSDT"]);
    let table = String::from_utf8_lossy(&out.stdout);
    for want in [
        "dry run (not connected)",
        "BINANCE",
        "DOLPHIN-SCANNER-001",
        "DOLPHIN-001",
        "2 assets",
        "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL",
        "725afdbaa3783b37432d53b53698aab37001f474ec3fdae105a0def766432c08",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
    // A bad symbol is refused by name.
    let bad = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(["paper", "--dry-run", "--assets", "btc/usdt"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("btc/usdt"));
}
