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

/// The OB layer replayed from file reaches the actor's engine: same trade, same OB rules.
#[test]
fn nautilus_engine_applies_the_ob_layer_like_the_standalone_one() {
    let dir = tempfile::tempdir().unwrap();
    let (s, n) = (dir.path().join("s"), dir.path().join("n"));
    for (engine, out) in [("standalone", &s), ("nautilus", &n)] {
        dolphin(&[
            "backtest",
            "--no-plot",
            "--engine",
            engine,
            "--config",
            "configs/ob-capture.yml",
            "--data",
            "data/sample/ob/days",
            "--ob",
            "data/sample/ob/ob_features.parquet",
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    same_outputs(&s, &n);
    let trades = std::fs::read_to_string(n.join("trades.jsonl")).unwrap();
    assert!(
        trades.contains(
            r#""ob_rules":["OB1_ARS","OB2_BOOST","OB3_MARKET_MULT","OB5_CALM","OB_EDGE"]"#
        ),
        "{trades}"
    );
}

fn days_of(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("days.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// S §17.6 with a real Redis server: a run writes its per-date results and capital state, the
/// next run with `--resume` starts from that capital.
#[test]
fn nautilus_runs_resume_capital_from_redis() {
    use dolphin_store::SystemMemory;
    if !dolphin_store::testkit::require_redis("nautilus_runs_resume_capital_from_redis") {
        return;
    }
    let server = dolphin_store::testkit::RedisServer::start().unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let common = [
        "backtest",
        "--no-plot",
        "--engine",
        "nautilus",
        "--redis",
        &url,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| {
        dolphin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    };
    run(with(&["--to", "2025-05-06", "--out", a.to_str().unwrap()]));
    let first = days_of(&a);
    let capital_a = first.last().unwrap()["capital"].as_f64().unwrap();
    assert_ne!(capital_a, 25_000.0, "the first days trade");

    let mem =
        dolphin_store::RedisMemory::connect(dolphin_store::RedisConfig::single(&url)).unwrap();
    let state: serde_json::Value = serde_json::from_str(
        &mem.get("DOLPHIN_STATE_BLUE", "latest_nautilus")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(state["capital"].as_f64().unwrap(), capital_a);
    assert_eq!(state["date"], "2025-05-06");
    assert_eq!(
        state["param_hash"],
        "725afdbaa3783b37432d53b53698aab37001f474ec3fdae105a0def766432c08"
    );
    for d in &first {
        let date = d["date"].as_str().unwrap();
        let pnl: serde_json::Value =
            serde_json::from_str(&mem.get("DOLPHIN_PNL_BLUE", date).unwrap().unwrap()).unwrap();
        assert_eq!(pnl["capital"], d["capital"], "{date}");
    }

    // --resume: the next days start from the stored capital; without it, from 25 000.
    run(with(&[
        "--from",
        "2025-05-07",
        "--resume",
        "--out",
        b.to_str().unwrap(),
    ]));
    run(with(&[
        "--from",
        "2025-05-07",
        "--out",
        c.to_str().unwrap(),
    ]));
    let start = |days: &[serde_json::Value]| {
        days[0]["capital"].as_f64().unwrap() - days[0]["pnl"].as_f64().unwrap()
    };
    assert!((start(&days_of(&b)) - capital_a).abs() < 1e-6);
    assert!((start(&days_of(&c)) - 25_000.0).abs() < 1e-6);

    // An unreachable store is an error naming it, before anything runs.
    let out = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args([
            "backtest",
            "--no-plot",
            "--engine",
            "nautilus",
            "--redis",
            "redis://127.0.0.1:1",
            "--out",
            dir.path().join("d").to_str().unwrap(),
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("redis://127.0.0.1:1"));
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

/// `paper --ob-from-store` installs the store-backed OB provider into the node's engine: with a
/// real Redis holding one symbol's OB feature dict in its shard map (as `dolphin ob-stream
/// --redis` writes it), the dry run reports the provider and that symbol; without `--redis` the
/// flag is refused by name.
#[test]
fn paper_ob_from_store_reads_the_shard_maps() {
    let redis = match dolphin_store::testkit::RedisServer::start() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("note: redis-server unavailable ({e}); skipping");
            return;
        }
    };
    let mem = dolphin_store::RedisMemory::connect(dolphin_store::RedisConfig::single(&redis.url()))
        .unwrap();
    let row = dolphin_orderbook::FeatureRow {
        sample_ms: 1_746_403_200_000,
        asset: "BTCUSDT".into(),
        features: dolphin_orderbook::AssetFeatures {
            imbalance_ma5: -0.2,
            depth_quality: 1.1,
            ..Default::default()
        },
        market: dolphin_orderbook::MacroFeatures {
            n_assets: 1,
            ..Default::default()
        },
    };
    let v = serde_json::to_string(&dolphin_live::ObFeatureValue::from(&row)).unwrap();
    dolphin_store::SystemMemory::put(&mem, dolphin_store::shard_map("BTCUSDT"), "BTCUSDT", &v)
        .unwrap();
    let out = dolphin(&[
        "paper",
        "--dry-run",
        "--assets",
        "BTCUSDT,ETHUSDT",
        "--redis",
        &redis.url(),
        "--ob-from-store",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("store shard maps (1 symbols so far)"),
        "OB provider row missing in\n{table}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(["paper", "--dry-run", "--ob-from-store"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--redis"));
}
