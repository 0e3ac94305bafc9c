//! Golden tests of the tear sheet (issue 13 item 4): `dolphin backtest --report` on the
//! shipped sample and `dolphin report` on a serve-like folder; every number checked on the
//! page is recomputed here from the run's JSON files.

mod common;
use common::*;

#[test]
fn backtest_report_numbers_equal_the_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    sample_backtest(&out);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let ex = expected(&out);
    assert!(ex.trades > 0, "the sample has trades");

    // Summary.
    assert!(close(cell_f64(&html, "initial_capital"), ex.initial));
    assert_eq!(
        cell(&html, "final_capital").1,
        format!("{:.2}", ex.final_capital)
    );
    assert!(close(cell_f64(&html, "final_capital"), ex.final_capital));
    assert!(close(
        cell_f64(&html, "roi"),
        ex.final_capital / ex.initial - 1.0
    ));
    assert!(close(cell_f64(&html, "total_pnl"), ex.total_pnl));
    assert_eq!(cell(&html, "trades").0, ex.trades.to_string());
    assert_eq!(cell(&html, "days").0, ex.daily.len().to_string());
    assert!(close(
        cell_f64(&html, "win_rate"),
        ex.wins as f64 / ex.trades as f64
    ));
    assert!(close(cell_f64(&html, "max_drawdown"), -ex.max_dd));
    // ... and the summary.json the backtest wrote agrees.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(close(
        summary["final_capital"].as_f64().unwrap(),
        ex.final_capital
    ));
    assert!(close(summary["max_drawdown"].as_f64().unwrap(), ex.max_dd));
    assert!(
        !html.contains("id=\"warnings\""),
        "no warnings on a clean run"
    );

    // Daily and monthly returns.
    for (date, ret, capital) in &ex.daily {
        assert!(
            close(cell_f64(&html, &format!("day:{date}:ret")), *ret),
            "{date}"
        );
        assert_eq!(
            cell(&html, &format!("day:{date}:capital")).1,
            format!("{capital:.2}")
        );
    }
    for (m, ret, trades) in &ex.monthly {
        assert!(
            close(cell_f64(&html, &format!("month:{m}:ret")), *ret),
            "{m}"
        );
        assert_eq!(
            cell(&html, &format!("month:{m}:trades")).0,
            trades.to_string()
        );
    }
    // Exits by reason and per asset.
    for (reason, (n, pnl)) in &ex.exits {
        assert_eq!(
            cell(&html, &format!("exit:{reason}:trades")).0,
            n.to_string()
        );
        assert!(close(cell_f64(&html, &format!("exit:{reason}:pnl")), *pnl));
    }
    for (asset, (n, pnl)) in &ex.assets {
        assert_eq!(
            cell(&html, &format!("asset:{asset}:trades")).0,
            n.to_string()
        );
        assert!(close(cell_f64(&html, &format!("asset:{asset}:pnl")), *pnl));
    }
    // Champion hash and config from run.json.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let hash = run["champion_hash"].as_str().unwrap();
    assert!(html.contains(&format!("<code id=\"champion-hash\">{hash}</code>")));
    // Every chart is there; nothing is loaded from elsewhere.
    for id in [
        "chart-equity",
        "chart-underwater",
        "chart-daily-equity",
        "chart-pnl-hist",
        "chart-exits",
        "chart-leverage-hist",
        "chart-hold-hist",
        "chart-posture",
        "chart-mc",
    ] {
        assert!(html.contains(&format!("<svg id=\"{id}\"")), "{id}");
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("https://"));
    assert_eq!(
        html.matches("http://").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "the only URLs are SVG namespaces"
    );
    // The PnL histogram counts every trade once.
    let hist = &html[html.find("<svg id=\"chart-pnl-hist\"").unwrap()..];
    let hist = &hist[..hist.find("</svg>").unwrap()];
    let counted: usize = hist
        .split("<title>")
        .skip(1)
        .map(|t| {
            let t = &t[..t.find("</title>").unwrap()];
            t.rsplit(": ").next().unwrap().parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(counted, ex.trades);
}

const MIN: i64 = 60_000;

fn reading(ts: i64, hz_nodes: u32) -> String {
    format!(
        r#"{{"ts_ms": {ts}, "hz_nodes": {hz_nodes}, "heartbeat_age_s": 2.0, "mc_status": "OK", "staleness_hours": 0.5, "ob_stale": false, "depth_quality": 1.2, "fill_prob": 0.9, "dvol_spike": false, "drawdown": 0.0}}"#
    )
}

#[test]
fn report_of_a_serve_folder_has_posture_and_acb_timelines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("serve");
    sample_backtest(&out);
    // A serve folder also holds the decision traces (SPEC §8): sensor readings for the
    // posture, ACB decisions at event times, MC status, heartbeats.
    let t0 = 1_746_316_800_000; // 2025-05-04 00:00 UTC
    let trace = [
        reading(t0, 1),
        reading(t0 + 10 * MIN, 0),
        reading(t0 + 11 * MIN, 1),
    ];
    std::fs::write(out.join("posture_trace.jsonl"), trace.join("\n") + "\n").unwrap();
    let acb = format!(
        "{{\"ts_ms\":{t0},\"bar\":0,\"boost\":1.0,\"beta\":0.2}}\n\
         {{\"ts_ms\":{},\"bar\":480,\"boost\":1.3466,\"beta\":0.8}}\n\
         this line is not JSON\n",
        t0 + 480 * MIN
    );
    std::fs::write(out.join("acb.jsonl"), acb).unwrap();
    dolphin(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        dir.path().join("r.html").to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    // Healthy → APEX; no store node → HIBERNATE; one minute later still HIBERNATE (bounded
    // recovery, B §11): the survival stack's answer, as the backtest reads the same trace.
    assert_eq!(cell(&html, "posture:count").0, "3");
    assert_eq!(cell(&html, "posture:APEX").0, "1");
    assert_eq!(cell(&html, "posture:HIBERNATE").0, "2");
    assert_eq!(cell(&html, "acb:count").0, "2");
    assert!(close(cell_f64(&html, "acb:max_boost"), 1.3466));
    assert!(close(cell_f64(&html, "acb:min_beta"), 0.2));
    // The bad line is skipped and counted, naming file and line.
    assert!(html.contains("id=\"warnings\""));
    assert!(
        html.contains("acb.jsonl:3: skipped"),
        "warning names the line"
    );
}

#[test]
fn report_of_a_folder_without_results_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("neither trades.jsonl nor days.jsonl"), "{err}");
    std::fs::write(dir.path().join("trades.jsonl"), "{\"trade_id\": 1}\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trades.jsonl:1:") && err.contains("missing field"),
        "{err}"
    );
}
