//! `dolphin top` in a 100×30 tmux pane against a running `dolphin api` (issue 13 item 3): the
//! screen shows capital, posture, ACB, MC, heartbeats and trades as the API serves them.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("run tmux")
}

#[test]
fn top_shows_capital_posture_and_heartbeats_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIP top tmux test: tmux not installed (apt-get install tmux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    sample_backtest(&out);
    std::fs::write(
        out.join("heartbeats.jsonl"),
        "{\"ts\":1746316800.0,\"phase\":\"running\",\"service\":\"acb\",\"pid\":1}\n\
         {\"ts\":1746316842.0,\"phase\":\"running\",\"service\":\"watchdog\",\"pid\":1}\n",
    )
    .unwrap();
    std::fs::write(
        out.join("services.json"),
        r#"{"acb":{"restarts":0},"watchdog":{"restarts":2,"last_error":"store timeout"}}"#,
    )
    .unwrap();
    let tok = dir.path().join("tok");
    let (_api, addr) = start_api(&[
        "--out",
        out.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        tok.to_str().unwrap(),
    ]);
    let token = std::fs::read_to_string(&tok).unwrap().trim().to_string();
    let status: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("http://{addr}/api/v1/status"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();

    let socket = format!("dolphin-top-{}", std::process::id());
    let cmd = format!(
        "{} top --url http://{addr} --token-file {}",
        env!("CARGO_BIN_EXE_dolphin"),
        tok.display()
    );
    let o = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
            "-s",
            "top",
            &cmd,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let started = Instant::now();
    let screen = loop {
        let o = tmux(&socket, &["capture-pane", "-p", "-t", "top"]);
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        if s.contains("USDT") && s.contains("watchdog") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "top did not draw:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let path = artifacts("top").join("top.txt");
    std::fs::write(&path, &screen).unwrap();
    eprintln!("{screen}");
    assert_eq!(screen.lines().count(), 30, "a 100x30 pane");
    assert!(screen.lines().all(|l| l.chars().count() <= 100));
    let cap = status["capital"].as_f64().unwrap();
    assert!(
        screen.contains(&format!("{cap:.2} USDT")),
        "capital {cap:.2}"
    );
    assert!(screen.contains(status["posture"]["posture"].as_str().unwrap()));
    assert!(screen.contains(&format!(
        "boost {:.4}",
        status["acb"]["boost"].as_f64().unwrap()
    )));
    assert!(screen.contains(status["mc"]["status"].as_str().unwrap()));
    // Heartbeats in event time: watchdog beat 42 s after acb.
    assert!(screen.contains("acb 42s r0"), "acb heartbeat age");
    assert!(screen.contains("watchdog 0s r2"), "watchdog restarts");
    assert!(screen.contains("store timeout"));
    let last = jsonl(&out.join("trades.jsonl")).pop().unwrap();
    assert!(screen.contains(last["asset"].as_str().unwrap()));
    // q quits and restores the terminal.
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    let started = Instant::now();
    while tmux(&socket, &["has-session", "-t", "top"])
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "top did not quit on q"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&socket, &["kill-server"]);
}
