//! Test/bench helper: loads the shared Binance 1m klines (`SYMBOL-1m.csv.gz`, header
//! `open_time,open,high,low,close,...`) and aligns the symbols on the union of open times
//! (SPEC §6: no invented grid; a missing candle is a missing price).

use flate2::read::GzDecoder;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The shared klines directory, if this checkout has `../shared` beside it.
pub fn klines_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/klines-1m"
    ));
    if p.is_dir() { Some(p) } else { None }
}

/// An aligned close-price panel.
pub struct Panel {
    pub symbols: Vec<String>,
    pub open_times: Vec<i64>,
    /// Row-major `open_times.len() × symbols.len()`, NaN where a symbol has no candle.
    pub closes: Vec<f64>,
}

fn read_symbol(path: &Path) -> Vec<(i64, f64)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rd = BufReader::new(GzDecoder::new(f));
    let mut out = Vec::new();
    for (k, line) in rd.lines().enumerate() {
        let line = line.unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), k + 1));
        if k == 0 && line.starts_with("open_time") {
            continue;
        }
        let mut it = line.split(',');
        let t: i64 = it
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{} line {}: open_time", path.display(), k + 1));
        let close: f64 = it
            .nth(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{} line {}: close", path.display(), k + 1));
        out.push((t, close));
    }
    out
}

/// Loads every `*-1m.csv.gz` in `dir`, symbols sorted by name.
pub fn load_panel(dir: &Path) -> Panel {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read klines dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with("-1m.csv.gz"))
        .collect();
    files.sort();
    let symbols: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches("-1m.csv.gz")
                .to_string()
        })
        .collect();
    let series: Vec<Vec<(i64, f64)>> = files.iter().map(|p| read_symbol(p)).collect();
    let times: BTreeSet<i64> = series.iter().flat_map(|s| s.iter().map(|x| x.0)).collect();
    let open_times: Vec<i64> = times.into_iter().collect();
    let n = symbols.len();
    let mut closes = vec![f64::NAN; open_times.len() * n];
    for (i, s) in series.iter().enumerate() {
        let mut row = 0;
        for &(t, c) in s {
            while open_times[row] < t {
                row += 1;
            }
            closes[row * n + i] = c;
        }
    }
    Panel {
        symbols,
        open_times,
        closes,
    }
}
