//! Issue 12 acceptance, end to end over real sockets (docs/LIVE.md §5): `dolphin exchange`
//! replays one day of the repository's sample 1-minute klines (2025-05-05, 15 listed symbols;
//! ADAUSDT has no klines that day) on a free loopback port; `dolphin paper` — a NautilusTrader
//! LiveNode with the Binance data client pointed at it, the sandbox execution client, the
//! scanner actor and the DolphinActor, not a dry run — trades it to the end of the day
//! (`--end`) and writes its run; `dolphin backtest` on the day files that `dolphin scan` makes
//! from the same bars must give byte-identical `trades.jsonl` and `days.jsonl`. Neither side
//! has warm-up from earlier days. Needs only the repository (no `../shared`, no Redis).
#![cfg(feature = "nautilus")]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DAY: &str = "2025-05-05";
const DAY_MS: i64 = 1_746_403_200_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dolphin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dolphin"))
}

/// The sample klines of `DAY` only, as plain CSV files (header kept); returns how many
/// symbols have bars that day.
fn cut_day(from: &Path, to: &Path) -> usize {
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
                out.push_str(l);
                out.push('\n');
                rows += 1;
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

fn run_ok(cmd: &mut Command, what: &str) -> String {
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
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn paper_node_on_the_local_exchange_trades_exactly_as_the_backtest() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sample = repo().join("data/sample");
    let symbols = cut_day(&sample.join("klines-1m"), &t.join("klines"));
    assert_eq!(symbols, 15, "sample klines of {DAY}");

    // Backtest side: day files from the same bars, then the backtest.
    run_ok(
        dolphin()
            .args(["scan", "--klines"])
            .arg(t.join("klines"))
            .arg("--out")
            .arg(t.join("days")),
        "dolphin scan",
    );
    run_ok(
        dolphin()
            .args(["backtest", "--no-plot", "--data"])
            .arg(t.join("days"))
            .arg("--out")
            .arg(t.join("bt")),
        "dolphin backtest",
    );

    // Live side: the exchange replays the day at 1200x once the node follows every kline
    // stream; the paper node runs to the end of the day and writes its run.
    let mut ex = Child(
        dolphin()
            .args(["exchange", "--klines"])
            .arg(sample.join("klines-1m"))
            .arg("--funding")
            .arg(sample.join("funding"))
            .args(["--from", DAY, "--to", DAY, "--speed", "1200", "--port", "0"])
            .args(["--wait-streams", &symbols.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut url = None;
    for line in BufReader::new(ex.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 2 && cells[1].starts_with("REST") {
            url = Some(cells[2].to_string());
            break;
        }
    }
    let url = url.expect("the exchange prints its REST url");
    let paper = run_ok(
        dolphin()
            .args(["paper", "--exchange-url", &url, "--end", "2025-05-06"])
            .args(["--bar-seconds", "60"])
            .args(["--run-for", "900", "--out"])
            .arg(t.join("paper")),
        "dolphin paper",
    );
    assert!(
        paper.contains(&format!(
            "Loaded USD-M perpetual instruments: count={symbols}"
        )),
        "instruments from the local exchange:\n{paper}"
    );
    assert!(
        paper.contains("end of the live data reached"),
        "the node stopped at the end of the data, not by the time limit:\n{paper}"
    );
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let bt_days = read(t.join("bt/days.jsonl"));
    assert!(
        bt_days.contains(&format!("\"date\":\"{DAY}\"")),
        "{bt_days}"
    );
    let bt_trades = read(t.join("bt/trades.jsonl"));
    assert!(
        bt_trades.lines().count() >= 1,
        "the day trades: {bt_trades}"
    );
    assert_eq!(read(t.join("paper/days.jsonl")), bt_days, "days.jsonl");
    assert_eq!(
        read(t.join("paper/trades.jsonl")),
        bt_trades,
        "trades.jsonl"
    );
    let counters: serde_json::Value =
        serde_json::from_str(&read(t.join("paper/paper.json"))).unwrap();
    assert_eq!(counters["scans_stepped"], 1440, "{counters}");
    assert_eq!(counters["scans_skipped"], 0, "{counters}");
    assert_eq!(counters["bar_times_missed"], 0, "no hole: {counters}");
    assert_eq!(counters["errors"], 0, "{counters}");
    assert!(
        counters["bar_to_order"]["n"].as_u64().unwrap() >= 1,
        "{counters}"
    );
    drop(ex);
}
