//! Writes a generated panel as Binance kline CSVs (issue 15), one `SYMBOL-<interval>.csv[.gz]`
//! per asset with Binance's twelve columns, for `dolphin scan --klines DIR` and the numpy
//! reference (`tools/dense_reference.py`). The market is `realistic_panel` of the tests'
//! common code: one factor with calm and stressed regimes, late listings, early delistings,
//! isolated missing candles, a market-wide outage and stablecoins (or none of these events
//! with `--clean`). Same arguments → same bytes.
//!
//! `cargo run -p dolphin-scanner --release --example gen_klines -- --assets 400 --bars 2400 --seed 7 --out /tmp/k400 [--clean] [--interval 5s] [--gz]`

#[path = "../tests/common/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use std::path::PathBuf;
use synthetic::{realistic_panel, write_klines};

struct Opts {
    assets: usize,
    bars: usize,
    seed: u64,
    out: PathBuf,
    clean: bool,
    interval: String,
    gz: bool,
}

fn parse() -> Opts {
    let mut o = Opts {
        assets: 400,
        bars: 2400,
        seed: 7,
        out: PathBuf::from("out/klines-gen"),
        clean: false,
        interval: "1m".into(),
        gz: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match a.as_str() {
            "--assets" => o.assets = val("--assets").parse().expect("--assets: a number"),
            "--bars" => o.bars = val("--bars").parse().expect("--bars: a number"),
            "--seed" => o.seed = val("--seed").parse().expect("--seed: a number"),
            "--out" => o.out = PathBuf::from(val("--out")),
            "--interval" => o.interval = val("--interval"),
            "--clean" => o.clean = true,
            "--gz" => o.gz = true,
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

fn interval_ms(s: &str) -> i64 {
    let (num, unit) = s.split_at(s.len() - 1);
    let k: i64 = num.parse().expect("interval like 1m or 5s");
    k * match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => panic!("interval unit must be s, m or h"),
    }
}

fn main() -> std::io::Result<()> {
    let o = parse();
    let step = interval_ms(&o.interval);
    let p = realistic_panel(o.assets, o.bars, o.seed, o.clean);
    let n = p.n;
    let rows = p.open_times.len();
    let candles = write_klines(&p, &o.out, &o.interval, step, o.gz, o.seed)?;
    let stressed = p.stressed.iter().filter(|&&s| s == 1).count();
    println!(
        "{} assets, {rows} rows ({} interval), {candles} candles, {} stablecoins, {:.0} % of rows stressed → {}",
        n,
        o.interval,
        p.stable.iter().filter(|&&s| s).count(),
        100.0 * stressed as f64 / rows.max(1) as f64,
        o.out.display()
    );
    Ok(())
}
