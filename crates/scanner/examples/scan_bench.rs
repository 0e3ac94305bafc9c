//! Throughput table of the scanner (issue 3 part 6, issue 15): bars/s of the incremental path
//! and of the dense per-bar baseline at 16 assets (the shared real klines when present), 48 and
//! 400 assets — random walks with a common factor, and beside them the realistic panels of
//! issue 15 (`realistic_panel`: calm/stressed regimes, late listings, delistings, missing
//! candles, stablecoins) and their clean twins. Run on one core:
//! `cargo run -p dolphin-scanner --release --example scan_bench`

#[path = "../tests/common/mod.rs"]
mod common;

use common::klines::{klines_dir, load_panel};
use common::synthetic::{factor_random_walk, realistic_panel};
use dolphin_scanner::{Scanner, ScannerConfig, dense_reference};
use std::time::Instant;

/// CPU time of the whole process in seconds (Linux `/proc/self/stat`, utime + stime, in clock
/// ticks of 10 ms): from 64 assets the four windows run on rayon threads, whose time must
/// count too. Wall time where unavailable. The benchmark machine may be shared, so CPU time is
/// what the cores delivered to this run.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the ')'.
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f`, returning (wall seconds, CPU seconds).
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (w0, c0) = (Instant::now(), cpu_seconds());
    f();
    let wall = w0.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (wall, cpu)
}

struct Case {
    label: String,
    n: usize,
    closes: Vec<f64>,
    dense_bars: usize,
}

fn main() {
    let cfg = ScannerConfig::default();
    let mut cases = Vec::new();
    match klines_dir() {
        Some(d) => {
            let p = load_panel(&d);
            let n = p.symbols.len();
            // Keep the rows where at least 15 of the 16 symbols trade (ETHUSDT alone runs on
            // for twelve more days, which would flatter the figure).
            let rows = p
                .closes
                .chunks_exact(n)
                .rposition(|r| r.iter().filter(|v| v.is_finite()).count() >= 15)
                .map_or(0, |k| k + 1);
            let closes = p.closes[..rows * n].to_vec();
            cases.push(Case {
                label: "16 (real 1m klines)".into(),
                n,
                closes,
                dense_bars: 400,
            });
            cases.push(Case {
                label: "16 (generated)".into(),
                n: 16,
                closes: factor_random_walk(16, 40_000, 1),
                dense_bars: 400,
            });
        }
        None => cases.push(Case {
            label: "16 (generated)".into(),
            n: 16,
            closes: factor_random_walk(16, 40_000, 1),
            dense_bars: 400,
        }),
    }
    cases.push(Case {
        label: "48 (generated)".into(),
        n: 48,
        closes: factor_random_walk(48, 20_000, 2),
        dense_bars: 40,
    });
    cases.push(Case {
        label: "400 (generated)".into(),
        n: 400,
        closes: factor_random_walk(400, 3_000, 3),
        dense_bars: 3,
    });
    // Issue 15: the realistic panels and the same markets without their events.
    for (n, bars, seed, dense_bars) in [(48, 20_000, 5, 40), (400, 2_400, 7, 3)] {
        for clean in [true, false] {
            let p = realistic_panel(n, bars, seed, clean);
            cases.push(Case {
                label: format!(
                    "{n} ({}, seed {seed})",
                    if clean { "clean" } else { "realistic" }
                ),
                n,
                closes: p.closes,
                dense_bars,
            });
        }
    }

    println!(
        "| assets | bars | incremental bars/s (CPU) | incremental bars/s (wall) | dense bars/s (CPU) | speed-up | matvecs/bar (w50/150/300/750) | dense fallbacks |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    for c in &cases {
        let bars = c.closes.len() / c.n;
        let mut sc = Scanner::new(c.n, cfg.clone()).expect("config");
        let mut sink = 0.0;
        let (wall, cpu) = timed(|| {
            for bar in c.closes.chunks_exact(c.n) {
                let r = sc.push(bar);
                if r.vel_div.is_finite() {
                    sink += r.vel_div;
                }
            }
        });
        let st = sc.stats();
        // Dense baseline: `dense_bars` bars from the middle of the panel (all windows full).
        let from = bars / 2;
        let mut d = Vec::new();
        let (_, dcpu) = timed(|| {
            d = dense_reference(c.n, &c.closes, &cfg, from..from + c.dense_bars).expect("dense")
        });
        sink += d.iter().map(|r| r.lambda_hat[0]).sum::<f64>();
        let (fast, fast_wall, dense) = (
            bars as f64 / cpu,
            bars as f64 / wall,
            c.dense_bars as f64 / dcpu,
        );
        let mv: Vec<String> = st
            .windows
            .iter()
            .map(|w| format!("{:.1}", w.matvecs as f64 / bars as f64))
            .collect();
        let fb: u64 = st.windows.iter().map(|w| w.dense_fallbacks).sum();
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.1} | {:.0}× | {} | {} |",
            c.label,
            bars,
            fast,
            fast_wall,
            dense,
            fast / dense,
            mv.join(" / "),
            fb
        );
        std::hint::black_box(sink);
    }
}
