//! `dolphin ob-stream` as a daemon (issue 12): against `dolphin exchange` on a free loopback
//! port it processes the whole replay, stops cleanly on SIGTERM and prints its book health;
//! `--run-for` bounds a run whose exchange is unreachable.
//! Needs the shared captures (`shared/data/depth`) for the first test: it says so and returns
//! when they are absent.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn depth_dir() -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let d = here
        .ancestors()
        .map(|a| a.join("shared/data/depth"))
        .find(|p| p.join("btcusdt_20240808.gz").exists());
    if d.is_none() {
        eprintln!("note: shared/data/depth not found beside the repository; skipping");
    }
    d
}

/// Kills the child when dropped (a failed assertion must not leave an exchange running).
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} failed");
}

/// The value column of the summary row `label`.
fn row<'a>(table: &'a str, label: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() >= 3 && cells[1] == label).then(|| cells[2])
        })
        .unwrap_or_else(|| panic!("no row {label:?} in\n{table}"))
}

/// `GET path` on 127.0.0.1:port, the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    r.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn daemon_processes_the_replay_and_stops_on_sigterm() {
    let Some(dir) = depth_dir() else { return };
    let caps = format!(
        "{},{}",
        dir.join("btcusdt_20240808.gz").display(),
        dir.join("ethusdt_20240808.gz").display()
    );
    let mut ex = Reap(
        Command::new(env!("CARGO_BIN_EXE_dolphin"))
            .args([
                "exchange",
                "--captures",
                &caps,
                "--speed",
                "0",
                "--port",
                "0",
                // The service takes every message; at full speed it trails the replay by more
                // than the default 65 536-message buffer (the exchange drops slow consumers).
                "--buffer",
                "1048576",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dolphin exchange"),
    );
    // The exchange's table: the REST URL, the number of events and the last event time.
    let mut table = String::new();
    let mut out = BufReader::new(ex.0.stdout.take().expect("stdout"));
    while !table.contains("| start") {
        let mut l = String::new();
        if out.read_line(&mut l).expect("exchange stdout") == 0 {
            panic!("exchange exited early:\n{table}");
        }
        table.push_str(&l);
    }
    let url = row(&table, "REST").to_string();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let events: u64 = row(&table, "events").parse().unwrap();
    let last_ms: i64 = row(&table, "event time")
        .split(" .. ")
        .nth(1)
        .and_then(|s| s.trim_end_matches(" ms").parse().ok())
        .unwrap();

    let mut svc = Reap(
        Command::new(env!("CARGO_BIN_EXE_dolphin"))
            .args([
                "ob-stream",
                "--exchange-url",
                &url,
                "--store",
                "embedded",
                "--symbols",
                "BTCUSDT,ETHUSDT",
                "--depth-stream",
                "depth@0ms",
                "--trade-stream",
                "trade",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dolphin ob-stream"),
    );
    // Wait until the replay clock reached the last event, then give the service a moment.
    let t = Instant::now();
    loop {
        let clock = http_get(port, "/fapi/v1/time")
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|v| v["serverTime"].as_i64())
            .unwrap_or(0);
        if clock >= last_ms {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "replay too slow");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    signal(&svc.0, "-TERM");
    let st = wait_child(&mut svc.0, Duration::from_secs(15));
    let mut stdout = String::new();
    let mut stderr = String::new();
    svc.0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    svc.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    signal(&ex.0, "-INT");
    wait_child(&mut ex.0, Duration::from_secs(10));

    assert!(st.success(), "ob-stream failed: {st:?}\n{stdout}\n{stderr}");
    assert!(stderr.contains("SIGTERM; shutting down"), "{stderr}");
    assert!(stderr.contains("ob-stream: stopped"), "{stderr}");
    // Every event of the replay was processed (the two snapshot lines came over REST).
    assert_eq!(row(&stdout, "messages"), events.to_string(), "{stdout}");
    assert_eq!(row(&stdout, "feature dicts written"), "1378", "{stdout}");
    assert_eq!(row(&stdout, "symbols in the shard maps"), "2", "{stdout}");
    assert_eq!(row(&stdout, "gaps"), "0");
    assert_eq!(row(&stdout, "reconnects"), "0");
    assert_eq!(row(&stdout, "bad messages"), "0");
    assert_eq!(row(&stdout, "stale samples"), "0");
    assert!(row(&stdout, "bookTicker checked / mismatches").ends_with(" / 0"));
}

#[test]
fn run_for_bounds_a_run_whose_exchange_is_unreachable() {
    // A port nothing listens on: the service retries with backoff until --run-for ends it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args([
            "ob-stream",
            "--exchange-url",
            &format!("http://127.0.0.1:{port}"),
            "--symbols",
            "BTCUSDT",
            "--run-for",
            "1.5",
        ])
        .output()
        .expect("run dolphin ob-stream");
    let wall = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        wall >= Duration::from_millis(1500) && wall < Duration::from_secs(10),
        "{wall:?}"
    );
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(
        stderr.contains("--run-for elapsed; shutting down"),
        "{stderr}"
    );
    assert_eq!(row(&stdout, "books synced"), "0 of 1");
    assert_eq!(row(&stdout, "messages"), "0");
    assert_eq!(
        row(&stdout, "streams"),
        format!(
            "ws://127.0.0.1:{port}/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@aggTrade"
        )
    );
}
