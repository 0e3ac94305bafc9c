//! `dolphin sweep`, `dolphin worker` and `dolphin check lookahead` end to end on the shipped
//! sample: the look-ahead check passes (CI runs it here), and three workers on a real
//! `redis-server`, one SIGKILLed mid-job, produce every result exactly once — the same bytes
//! as a local sweep.

use dolphin_store::testkit::{RedisServer, require_redis};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dolphin"))
}

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

#[test]
fn lookahead_check_passes_on_the_sample() {
    let out = bin()
        .args(["check", "lookahead", "--cuts", "12", "--data"])
        .arg(repo("data/sample/days"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ACB causal (expanding w750 threshold)"),
        "{text}"
    );
    assert!(text.contains("PASS: no value at any bar changed"), "{text}");
    // SPEC §3's threshold is reported for what it is, without failing the check.
    assert!(text.contains("KNOWN LOOK-AHEAD"), "{text}");
    assert!(text.contains("column `acb_beta`"), "{text}");
    // Asked to pass with the all-dates threshold, the check fails and names column and bar.
    let out = bin()
        .args([
            "check",
            "lookahead",
            "--cuts",
            "12",
            "--acb",
            "all-dates",
            "--data",
        ])
        .arg(repo("data/sample/days"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("look-ahead found"));
}

const SPEC: &str = "name: workers\nfixed: {engine.vd_enabled: true}\nparams:\n  engine.vd_exit_threshold: [0.005, 0.01, 0.02, 0.03, 0.04]\n  engine.vd_confirm_bars: [1, 2, 3]\nmetric: roi\n";

/// Whether `consumer` holds a job (its pending entries list is not empty).
fn holds_job(server: &RedisServer, stream: &str, consumer: &str) -> bool {
    server
        .command(&["XPENDING", stream, "workers", "-", "+", "10", consumer])
        .is_ok_and(|s| s.starts_with("array([") && s != "array([])")
}

fn worker(url: &str, name: &str) -> Child {
    bin()
        .args([
            "worker",
            "--redis",
            url,
            "--name",
            name,
            "--claim-idle-ms",
            "1500",
            "--exit-when-idle-ms",
            "4000",
            "--hold-ms",
            "250",
            "--data",
        ])
        .arg(repo("data/sample/days"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn fingerprint(out: &Path) -> String {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    meta["fingerprint"].as_str().unwrap().to_string()
}

#[test]
fn three_workers_one_killed_every_job_exactly_once() {
    if !require_redis("three_workers_one_killed_every_job_exactly_once") {
        return;
    }
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("sweep.yml");
    std::fs::write(&spec, SPEC).unwrap();
    let (remote, local) = (dir.path().join("remote"), dir.path().join("local"));

    let sweep = bin()
        .args(["sweep", "--redis", &url, "--wait-secs", "60", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&remote)
        .arg("--data")
        .arg(repo("data/sample/days"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut workers = vec![worker(&url, "w1"), worker(&url, "w2"), worker(&url, "w3")];
    // Wait until w2 holds a job, then kill it (SIGKILL) in the middle of it.
    let fp = dolphin_research::ResearchData::load(&repo("data/sample/days"), None, None)
        .unwrap()
        .fingerprint;
    let keys = dolphin_research::queue::Keys::for_data(&fp);
    let stream = keys.jobs.clone();
    let t0 = Instant::now();
    while !holds_job(&server, &stream, "w2") {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "w2 never took a job"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    workers[1].kill().unwrap(); // SIGKILL
    workers[1].wait().unwrap();
    let out = sweep.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut took_over = false;
    for (i, w) in workers.into_iter().enumerate() {
        if i == 1 {
            continue;
        }
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success());
        took_over |= String::from_utf8_lossy(&o.stderr).contains("took over job");
    }
    assert!(took_over, "the killed worker's job was not taken over");

    // Every configuration exactly once in the results hash and in results.parquet.
    assert_eq!(fingerprint(&remote), fp);
    let n: usize = server
        .command(&["HLEN", &keys.results])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(n, 15); // base + 5 × 3, less the grid point equal to the base
    let pend = server.command(&["XPENDING", &stream, "workers"]).unwrap();
    assert!(
        pend.starts_with("array([int(0)"),
        "jobs still pending: {pend}"
    );
    // The same bytes as the sweep run locally.
    let st = bin()
        .args(["sweep", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&local)
        .arg("--data")
        .arg(repo("data/sample/days"))
        .output()
        .unwrap();
    assert!(st.status.success());
    for f in ["results.parquet", "report.json"] {
        assert_eq!(
            std::fs::read(remote.join(f)).unwrap(),
            std::fs::read(local.join(f)).unwrap(),
            "{f}"
        );
    }
}
