//! The HTTP API against a running `dolphin api` process (issue 13 item 1 acceptance): with the
//! token, JSON capital, trade count and posture equal the run's files; without it 401;
//! `/metrics` parses as Prometheus text; a non-loopback bind without a token is refused; live
//! updates arrive by SSE; with a real Redis the store's S §10 values are served.

mod common;
use common::*;
use reqwest::blocking::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const MIN: i64 = 60_000;
const T0: i64 = 1_746_316_800_000; // 2025-05-04 00:00 UTC

fn reading(ts: i64, hz_nodes: u32) -> String {
    format!(
        r#"{{"ts_ms": {ts}, "hz_nodes": {hz_nodes}, "heartbeat_age_s": 2.0, "mc_status": "OK", "staleness_hours": 0.5, "ob_stale": false, "depth_quality": 1.2, "fill_prob": 0.9, "dvol_spike": false, "drawdown": 0.0}}"#
    )
}

/// A serve-like run folder: the sample backtest's results plus the service files.
fn serve_folder(out: &Path) {
    sample_backtest(out);
    let trace = [
        reading(T0, 1),
        reading(T0 + 10 * MIN, 0),
        reading(T0 + 11 * MIN, 1),
    ];
    std::fs::write(out.join("posture_trace.jsonl"), trace.join("\n") + "\n").unwrap();
    let hb = format!(
        "{{\"ts\":{},\"phase\":\"running\",\"service\":\"acb\",\"pid\":1}}\n\
         {{\"ts\":{},\"phase\":\"running\",\"service\":\"trader\",\"pid\":1}}\n",
        T0 as f64 / 1000.0,
        (T0 + 30_000) as f64 / 1000.0
    );
    std::fs::write(out.join("heartbeats.jsonl"), hb).unwrap();
    std::fs::write(
        out.join("services.json"),
        r#"{"acb": {"starts": 1, "restarts": 0, "retries": 0, "last_error": null},
            "trader": {"starts": 2, "restarts": 1, "retries": 3, "last_error": "day load: timeout"}}"#,
    )
    .unwrap();
}

fn get(c: &Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut r = c.get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r.send().expect("request");
    (resp.status().as_u16(), resp.text().unwrap())
}

fn get_json(c: &Client, url: &str, token: &str) -> Value {
    let (code, body) = get(c, url, Some(token));
    assert_eq!(code, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Parses Prometheus text exposition format 0.0.4; returns (name{labels}, value) samples.
fn parse_prometheus(text: &str) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ctx = || format!("line {}: {line}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap_or_else(|| panic!("{}", ctx()));
            assert!(valid_name(name), "{}", ctx());
            match kind {
                "TYPE" => assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"]
                        .contains(&parts.next().unwrap_or("")),
                    "{}",
                    ctx()
                ),
                "HELP" => {}
                _ => panic!("unknown comment {}", ctx()),
            }
            continue;
        }
        let (series, value) = match line.find('}') {
            Some(j) => (&line[..=j], line[j + 1..].trim()),
            None => {
                let j = line.find(' ').unwrap_or_else(|| panic!("{}", ctx()));
                (&line[..j], line[j + 1..].trim())
            }
        };
        let (name, labels) = match series.find('{') {
            Some(j) => (&series[..j], &series[j..]),
            None => (series, ""),
        };
        assert!(valid_name(name), "{}", ctx());
        if !labels.is_empty() {
            let inner = &labels[1..labels.len() - 1];
            for pair in split_labels(inner) {
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{}", ctx()));
                assert!(valid_name(k), "{}", ctx());
                assert!(
                    v.starts_with('"') && v.ends_with('"') && v.len() >= 2,
                    "{}",
                    ctx()
                );
            }
        }
        let v = value.split(' ').next().unwrap();
        let v: f64 = match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("value {}", ctx())),
        };
        out.push((name.to_string(), labels.to_string(), v));
    }
    out
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        })
}

fn split_labels(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut in_q, mut esc) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '\\' if in_q => esc = !esc,
            '"' if !esc => in_q = !in_q,
            ',' if !in_q => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => esc = false,
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[test]
fn api_answers_from_the_run_files_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    serve_folder(&out);
    let token_file = dir.path().join("secret/api.token");
    let (_child, addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        token_file.to_str().unwrap(),
        "--poll-ms",
        "100",
    ]);
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "token file only for its owner");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    let base = format!("http://{addr}");
    let c = Client::new();

    // ping and metrics are public; everything else needs the token.
    assert_eq!(get(&c, &format!("{base}/api/v1/ping"), None).0, 200);
    for ep in [
        "status", "health", "pnl", "trades", "position", "posture", "acb", "services", "events",
    ] {
        let url = format!("{base}/api/v1/{ep}");
        assert_eq!(get(&c, &url, None).0, 401, "{ep} without token");
        assert_eq!(
            get(&c, &url, Some("wrong-token-0123456789")).0,
            401,
            "{ep} wrong token"
        );
    }

    let ex = expected(&out);
    let status = get_json(&c, &format!("{base}/api/v1/status"), &token);
    assert!(
        close(status["capital"].as_f64().unwrap(), ex.final_capital),
        "{status}"
    );
    assert_eq!(status["capital_source"], "days.jsonl");
    assert_eq!(status["trades"].as_u64().unwrap() as usize, ex.trades);
    assert_eq!(status["days"].as_u64().unwrap() as usize, ex.daily.len());
    // The trace: healthy → APEX, store down → HIBERNATE, still HIBERNATE a minute later.
    assert_eq!(status["posture"]["posture"], "HIBERNATE");
    assert_eq!(status["posture"]["ts_ms"].as_i64().unwrap(), T0 + 11 * MIN);
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(status["champion_hash"], run["champion_hash"]);
    let last_day = jsonl(&out.join("days.jsonl")).pop().unwrap();
    assert_eq!(status["acb"]["boost"], last_day["boost"]);
    assert_eq!(status["mc"]["status"], last_day["mc_status"]);

    let trades = get_json(&c, &format!("{base}/api/v1/trades?tail=3"), &token);
    let file_trades = jsonl(&out.join("trades.jsonl"));
    assert_eq!(
        trades["total"].as_u64().unwrap() as usize,
        file_trades.len()
    );
    assert_eq!(
        trades["trades"].as_array().unwrap()[..],
        file_trades[file_trades.len() - 3..]
    );
    let page = get_json(
        &c,
        &format!("{base}/api/v1/trades?offset=1&limit=2"),
        &token,
    );
    assert_eq!(page["trades"].as_array().unwrap()[..], file_trades[1..3]);

    let pnl = get_json(&c, &format!("{base}/api/v1/pnl"), &token);
    let days = pnl["days"].as_array().unwrap();
    assert_eq!(days.len(), ex.daily.len());
    for (d, (date, ret, capital)) in days.iter().zip(&ex.daily) {
        assert_eq!(d["date"].as_str().unwrap(), date);
        assert!(close(d["return"].as_f64().unwrap(), *ret));
        assert!(close(d["capital"].as_f64().unwrap(), *capital));
    }
    let posture = get_json(&c, &format!("{base}/api/v1/posture"), &token);
    let pts: Vec<&str> = posture["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["posture"].as_str().unwrap())
        .collect();
    assert_eq!(pts, ["APEX", "HIBERNATE", "HIBERNATE"]);
    let acb = get_json(&c, &format!("{base}/api/v1/acb"), &token);
    assert_eq!(acb["points"].as_array().unwrap().len(), ex.daily.len());

    let health = get_json(&c, &format!("{base}/api/v1/health"), &token);
    let svc: Vec<&Value> = health["services"].as_array().unwrap().iter().collect();
    let trader = svc.iter().find(|s| s["service"] == "trader").unwrap();
    assert_eq!(trader["restarts"], 1);
    assert_eq!(trader["last_error"], "day load: timeout");
    assert_eq!(trader["heartbeat_age_s"].as_f64().unwrap(), 0.0);
    let acb_svc = svc.iter().find(|s| s["service"] == "acb").unwrap();
    assert_eq!(
        acb_svc["heartbeat_age_s"].as_f64().unwrap(),
        30.0,
        "event-time age"
    );
    let services = get_json(&c, &format!("{base}/api/v1/services"), &token);
    assert_eq!(services["services"].as_array().unwrap().len(), 2);
    let position = get_json(&c, &format!("{base}/api/v1/position"), &token);
    assert_eq!(position["open"], false);

    // Prometheus text, with the API's own series.
    let (code, text) = get(&c, &format!("{base}/metrics"), None);
    assert_eq!(code, 200);
    let samples = parse_prometheus(&text);
    let capital = samples
        .iter()
        .find(|s| s.0 == "dolphin_api_capital_usdt")
        .expect("capital gauge");
    assert!(close(capital.2, ex.final_capital));
    let trades_g = samples
        .iter()
        .find(|s| s.0 == "dolphin_api_run_trades")
        .unwrap();
    assert_eq!(trades_g.2 as usize, ex.trades);
    assert!(
        samples
            .iter()
            .any(|s| s.0 == "dolphin_api_requests_total" && s.1.contains("status=\"401\"")),
        "401s are counted"
    );
    assert!(!text.contains(&token), "the token never appears in metrics");
}

#[test]
fn sse_pushes_an_update_when_the_run_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    serve_folder(&out);
    let token_file = dir.path().join("tok");
    let (_child, addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        token_file.to_str().unwrap(),
        "--poll-ms",
        "50",
    ]);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    let c = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let resp = c
        .get(format!("http://{addr}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut lines = BufReader::new(resp).lines();
    let mut next_update = || -> Value {
        let mut event = String::new();
        loop {
            let l = lines.next().expect("stream open").unwrap();
            if let Some(e) = l.strip_prefix("event:") {
                event = e.trim().to_string();
            } else if let Some(d) = l.strip_prefix("data:")
                && event == "update"
            {
                return serde_json::from_str(d.trim()).unwrap();
            }
        }
    };
    let first = next_update();
    let n = first["status"]["trades"].as_u64().unwrap();
    // A trader closes one more trade: append it as serve would.
    let mut trades = jsonl(&out.join("trades.jsonl"));
    let mut t = trades.pop().unwrap();
    t["trade_id"] = Value::from(n + 1);
    t["pnl"] = Value::from(12.5);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("trades.jsonl"))
        .unwrap();
    use std::io::Write;
    writeln!(f, "{t}").unwrap();
    drop(f);
    let started = Instant::now();
    let second = loop {
        let u = next_update();
        if u["status"]["trades"].as_u64().unwrap() == n + 1 {
            break u;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no update");
    };
    assert!(second["version"].as_u64().unwrap() > first["version"].as_u64().unwrap());
    // The trade is not in a day yet: capital = initial + every trade's PnL.
    assert_eq!(second["status"]["capital_source"], "trades.jsonl");
    let cap = second["status"]["capital"].as_f64().unwrap();
    let prev = first["status"]["capital"].as_f64().unwrap();
    assert!(close(cap, prev + 12.5), "{cap} vs {prev} + 12.5");
    let recent = second["recent_trades"].as_array().unwrap();
    assert_eq!(recent.last().unwrap()["trade_id"].as_u64().unwrap(), n + 1);
}

#[test]
fn non_loopback_bind_without_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args([
            "api",
            "--out",
            dir.path().to_str().unwrap(),
            "--bind",
            "0.0.0.0:0",
            "--no-auth",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to bind 0.0.0.0:0 without a token"),
        "{err}"
    );
    // A world-readable token file is refused too.
    let f = dir.path().join("tok");
    std::fs::write(&f, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args([
            "api",
            "--out",
            dir.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--token-file", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("readable by others"), "{err}");
    assert!(
        !err.contains("0123456789abcdef"),
        "the token is never printed"
    );
}

#[test]
fn store_values_are_served_from_a_real_redis() {
    use dolphin_store::schema::{
        DOLPHIN_FEATURES, DOLPHIN_STATE_BLUE, Extra, KEY_ACB_BOOST, KEY_LATEST, SafetyValue,
        write_safety,
    };
    use dolphin_store::testkit::{RedisServer, require_redis};
    use dolphin_store::{RedisConfig, RedisMemory, SystemMemory};
    if !require_redis("store_values_are_served_from_a_real_redis") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let mem = RedisMemory::connect(RedisConfig::single(&server.url())).unwrap();
    let safety = SafetyValue {
        posture: dolphin_core::Posture::Stalker,
        rm: 0.8,
        extra: Extra::new(),
    };
    assert!(write_safety(&mem, None, &safety).unwrap());
    mem.put(
        DOLPHIN_FEATURES,
        KEY_ACB_BOOST,
        r#"{"boost":1.35,"beta":0.8}"#,
    )
    .unwrap();
    mem.put(
        DOLPHIN_STATE_BLUE,
        KEY_LATEST,
        r#"{"capital":25123.45,"date":"2025-05-11","pnl":1.0,"position":{"asset":"ETHUSDT","direction":-1,"entry_price":2000.0,"mark_price":1990.0,"notional":10000.0}}"#,
    )
    .unwrap();
    mem.beat(
        "trader",
        r#"{"ts":1746316800.0,"phase":"running","service":"trader","pid":7}"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    serve_folder(&out);
    let token_file = dir.path().join("tok");
    let (_child, addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--store",
        &server.url(),
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    let c = Client::new();
    let base = format!("http://{addr}");
    let status = get_json(&c, &format!("{base}/api/v1/status"), &token);
    assert_eq!(status["capital"].as_f64().unwrap(), 25123.45);
    assert_eq!(status["capital_source"], "store");
    assert_eq!(status["posture"]["posture"], "STALKER");
    assert_eq!(status["posture"]["source"], "store");
    assert_eq!(status["acb"]["boost"].as_f64().unwrap(), 1.35);
    assert_eq!(status["store"]["backend"], "redis");
    let pos = get_json(&c, &format!("{base}/api/v1/position"), &token);
    assert_eq!(pos["open"], true);
    // SHORT 10,000 notional from 2000 to 1990: +0.5 % = +50 USDT.
    assert!(close(
        pos["position"]["unrealized_pnl"].as_f64().unwrap(),
        50.0
    ));
    let health = get_json(&c, &format!("{base}/api/v1/health"), &token);
    let trader = health["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "trader")
        .unwrap()
        .clone();
    assert_eq!(trader["age_clock"], "store");
    let age = trader["heartbeat_age_s"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
}

/// Reads `child`'s stdout until a line starts with `prefix`; returns that line. Every line is
/// kept in `seen` for the failure message.
fn read_until(lines: &mut impl Iterator<Item = std::io::Result<String>>, prefix: &str) -> String {
    let mut seen = Vec::new();
    for l in lines.by_ref() {
        let l = l.expect("stdout");
        if l.starts_with(prefix) {
            return l;
        }
        seen.push(l);
    }
    panic!(
        "no line starting with {prefix:?}; stdout was:\n{}",
        seen.join("\n")
    );
}

/// `dolphin serve --api` (issue 13 acceptance 1, against a real serve run): the API runs inside
/// the serve process on the services' own embedded store. After the replay its capital and trade
/// count equal the run's files, its posture (from the store) equals what a files-only
/// `dolphin api` derives from the run's posture trace, 401 without the token; SIGTERM stops it.
#[test]
fn serve_api_answers_for_a_real_serve_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("serve");
    let token_file = dir.path().join("api.token");
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_dolphin"))
            .args(["serve", "--replay"])
            .arg(repo("data/sample/days"))
            .args(["--speed", "0", "--out"])
            .arg(&out)
            .args(["--api", "--bind", "127.0.0.1:0", "--poll-ms", "50"])
            .arg("--token-file")
            .arg(&token_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start dolphin serve --api"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = read_until(&mut lines, "dolphin api listening on http://");
    let addr = first["dolphin api listening on http://".len()..].to_string();
    read_until(&mut lines, "replay finished; the API stays up");
    std::thread::spawn(move || for _ in lines {});

    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    let base = format!("http://{addr}");
    let c = Client::new();
    assert_eq!(get(&c, &format!("{base}/api/v1/status"), None).0, 401);
    let ex = expected(&out);
    assert!(ex.trades > 0, "the sample replay trades");
    // The watcher polls every 50 ms: wait for the snapshot that has read the final files.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = get_json(&c, &format!("{base}/api/v1/status"), &token);
        if s["trades"].as_u64() == Some(ex.trades as u64) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        close(status["capital"].as_f64().unwrap(), ex.final_capital),
        "{status}"
    );
    assert_eq!(status["trades"].as_u64().unwrap() as usize, ex.trades);
    assert_eq!(status["days"].as_u64().unwrap() as usize, ex.daily.len());
    assert_eq!(status["posture"]["source"], "store", "{status}");
    assert_eq!(status["acb"]["source"], "store", "{status}");

    // The same folder seen from the files alone, by a separate `dolphin api` process.
    let files_token = dir.path().join("files.token");
    let (_files_api, files_addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--store",
        "none",
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        files_token.to_str().unwrap(),
    ]);
    let ft = std::fs::read_to_string(&files_token)
        .unwrap()
        .trim()
        .to_string();
    let from_files = get_json(&c, &format!("http://{files_addr}/api/v1/status"), &ft);
    assert_eq!(from_files["posture"]["source"], "posture_trace.jsonl");
    assert_eq!(
        status["posture"]["posture"], from_files["posture"]["posture"],
        "store posture vs the posture trace: {status} / {from_files}"
    );
    assert!(status["posture"]["posture"].is_string());
    assert_eq!(status["trades"], from_files["trades"]);
    assert!(close(
        status["capital"].as_f64().unwrap(),
        from_files["capital"].as_f64().unwrap()
    ));

    // SIGTERM: the serve process stops its API and exits cleanly.
    let pid = child.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            assert!(st.success(), "serve --api exit status after SIGTERM: {st}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve --api did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
