//! `dolphin serve` as a user runs it (issue 11): the whole service set over day files, and
//! `dolphin backtest` given the decision traces the services wrote reproducing the trade and day
//! logs byte for byte (SPEC §8), on the embedded store and on a real `redis-server`; the dry
//! run's verdicts; a SIGKILL mid-position and restart against the same Redis; SIGTERM.

use dolphin_store::SystemMemory;
use dolphin_store::testkit::{RedisServer, require_redis};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run dolphin")
}

fn ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "dolphin {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A services config with a daily MC refresh (a real Monte Carlo over the last 3 days), so
/// that MC decisions vary and the equivalence covers them.
fn services_yml(dir: &Path) -> PathBuf {
    let p = dir.join("services.yml");
    std::fs::write(&p, "mc_refresh_days: 3\nmc_refresh_paths: 24\n").unwrap();
    p
}

/// Serves `days` into `out`, then backtests with its traces into `out/bt`, and compares.
fn serve_and_backtest(days: &Path, store: &str, out: &Path, extra: &[&str]) {
    let cfg = services_yml(out.parent().unwrap());
    let mut args = vec![
        "serve",
        "--replay",
        s(days),
        "--speed",
        "0",
        "--store",
        store,
        "--services-config",
        s(&cfg),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    let o = ok(&args);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("DOLPHIN serve"), "{table}");
    for f in [
        "trades.jsonl",
        "days.jsonl",
        "summary.json",
        "run.json",
        "posture_trace.jsonl",
        "acb.jsonl",
        "mc.jsonl",
        "cb.jsonl",
        "posture.jsonl",
        "heartbeats.jsonl",
        "services.json",
        "logs/serve.jsonl",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The decisions are real: sub-day ACB updates (beta once w750 is known), MC statuses from
    // the refresh, one posture-trace reading per minute of event time.
    let acb = lines(&out.join("acb.jsonl"));
    let n_days = lines(&out.join("days.jsonl")).len();
    assert_eq!(acb.iter().filter(|d| d["kind"] == "day").count(), n_days);
    assert!(
        acb.iter()
            .any(|d| d["kind"] == "update" && d["beta"].as_f64().unwrap() > 0.0),
        "no sub-day ACB update with a beta"
    );
    let mc = lines(&out.join("mc.jsonl"));
    assert_eq!(mc.len(), n_days);
    assert!(
        mc.iter().any(|m| m["status"] != "OK") || mc.iter().all(|m| m["source"] == "store"),
        "MC statuses"
    );
    let services: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("services.json")).unwrap()).unwrap();
    let names: Vec<&str> = services
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "store_probe",
            "factors",
            "acb",
            "ob_stream",
            "watchdog",
            "mc",
            "trader"
        ],
        "B §16.6 start order"
    );
    for v in &services {
        if v["state"] != "disabled" {
            assert!(v["starts"].as_u64().unwrap() >= 1, "{v}");
            assert!(v["heartbeats"].as_u64().unwrap() > 0, "{v}");
        }
    }
    let trades = lines(&out.join("trades.jsonl"));
    assert!(trades.len() > 5, "only {} trades", trades.len());

    let bt = out.join("bt");
    ok(&[
        "backtest",
        "--data",
        s(days),
        "--posture-trace",
        s(&out.join("posture_trace.jsonl")),
        "--acb-trace",
        s(&out.join("acb.jsonl")),
        "--mc-trace",
        s(&out.join("mc.jsonl")),
        "--cb-trace",
        s(&out.join("cb.jsonl")),
        "--no-plot",
        "--out",
        s(&bt),
    ]);
    for f in ["trades.jsonl", "days.jsonl", "summary.json"] {
        let (a, b) = (
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(bt.join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between serve and the traced backtest");
    }
    // The postures the trader applied (posture.jsonl, what a chaos run's check replays) give
    // the same run as the watchdog's readings.
    let bt_log = out.join("bt-posture-log");
    ok(&[
        "backtest",
        "--data",
        s(days),
        "--posture-log",
        s(&out.join("posture.jsonl")),
        "--acb-trace",
        s(&out.join("acb.jsonl")),
        "--mc-trace",
        s(&out.join("mc.jsonl")),
        "--cb-trace",
        s(&out.join("cb.jsonl")),
        "--no-plot",
        "--out",
        s(&bt_log),
    ]);
    for f in ["trades.jsonl", "days.jsonl", "summary.json"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(bt_log.join(f)).unwrap(),
            "{f} differs between serve and the backtest on posture.jsonl"
        );
    }
}

#[test]
fn serve_equals_traced_backtest_on_the_sample_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("serve");
    let funding = root().join("data/sample/funding");
    serve_and_backtest(
        &root().join("data/sample/days"),
        "embedded",
        &out,
        &["--funding", s(&funding)],
    );
    // Without the traces the backtest does not see the services' decisions: they matter.
    let plain = tmp.path().join("plain");
    ok(&["backtest", "--no-plot", "--out", s(&plain)]);
    assert!(
        std::fs::read(plain.join("days.jsonl")).unwrap()
            != std::fs::read(out.join("days.jsonl")).unwrap()
    );
}

#[test]
fn serve_equals_traced_backtest_on_the_sample_redis() {
    if !require_redis("serve_equals_traced_backtest_on_the_sample_redis") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("serve");
    let funding = root().join("data/sample/funding");
    serve_and_backtest(
        &root().join("data/sample/days"),
        &server.url(),
        &out,
        &["--funding", s(&funding)],
    );
    // Every date's result is in DOLPHIN_PNL_BLUE, once, equal to days.jsonl.
    let mem =
        dolphin_store::RedisMemory::connect(dolphin_store::RedisConfig::single(&server.url()))
            .unwrap();
    let pnl = mem.get_all("DOLPHIN_PNL_BLUE").unwrap();
    let days = lines(&out.join("days.jsonl"));
    assert_eq!(pnl.len(), days.len());
    for d in &days {
        let v: serde_json::Value = serde_json::from_str(&pnl[d["date"].as_str().unwrap()]).unwrap();
        assert_eq!(v["capital"], d["capital"]);
    }
}

#[test]
fn serve_equals_traced_backtest_on_all_shared_days() {
    let shared = root().join("../shared/data");
    if !shared.join("klines-1m").is_dir() {
        eprintln!("note: skipped: ../shared/data is absent (a user's clone has no shared data)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let days = tmp.path().join("days");
    ok(&[
        "scan",
        "--klines",
        s(&shared.join("klines-1m")),
        "--out",
        s(&days),
    ]);
    let (ind, fund) = (shared.join("indicators"), shared.join("funding"));
    let factors = ["--indicators", s(&ind), "--funding", s(&fund)];
    serve_and_backtest(&days, "embedded", &tmp.path().join("embedded"), &factors);
    if require_redis("serve_equals_traced_backtest_on_all_shared_days") {
        let server = RedisServer::start().unwrap();
        let out = tmp.path().join("redis");
        serve_and_backtest(&days, &server.url(), &out, &factors);
        assert_eq!(
            std::fs::read(out.join("trades.jsonl")).unwrap(),
            std::fs::read(tmp.path().join("embedded/trades.jsonl")).unwrap(),
            "the store backend changed a decision"
        );
    }
}

#[test]
fn dry_run_prints_the_plan_or_names_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let dry_out = tmp.path().join("dry-run-out");
    let o = ok(&[
        "serve",
        "--dry-run",
        "--funding",
        "data/sample/funding",
        "--out",
        s(&dry_out),
    ]);
    let plan = String::from_utf8_lossy(&o.stdout);
    let order: Vec<usize> = [
        "store_probe",
        "acb",
        "ob_stream",
        "watchdog",
        "mc",
        "trader",
    ]
    .iter()
    .map(|n| {
        plan.find(&format!(" {n} "))
            .unwrap_or_else(|| panic!("{n} in {plan}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{plan}");
    assert!(plan.contains("8 day files"), "{plan}");
    // A dry run starts nothing and writes nothing.
    assert!(!dry_out.exists(), "the dry run wrote {}", dry_out.display());

    // Drifted champion: a champion config with a changed frozen parameter.
    let blue = std::fs::read_to_string(root().join("configs/blue.yml")).unwrap();
    let drifted = blue.replace("fixed_tp_pct: 0.0095", "fixed_tp_pct: 0.0096");
    assert_ne!(blue, drifted, "blue.yml has fixed_tp_pct: 0.0095");
    let cfg = tmp.path().join("drift.yml");
    std::fs::write(&cfg, drifted).unwrap();
    let o = run(&["serve", "--dry-run", "--config", s(&cfg)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("drift"), "{err}");

    // Unreachable store: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let o = run(&["serve", "--dry-run", "--store", &url]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("unreachable") && err.contains(&url),
        "{err}"
    );

    // A missing day file in the middle of the replay.
    let days = tmp.path().join("days");
    std::fs::create_dir(&days).unwrap();
    for d in ["2025-05-04", "2025-05-05", "2025-05-07"] {
        std::fs::copy(
            root().join(format!("data/sample/days/{d}.parquet")),
            days.join(format!("{d}.parquet")),
        )
        .unwrap();
    }
    let o = run(&["serve", "--dry-run", "--replay", s(&days)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("missing day file")
            && err.contains("2025-05-06.parquet"),
        "{err}"
    );
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_position_then_restart_gives_the_uninterrupted_trade_log() {
    if !require_redis("sigkill_mid_position_then_restart_gives_the_uninterrupted_trade_log") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let days = root().join("data/sample/days");
    // The uninterrupted run, on its own Redis.
    let a = RedisServer::start().unwrap();
    let full = tmp.path().join("full");
    ok(&[
        "serve",
        "--replay",
        s(&days),
        "--store",
        &a.url(),
        "--out",
        s(&full),
    ]);

    // The interrupted run: paced so that it can be killed while a position is open.
    let b = RedisServer::start_durable().unwrap();
    let out = tmp.path().join("killed");
    let args = [
        "serve",
        "--replay",
        s(&days),
        "--store",
        &b.url(),
        "--out",
        s(&out),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .args(["--speed", "20000"])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mem =
        dolphin_store::RedisMemory::connect(dolphin_store::RedisConfig::single(&b.url())).unwrap();
    let state: serde_json::Value = wait_for(
        "an open position after a closed trade",
        Duration::from_secs(120),
        || {
            let v: serde_json::Value =
                serde_json::from_str(&mem.get("DOLPHIN_STATE_BLUE", "latest").ok()??).ok()?;
            (v["trades"].as_u64()? >= 2 && !v["position"].is_null()).then_some(v)
        },
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!state["position"].is_null());

    ok(&args);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let resumed = &run["trader"]["resumed"];
    assert_eq!(resumed["verified"], true, "{run}");
    assert_eq!(resumed["position"], state["position"]["trade_id"]);
    for f in ["trades.jsonl", "days.jsonl"] {
        assert_eq!(
            std::fs::read(full.join(f)).unwrap(),
            std::fs::read(out.join(f)).unwrap(),
            "{f} differs from the uninterrupted run"
        );
    }
    // Daily results: each date once, never lost.
    let pnl = mem.get_all("DOLPHIN_PNL_BLUE").unwrap();
    assert_eq!(pnl.len(), lines(&full.join("days.jsonl")).len());
    assert!(
        run["trader"]["pnl_already_present"].as_u64().unwrap() >= 1,
        "{run}"
    );
}

#[test]
fn sigterm_finishes_the_bar_writes_results_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("term");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(["serve", "--speed", "50000", "--out", s(&out)])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first decisions", Duration::from_secs(60), || {
        (std::fs::read_to_string(out.join("acb.jsonl"))
            .ok()?
            .lines()
            .count()
            >= 2)
            .then_some(())
    });
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["trader"]["stopped_by_signal"], true, "{run}");
    assert!(out.join("trades.jsonl").is_file() && out.join("summary.json").is_file());
    let services: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("services.json")).unwrap()).unwrap();
    assert!(services.iter().all(|s| s["state"] != "down"));
}
