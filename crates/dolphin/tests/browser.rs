//! The dashboard and the tear sheet in a real headless Chromium (Debian's `chromium`, driven
//! by `chromedriver` over WebDriver with fantoccini): no console errors, the numbers on the
//! page equal the API's and the run's files, live updates arrive; screenshots are kept under
//! `<target>/test-artifacts/`. Skips, saying why, when chromium or chromedriver is absent.

mod common;
use common::*;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Chromedriver's log endpoint (`POST /session/{id}/se/log`): the browser console.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or("")))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

struct Driver {
    _proc: Child,
    client: Client,
    _profile: tempfile::TempDir,
}

async fn start_browser(chromium: &Path, driver: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proc = Child(
        std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": chromium.to_str().unwrap(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1280,1800",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps: fantoccini::wd::Capabilities = caps.as_object().unwrap().clone();
    let started = Instant::now();
    let client = loop {
        let conn = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(conn)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a WebDriver session: {e}"),
        }
    };
    Driver {
        _proc: proc,
        client,
        _profile: profile,
    }
}

/// Console entries at level SEVERE (errors), as chromedriver reports them.
async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script")
}

async fn text_of(c: &Client, id: &str) -> String {
    js(
        c,
        &format!("return document.getElementById('{id}').textContent"),
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

async fn wait_js(c: &Client, cond: &str, what: &str) {
    let started = Instant::now();
    loop {
        if js(c, &format!("return !!({cond})")).await == Value::Bool(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = artifacts("browser").join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

fn serve_folder(out: &Path) {
    sample_backtest(out);
    std::fs::write(
        out.join("services.json"),
        r#"{"services":[{"service":"acb","starts":1,"restarts":0,"last_error":null},
            {"service":"trader","starts":2,"restarts":1,"last_error":"day load: timeout"}]}"#,
    )
    .unwrap();
    std::fs::write(
        out.join("heartbeats.jsonl"),
        "{\"ts\":1746316800.0,\"phase\":\"running\",\"service\":\"acb\",\"pid\":1}\n\
         {\"ts\":1746316810.0,\"phase\":\"running\",\"service\":\"trader\",\"pid\":1}\n",
    )
    .unwrap();
    std::fs::write(
        out.join("position.json"),
        r#"{"asset":"ETHUSDT","direction":-1,"entry_price":2000.0,"mark_price":1990.0,"notional":10000.0}"#,
    )
    .unwrap();
}

fn api_json(addr: &str, token: &str, ep: &str) -> Value {
    reqwest::blocking::Client::new()
        .get(format!("http://{addr}/api/v1/{ep}"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn dashboard_in_headless_chromium_shows_the_api_values_live() {
    let Some((chromium, driver)) = browser() else {
        eprintln!(
            "SKIP dashboard browser test: chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    serve_folder(&out);
    let tok = dir.path().join("tok");
    let (_api, addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        tok.to_str().unwrap(),
        "--poll-ms",
        "100",
    ]);
    let token = std::fs::read_to_string(&tok).unwrap().trim().to_string();
    let status = api_json(&addr, &token, "status");
    let health = api_json(&addr, &token, "health");
    let position = api_json(&addr, &token, "position");
    let ex = expected(&out);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = start_browser(&chromium, &driver).await;
        let c = &d.client;
        c.goto(&format!("http://{addr}/#token={token}")).await.unwrap();
        wait_js(c, "document.body.dataset.version", "the first update").await;
        // The token left the address bar.
        assert!(!c.current_url().await.unwrap().as_str().contains(&token));
        // Status cards equal the API's JSON and the files.
        let cap = status["capital"].as_f64().unwrap();
        assert!(close(cap, ex.final_capital));
        assert_eq!(text_of(c, "capital").await, format!("{cap:.2}"));
        assert_eq!(text_of(c, "trade-count").await, ex.trades.to_string());
        assert_eq!(text_of(c, "trade-count").await, status["trades"].to_string());
        assert_eq!(text_of(c, "posture").await, status["posture"]["posture"].as_str().unwrap());
        assert_eq!(
            text_of(c, "acb-boost").await,
            format!("{:.4}", status["acb"]["boost"].as_f64().unwrap())
        );
        assert_eq!(text_of(c, "mc-status").await, status["mc"]["status"].as_str().unwrap());
        assert_eq!(text_of(c, "champion-hash").await, status["champion_hash"].as_str().unwrap());
        // Open position with its live PnL: SHORT 10,000 from 2000 to 1990 = +50.
        let pnl = position["position"]["unrealized_pnl"].as_f64().unwrap();
        assert!(close(pnl, 50.0));
        assert_eq!(text_of(c, "position-pnl").await, format!("{pnl:.2}"));
        // Heartbeats: one row per service, restarts as the API says.
        let rows = js(c, "return [...document.querySelectorAll('#health-body tr')].map(r => [r.dataset.service, r.cells[2].textContent, r.cells[3].textContent])").await;
        let api_rows: Vec<Value> = health["services"].as_array().unwrap().iter()
            .map(|s| json!([s["service"], s["restarts"].to_string(), s["last_error"].as_str().unwrap_or("")]))
            .collect();
        assert_eq!(rows, Value::Array(api_rows));
        // Recent trades: newest first, ids from trades.jsonl.
        let ids = js(c, "return [...document.querySelectorAll('#trades-body tr')].map(r => Number(r.dataset.tradeId))").await;
        let file_ids: Vec<u64> = jsonl(&out.join("trades.jsonl")).iter().rev().take(20).map(|t| t["trade_id"].as_u64().unwrap()).collect();
        assert_eq!(ids, json!(file_ids));
        // Charts drawn from the API's history.
        let pts = js(c, "return Number(document.getElementById('equity-chart').dataset.points)").await;
        assert_eq!(pts, json!(ex.daily.len() + 1));
        let acb_pts = js(c, "return Number(document.getElementById('acb-chart').dataset.points)").await;
        assert_eq!(acb_pts, json!(ex.daily.len()));
        screenshot(c, "dashboard.png").await;

        // Live: a trade closes; the page follows without a reload.
        let mut t = jsonl(&out.join("trades.jsonl")).pop().unwrap();
        let n = ex.trades as u64 + 1;
        t["trade_id"] = json!(n);
        t["pnl"] = json!(-7.25);
        let mut body = std::fs::read_to_string(out.join("trades.jsonl")).unwrap();
        body.push_str(&format!("{t}\n"));
        std::fs::write(out.join("trades.jsonl"), body).unwrap();
        wait_js(c, &format!("document.getElementById('trade-count').textContent === '{n}'"), "the live trade").await;
        let expect_cap = cap - 7.25;
        assert_eq!(text_of(c, "capital").await, format!("{expect_cap:.2}"));
        let first_id = js(c, "return Number(document.querySelector('#trades-body tr').dataset.tradeId)").await;
        assert_eq!(first_id, json!(n));
        screenshot(c, "dashboard-live.png").await;

        let errors = console_errors(c).await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        let page_errors = js(c, "return window.__dolphin.errors").await;
        assert_eq!(page_errors, json!([]));
        d.client.close().await.unwrap();
    });
}

#[test]
fn tear_sheet_in_headless_chromium_shows_the_files_numbers() {
    let Some((chromium, driver)) = browser() else {
        eprintln!(
            "SKIP tear sheet browser test: chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    sample_backtest(&out);
    let ex = expected(&out);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let d = start_browser(&chromium, &driver).await;
        let c = &d.client;
        c.goto(&format!("file://{}", out.join("report.html").display())).await.unwrap();
        wait_js(c, "document.readyState === 'complete'", "the page").await;
        let cell = |k: &str| format!("return document.querySelector('[data-k=\"{k}\"]').textContent");
        assert_eq!(js(c, &cell("final_capital")).await, json!(format!("{:.2}", ex.final_capital)));
        assert_eq!(js(c, &cell("trades")).await, json!(ex.trades.to_string()));
        assert_eq!(
            js(c, &cell("max_drawdown")).await,
            json!(format!("{:+.2}%", -ex.max_dd * 100.0))
        );
        for (date, ret, _) in &ex.daily {
            assert_eq!(
                js(c, &cell(&format!("day:{date}:ret"))).await,
                json!(format!("{:+.2}%", ret * 100.0)),
                "{date}"
            );
        }
        for (reason, (n, _)) in &ex.exits {
            assert_eq!(js(c, &cell(&format!("exit:{reason}:trades"))).await, json!(n.to_string()));
        }
        // Every chart rendered with a size (SVG laid out by the browser).
        let widths = js(c, "return [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width > 100)").await;
        let w = widths.as_array().unwrap();
        assert!(w.len() >= 8 && w.iter().all(|x| x == &json!(true)), "{widths}");
        screenshot(c, "tearsheet.png").await;
        let errors = console_errors(c).await;
        assert!(errors.is_empty(), "console errors: {errors:?}");
        d.client.close().await.unwrap();
    });
}
