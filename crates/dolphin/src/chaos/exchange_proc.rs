//! The `dolphin exchange` child of a chaos run (docs/LIVE.md §1; docs/CHAOS.md): the local
//! Binance USD-M exchange on a free loopback port replaying depth captures, with the run's
//! websocket faults as its `--faults` plan (`disconnect@T`, `stall@T+D`: event time after the
//! replay start, so a seed's faults land on the same messages at any speed). The replay starts
//! at the first websocket subscription (serve's OB stream). Output in `OUT/logs/exchange.out`.

use crate::chaos::ob_faults;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The depth captures of a run: `../shared/data/depth` when the shared data is next to the
/// checkout, else the shipped 30-second cut (`data/sample/ob/depth`, provenance in
/// `data/sample/ob/README.md`).
pub fn default_captures() -> Vec<PathBuf> {
    let shared = crate::paths::repo_path("../shared/data/depth");
    let names = ["btcusdt_20240808.gz", "ethusdt_20240808.gz"];
    if names.iter().all(|n| shared.join(n).exists()) {
        return names.iter().map(|n| shared.join(n)).collect();
    }
    let shipped = crate::paths::repo_path("data/sample/ob/depth");
    ["btcusdt_20240808_30s.gz", "ethusdt_20240808_30s.gz"]
        .iter()
        .map(|n| shipped.join(n))
        .collect()
}

/// Receive-time span of the captures (first to last line, ms): sets the exchange's speed so
/// that the recording outlasts the run.
pub fn captures_span_ms(captures: &[PathBuf]) -> anyhow::Result<i64> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in captures {
        let f = std::fs::File::open(p).with_context(|| format!("open {}", p.display()))?;
        let r: Box<dyn std::io::Read> = if p.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(f))
        } else {
            Box::new(f)
        };
        for line in BufReader::new(r).lines() {
            let line = line.with_context(|| format!("read {}", p.display()))?;
            let Some(ns) = line.split(' ').next().and_then(|t| t.parse::<i64>().ok()) else {
                continue;
            };
            lo = lo.min(ns / 1_000_000);
            hi = hi.max(ns / 1_000_000);
        }
    }
    if lo > hi {
        bail!("no capture lines in {captures:?}");
    }
    Ok(hi - lo)
}

pub struct ExchangeProc {
    child: Option<Child>,
    /// REST base, `http://127.0.0.1:PORT`.
    pub url: String,
    /// First event time of the replay (fault offsets count from here), ms.
    pub t0_ms: i64,
    http: reqwest::blocking::Client,
}

impl ExchangeProc {
    /// The exchange of a chaos run: `captures` (empty: [`default_captures`]) at a speed that
    /// makes the recording last `coverage_s` seconds of wall time, with `n` websocket faults
    /// of `seed` as its fault plan. Returns it, the plan and what `chaos.json` says about it.
    pub fn for_run(
        exe: &Path,
        captures: &[PathBuf],
        seed: u64,
        n: usize,
        coverage_s: u64,
        out: &Path,
    ) -> anyhow::Result<(Self, Vec<ob_faults::PlannedObFault>, serde_json::Value)> {
        let captures = if captures.is_empty() {
            default_captures()
        } else {
            captures.to_vec()
        };
        let coverage_ms = (coverage_s.max(1) * 1000) as i64;
        let xspeed = captures_span_ms(&captures)? as f64 / coverage_ms as f64;
        let plan = ob_faults::plan(seed, n, coverage_ms, xspeed);
        let spec = ob_faults::faults_spec(&plan);
        let x = Self::start(
            exe,
            &captures,
            xspeed,
            &spec,
            &out.join("logs/exchange.out"),
        )?;
        let names: Vec<String> = captures
            .iter()
            .filter_map(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        println!(
            "local exchange {} at {xspeed:.3}x, faults \"{spec}\" ({})",
            x.url,
            names.join(", ")
        );
        let info = serde_json::json!({
            "url": x.url, "speed": xspeed, "faults": spec,
            "captures": captures.iter().map(|c| c.display().to_string()).collect::<Vec<_>>(),
        });
        Ok((x, plan, info))
    }

    /// Starts the exchange and waits (≤ 30 s: it loads the captures) for its table.
    pub fn start(
        exe: &Path,
        captures: &[PathBuf],
        speed: f64,
        faults: &str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let caps = captures
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let err =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let mut child = Command::new(exe)
            .args(["exchange", "--captures", &caps, "--port", "0"])
            .args(["--speed", &format!("{speed}"), "--faults", faults])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .context("start dolphin exchange")?;
        let stdout = child.stdout.take().context("exchange stdout")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut url, mut t0) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while url.is_none() || t0.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                bail!(
                    "dolphin exchange did not print its address within 30 s (log: {})",
                    log.display()
                );
            };
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells.get(1..3) {
                Some(["REST", u]) => url = Some(u.to_string()),
                Some(["event time", span]) => {
                    t0 = span.split(' ').next().and_then(|t| t.parse::<i64>().ok())
                }
                _ => {}
            }
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()?;
        Ok(Self {
            child: Some(child),
            url: url.expect("set above"),
            t0_ms: t0.expect("set above"),
            http,
        })
    }

    /// The replay clock (`/fapi/v1/time`) as ms after the first event; `None` when it does
    /// not answer or the replay has not started.
    pub fn offset_ms(&self) -> Option<i64> {
        let v: serde_json::Value = self
            .http
            .get(format!("{}/fapi/v1/time", self.url))
            .send()
            .ok()?
            .json()
            .ok()?;
        let t = v["serverTime"].as_i64()?;
        (t >= self.t0_ms).then_some(t - self.t0_ms)
    }

    /// Still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for ExchangeProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
