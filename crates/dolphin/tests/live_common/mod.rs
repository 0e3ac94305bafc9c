//! Helpers of the end-to-end tests over the local exchange (paper_e2e, serve_live_e2e): one
//! day of the repository's sample klines, the exchange on a free loopback port, commands that
//! must succeed.
#![allow(dead_code)] // each test uses a part

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const DAY: &str = "2025-05-05";
pub const DAY_MS: i64 = 1_746_403_200_000;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn dolphin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dolphin"))
}

/// The sample klines of `DAY` as plain CSV files (header kept), without the bars opening at
/// `drop` (ms); returns how many symbols have bars that day.
pub fn cut_day(from: &Path, to: &Path, drop: &BTreeSet<i64>) -> usize {
    std::fs::create_dir_all(to).unwrap();
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".gz") else {
            continue;
        };
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut lines = text.lines();
        let mut out = format!("{}\n", lines.next().unwrap());
        let mut rows = 0;
        for l in lines {
            let t: i64 = l.split(',').next().unwrap().parse().unwrap();
            if (DAY_MS..DAY_MS + 86_400_000).contains(&t) {
                rows += 1;
                if !drop.contains(&t) {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        if rows > 0 {
            std::fs::File::create(to.join(stem))
                .unwrap()
                .write_all(out.as_bytes())
                .unwrap();
            n += 1;
        }
    }
    n
}

pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// Kills the exchange when the test ends, however it ends.
pub struct Child(pub std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The REST url the exchange prints on its stdout (piped).
pub fn exchange_url(ex: &mut Child) -> String {
    for line in BufReader::new(ex.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 2 && cells[1].starts_with("REST") {
            return cells[2].to_string();
        }
    }
    panic!("the exchange prints its REST url")
}

/// `dolphin exchange` replaying `DAY` of the sample klines at 1200x on a free loopback port,
/// starting once `streams` streams are followed; returns it and its REST url. `extra` adds
/// flags (faults).
pub fn start_exchange(streams: usize, extra: &[&str]) -> (Child, String) {
    let sample = repo().join("data/sample");
    let mut ex = Child(
        dolphin()
            .args(["exchange", "--klines"])
            .arg(sample.join("klines-1m"))
            .arg("--funding")
            .arg(sample.join("funding"))
            .args(["--from", DAY, "--to", DAY, "--speed", "1200", "--port", "0"])
            .args(["--wait-streams", &streams.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = exchange_url(&mut ex);
    (ex, url)
}

/// `dolphin scan` of the kline CSVs in `klines` into `t/days`.
pub fn scan(t: &Path, klines: &Path) {
    run_ok(
        dolphin()
            .args(["scan", "--klines"])
            .arg(klines)
            .arg("--out")
            .arg(t.join("days")),
        "dolphin scan",
    );
}

/// `dolphin scan` of `klines` into `t/days`, then [`backtest`].
pub fn scan_and_backtest(t: &Path, klines: &Path) {
    scan(t, klines);
    backtest(t);
}

/// `dolphin backtest` of `t/days` into `t/bt`.
pub fn backtest(t: &Path) {
    run_ok(
        dolphin()
            .args(["backtest", "--no-plot", "--data"])
            .arg(t.join("days"))
            .arg("--out")
            .arg(t.join("bt")),
        "dolphin backtest",
    );
}

/// `dolphin scan` of the cut day into `t/days` (the backtest side of the comparisons);
/// returns the number of symbols.
pub fn day_files(t: &Path) -> usize {
    let symbols = cut_day(
        &repo().join("data/sample/klines-1m"),
        &t.join("klines"),
        &BTreeSet::new(),
    );
    assert_eq!(symbols, 15, "sample klines of {DAY}");
    scan(t, &t.join("klines"));
    symbols
}

pub fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}
