//! Helpers shared by the observability tests: running the binary, reading run files, reading
//! values back from the tear sheet's HTML.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

pub fn dolphin(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .output()
        .expect("run dolphin");
    assert!(
        out.status.success(),
        "dolphin {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dolphin backtest --report` on the shipped sample into `out`.
pub fn sample_backtest(out: &Path) {
    dolphin(&[
        "backtest",
        "--out",
        out.to_str().unwrap(),
        "--no-plot",
        "--report",
    ]);
}

pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(data-v, text)` of the cell `data-k="key"` in the tear sheet.
pub fn cell(html: &str, key: &str) -> (String, String) {
    let pat = format!("data-k=\"{key}\" data-v=\"");
    let i = html
        .find(&pat)
        .unwrap_or_else(|| panic!("no cell {key} in the report"))
        + pat.len();
    let raw = &html[i..i + html[i..].find('"').unwrap()];
    let gt = i + html[i..].find('>').unwrap() + 1;
    let text = &html[gt..gt + html[gt..].find('<').unwrap()];
    (raw.to_string(), text.to_string())
}

pub fn cell_f64(html: &str, key: &str) -> f64 {
    cell(html, key)
        .0
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// What the run's files say, computed here from the JSON (not through the report's code).
pub struct Expected {
    pub initial: f64,
    pub final_capital: f64,
    pub trades: usize,
    pub total_pnl: f64,
    pub wins: usize,
    pub max_dd: f64,
    /// (date, return, capital)
    pub daily: Vec<(String, f64, f64)>,
    /// ("YYYY-MM", compounded return, trades)
    pub monthly: Vec<(String, f64, u64)>,
    /// reason -> (count, pnl)
    pub exits: std::collections::BTreeMap<String, (usize, f64)>,
    /// asset -> (count, pnl)
    pub assets: std::collections::BTreeMap<String, (usize, f64)>,
}

pub fn expected(dir: &Path) -> Expected {
    let trades = jsonl(&dir.join("trades.jsonl"));
    let days = jsonl(&dir.join("days.jsonl"));
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
    let initial = f(&days[0], "capital") - f(&days[0], "pnl");
    let (mut cap, mut peak, mut max_dd, mut total, mut wins) = (initial, initial, 0.0f64, 0.0, 0);
    let mut exits = std::collections::BTreeMap::new();
    let mut assets = std::collections::BTreeMap::new();
    for t in &trades {
        let p = f(t, "pnl");
        cap += p;
        total += p;
        peak = peak.max(cap);
        max_dd = max_dd.max((peak - cap) / peak);
        wins += usize::from(p > 0.0);
        let e = exits
            .entry(t["reason"].as_str().unwrap().to_string())
            .or_insert((0, 0.0));
        e.0 += 1;
        e.1 += p;
        let a = assets
            .entry(t["asset"].as_str().unwrap().to_string())
            .or_insert((0, 0.0));
        a.0 += 1;
        a.1 += p;
    }
    let mut daily = Vec::new();
    let mut monthly: Vec<(String, f64, u64)> = Vec::new();
    let mut month_start = 0.0;
    for d in &days {
        let date = d["date"].as_str().unwrap().to_string();
        let start = f(d, "capital") - f(d, "pnl");
        daily.push((date.clone(), f(d, "pnl") / start, f(d, "capital")));
        let m = date[..7].to_string();
        if monthly.last().map(|x| &x.0) != Some(&m) {
            month_start = start;
            monthly.push((m, 0.0, 0));
        }
        let last = monthly.last_mut().unwrap();
        last.1 = f(d, "capital") / month_start - 1.0;
        last.2 += d["trades"].as_u64().unwrap();
    }
    Expected {
        initial,
        final_capital: f(days.last().unwrap(), "capital"),
        trades: trades.len(),
        total_pnl: total,
        wins,
        max_dd,
        daily,
        monthly,
        exits,
        assets,
    }
}

/// Chromium and chromedriver, when installed.
pub fn browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| names.iter().map(PathBuf::from).find(|p| p.exists());
    let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])?;
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])?;
    Some((chromium, driver))
}

/// Where tests keep artifacts (screenshots): `<target dir>/test-artifacts/<name>`.
pub fn artifacts(name: &str) -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_dolphin"));
    // <target>/<profile>/dolphin
    let target = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let d = target.join("test-artifacts").join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A child process killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `dolphin api` with `args` and returns it with its address (read from its stdout).
pub fn start_api(args: &[&str]) -> (Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .arg("api")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start dolphin api");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines
        .next()
        .expect("dolphin api printed nothing")
        .expect("stdout");
    let addr = first
        .strip_prefix("dolphin api listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Child(child), addr)
}
