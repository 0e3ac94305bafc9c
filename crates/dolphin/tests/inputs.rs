//! The input rule at the command level (issue 14 item 1; docs/INPUTS.md): the built `dolphin`
//! run on the shipped sample with one defect at a time. A rejected defect exits non-zero with
//! an error naming the file and field and writes nothing; an accepted one exits 0 with a
//! warning line, a summary-table count and `warnings` in `run.json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

fn dolphin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .output()
        .expect("dolphin runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs and expects a rejection whose message contains every one of `needles`.
fn rejected(args: &[&str], needles: &[&str]) -> String {
    let o = dolphin(args);
    let (out, err) = text(&o);
    assert!(
        !o.status.success(),
        "expected a failure; stdout:\n{out}\nstderr:\n{err}"
    );
    for n in needles {
        assert!(err.contains(n), "`{n}` not in stderr:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Runs and expects success; returns (stdout, stderr).
fn accepted(args: &[&str]) -> (String, String) {
    let o = dolphin(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    (out, err)
}

fn run_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The first `n` sample days copied into a fresh folder.
fn days(n: usize) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("days");
    std::fs::create_dir(&dir).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(repo("data/sample/days"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files.iter().take(n) {
        std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
    }
    (tmp, dir)
}

/// Rewrites the day file of `date` in `dir` after `edit`.
fn edit_day(dir: &Path, date: &str, edit: impl FnOnce(&mut dolphin_core::DayFrame)) -> PathBuf {
    let p = dir.join(format!("{date}.parquet"));
    let mut f = dolphin_data::read_day_file(&p).unwrap();
    edit(&mut f);
    dolphin_data::write_day_file(&p, &f).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn backtest_on_valid_sample_has_no_warnings() {
    let (tmp, dir) = days(2);
    let out = tmp.path().join("out");
    let (stdout, stderr) =
        accepted(&["backtest", "--data", s(&dir), "--out", s(&out), "--no-plot"]);
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(stdout.contains("| input warnings "), "{stdout}");
    let run = run_json(&out.join("run.json"));
    assert_eq!(run["warnings_total"], 0);
    assert_eq!(run["warnings"], serde_json::json!([]));
    assert!(run["missing_values"]["rows"].as_u64().unwrap() > 0);
}

#[test]
fn backtest_rejects_header_only_day_file() {
    let (tmp, dir) = days(3);
    let p = edit_day(&dir, "2025-05-05", |f| {
        let assets = f.assets.clone();
        *f = dolphin_core::DayFrame::empty(f.date, assets);
    });
    let out = tmp.path().join("out");
    rejected(
        &["backtest", "--data", s(&dir), "--out", s(&out), "--no-plot"],
        &[s(&p), "no rows"],
    );
    assert!(!out.exists(), "nothing is written for a rejected input");
}

#[test]
fn backtest_rejects_truncated_day_file() {
    let (tmp, dir) = days(2);
    let p = dir.join("2025-05-05.parquet");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let out = tmp.path().join("out");
    rejected(
        &["backtest", "--data", s(&dir), "--out", s(&out)],
        &[s(&p), "parquet"],
    );
    assert!(!out.exists());
}

#[test]
fn backtest_rejects_infinite_signal() {
    let (tmp, dir) = days(2);
    let p = edit_day(&dir, "2025-05-05", |f| f.vel_div[5] = f64::NEG_INFINITY);
    let out = tmp.path().join("out");
    rejected(
        &["backtest", "--data", s(&dir), "--out", s(&out)],
        &[s(&p), "row 5", "`vel_div`", "-inf"],
    );
    // mc reads day files by the same rule.
    rejected(
        &[
            "mc",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--paths",
            "2",
            "--no-plot",
        ],
        &[s(&p), "`vel_div`"],
    );
    assert!(!out.exists());
}

#[test]
fn backtest_counts_nan_signals_and_warns_bad_prices() {
    let (tmp, dir) = days(2);
    let mut asset = String::new();
    let p = edit_day(&dir, "2025-05-05", |f| {
        asset = f.assets[1].clone();
        let n = f.n_assets();
        f.prices[10 * n + 1] = -1.0;
        f.prices[11 * n + 1] = 0.0;
        f.vel_div[20] = f64::NAN;
    });
    let out = tmp.path().join("out");
    let (stdout, stderr) =
        accepted(&["backtest", "--data", s(&dir), "--out", s(&out), "--no-plot"]);
    assert!(
        stderr.contains(&format!(
            "warning: {}: row 10: {asset}: price -1 is not > 0",
            s(&p)
        )),
        "{stderr}"
    );
    assert!(stderr.contains("row 11"), "{stderr}");
    assert!(stdout.contains("| input warnings  |"), "{stdout}");
    assert!(
        stdout.contains("2 (see warning lines / run.json)"),
        "{stdout}"
    );
    let run = run_json(&out.join("run.json"));
    assert_eq!(run["warnings_total"], 2);
    assert_eq!(run["warnings"][0]["file"], s(&p));
    assert_eq!(run["warnings"][0]["row"], 10);
    assert_eq!(run["warnings"][0]["field"], asset.as_str());
    assert_eq!(run["missing_values"]["bad_prices"], 2);
    assert!(run["missing_values"]["nan_vel_div"].as_u64().unwrap() >= 1);
}

#[test]
fn backtest_rejects_empty_indicator_dir_and_takes_an_ng3_folder() {
    let (tmp, dir) = days(2);
    let empty = tmp.path().join("ind");
    std::fs::create_dir(&empty).unwrap();
    let out = tmp.path().join("out");
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--indicators",
            s(&empty),
        ],
        &[s(&empty), "dvol_btc_daily.csv"],
    );
    assert!(!out.exists());
    // A folder of NG3 `YYYY-MM-DD/scan_*__Indicators.npz` turns on ACBv6 (B §3.2).
    let ng3 = repo("crates/data/tests/fixtures/eigenvalues");
    let (stdout, _) = accepted(&[
        "backtest",
        "--data",
        s(&dir),
        "--out",
        s(&out),
        "--no-plot",
        "--indicators",
        s(&ng3),
    ]);
    assert!(stdout.contains("ACBv6"), "{stdout}");
    let acb = std::fs::read_to_string(out.join("acb.jsonl")).unwrap();
    assert!(acb.lines().count() == 2, "{acb}");
    // It carries funding itself: --funding with it is refused.
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--indicators",
            s(&ng3),
            "--funding",
            s(&empty),
        ],
        &["NG3", "--funding"],
    );
}

#[test]
fn backtest_rejects_empty_layer_inputs() {
    let (tmp, dir) = days(2);
    let out = tmp.path().join("out");
    let empty = tmp.path().join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--posture-trace",
            s(&empty),
        ],
        &[s(&empty), "no readings"],
    );
    let env = tmp.path().join("envelope.json");
    std::fs::write(&env, "").unwrap();
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--mc",
            s(&env),
        ],
        &[s(&env)],
    );
    let table = tmp.path().join("ob.parquet");
    dolphin_orderbook::FeatureTable { rows: vec![] }
        .write_parquet(&table)
        .unwrap();
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--ob",
            s(&table),
        ],
        &[s(&table), "no rows"],
    );
    let cfg = tmp.path().join("cfg.yml");
    std::fs::write(&cfg, "name: x\nengine:\n  max_hold_barz: 3\n").unwrap();
    rejected(
        &[
            "backtest",
            "--data",
            s(&dir),
            "--out",
            s(&out),
            "--config",
            s(&cfg),
        ],
        &[s(&cfg), "max_hold_barz"],
    );
    assert!(!out.exists());
}

/// Three sample kline files cut to their header and first 60 lines, as plain CSV.
fn klines() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("klines");
    std::fs::create_dir(&dir).unwrap();
    for sym in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        let p = repo("data/sample/klines-1m").join(format!("{sym}-1m.csv.gz"));
        let text = gunzip(&p);
        let head: Vec<&str> = text.lines().take(61).collect();
        std::fs::write(dir.join(format!("{sym}-1m.csv")), head.join("\n") + "\n").unwrap();
    }
    (tmp, dir)
}

/// The text of a gzip file (`gzip -dc`; `dolphin scan` reads both, the tests cut plain text).
fn gunzip(p: &Path) -> String {
    let o = Command::new("gzip")
        .arg("-dc")
        .arg(p)
        .output()
        .expect("gzip runs");
    String::from_utf8(o.stdout).unwrap()
}

/// Replaces line `n` (1-based) of a file.
fn edit_line(p: &Path, n: usize, f: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[n - 1] = f(&lines[n - 1]);
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
}

#[test]
fn scan_warns_about_bad_closes() {
    let (tmp, dir) = klines();
    let p = dir.join("ETHUSDT-1m.csv");
    edit_line(&p, 5, |l| {
        let mut f: Vec<&str> = l.split(',').collect();
        f[4] = "-3";
        f.join(",")
    });
    let out = tmp.path().join("days");
    let (stdout, stderr) = accepted(&["scan", "--klines", s(&dir), "--out", s(&out)]);
    assert!(
        stderr.contains(&format!(
            "warning: {}:5: close: `-3` is not a price > 0",
            s(&p)
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 (see warning lines / run.json)"),
        "{stdout}"
    );
    let run = run_json(&out.join("run.json"));
    assert_eq!(run["warnings_total"], 1);
    assert_eq!(run["warnings"][0]["row"], 5);
    assert_eq!(run["warnings"][0]["field"], "close");
}

#[test]
fn scan_rejects_empty_and_header_only_klines() {
    let (tmp, dir) = klines();
    let out = tmp.path().join("days");
    let p = dir.join("SOLUSDT-1m.csv");
    std::fs::write(&p, "").unwrap();
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &[s(&p), "the file is empty"],
    );
    std::fs::write(&p, "open_time,open,high,low,close,volume\n").unwrap();
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &[s(&p), "header or blank"],
    );
    assert!(!out.exists());
}

#[test]
fn scan_rejects_ragged_unordered_and_mixed_klines() {
    let (tmp, dir) = klines();
    let out = tmp.path().join("days");
    let p = dir.join("BTCUSDT-1m.csv");
    let original = std::fs::read_to_string(&p).unwrap();
    edit_line(&p, 7, |l| format!("{l},extra"));
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &[s(&p), "line 7", "fields"],
    );
    std::fs::write(&p, &original).unwrap();
    // Swap lines 8 and 9: an earlier open time.
    let mut lines: Vec<&str> = original.lines().collect();
    lines.swap(7, 8);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &[s(&p), "line 9", "earlier"],
    );
    std::fs::write(&p, &original).unwrap();
    // Duplicate a line.
    let mut lines: Vec<&str> = original.lines().collect();
    lines.insert(9, lines[9]);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &[s(&p), "duplicate open time"],
    );
    std::fs::write(&p, &original).unwrap();
    // A 5m file among 1m files.
    std::fs::rename(&p, dir.join("BTCUSDT-5m.csv")).unwrap();
    rejected(
        &["scan", "--klines", s(&dir), "--out", s(&out)],
        &["BTCUSDT-5m.csv", "differs from"],
    );
    assert!(!out.exists());
}

/// The first `n` lines of the shared BTC depth capture, or None (with a note) without it.
fn capture_lines(n: usize) -> Option<Vec<String>> {
    let p = repo("../shared/data/depth/btcusdt_20240808.gz");
    if !p.exists() {
        eprintln!("note: {} not found; capture test skipped", p.display());
        return None;
    }
    let text = gunzip(&p);
    Some(text.lines().take(n).map(String::from).collect())
}

fn write_lines(p: &Path, lines: &[String]) {
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
}

#[test]
fn ob_rejects_empty_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("btcusdt_x.txt");
    std::fs::write(&cap, "\n\n").unwrap();
    let out = tmp.path().join("f.parquet");
    rejected(
        &["ob", "--capture", s(&cap), "--out", s(&out)],
        &[s(&cap), "no messages"],
    );
    assert!(!out.exists());
}

#[test]
fn ob_capture_defects() {
    let Some(lines) = capture_lines(4000) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f.parquet");
    // Valid cut: features, no warnings.
    let cap = tmp.path().join("btcusdt_cut.txt");
    write_lines(&cap, &lines);
    let (_, stderr) = accepted(&["ob", "--capture", s(&cap), "--out", s(&out)]);
    assert!(!stderr.contains("warning: "), "{stderr}");
    assert_eq!(
        run_json(&tmp.path().join("f.run.json"))["warnings_total"],
        0
    );
    std::fs::remove_file(&out).unwrap();

    // Without its REST snapshot (line 55) no book ever syncs: rejected.
    let no_snap: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains("lastUpdateId"))
        .cloned()
        .collect();
    write_lines(&cap, &no_snap);
    rejected(
        &["ob", "--capture", s(&cap), "--out", s(&out)],
        &["never synced", "BTCUSDT", "snapshot"],
    );
    assert!(!out.exists());

    // A malformed line: file and line named.
    let mut bad = lines.clone();
    bad[9] = bad[9].replacen("\"s\":\"BTCUSDT\"", "\"s\":7", 1);
    write_lines(&cap, &bad);
    rejected(
        &["ob", "--capture", s(&cap), "--out", s(&out)],
        &[&format!("{}:10", s(&cap))],
    );

    // The file name says ETHUSDT, the messages BTCUSDT.
    let eth = tmp.path().join("ethusdt_cut.txt");
    write_lines(&eth, &lines);
    rejected(
        &["ob", "--capture", s(&eth), "--out", s(&out)],
        &["file name says ETHUSDT", "BTCUSDT"],
    );
    assert!(!out.exists());

    // A repeated line: accepted, warned.
    let mut rep = lines.clone();
    rep.insert(100, rep[99].clone());
    write_lines(&cap, &rep);
    let (stdout, stderr) = accepted(&["ob", "--capture", s(&cap), "--out", s(&out)]);
    assert!(
        stderr.contains(&format!(
            "warning: {}:101: local_ts: repeats line 100",
            s(&cap)
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 (see warning lines / run.json)"),
        "{stdout}"
    );
    assert_eq!(
        run_json(&tmp.path().join("f.run.json"))["warnings_total"],
        1
    );
}
