//! Profiling driver: the incremental scanner alone on generated prices.
//! `cargo run -p dolphin-scanner --release --example scan_profile -- <assets> <bars>`

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

use dolphin_scanner::{Scanner, ScannerConfig};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("number"))
        .collect();
    let (n, bars) = (
        args.first().copied().unwrap_or(400),
        args.get(1).copied().unwrap_or(3000),
    );
    let closes = synthetic::factor_random_walk(n, bars, 3);
    let mut sc = Scanner::new(n, ScannerConfig::default()).expect("config");
    let start = Instant::now();
    let mut sink = 0.0;
    for bar in closes.chunks_exact(n) {
        sink += sc.push(bar).lambda_hat[0];
    }
    let dt = start.elapsed().as_secs_f64();
    println!(
        "{n} assets, {bars} bars: {:.0} bars/s ({sink})",
        bars as f64 / dt
    );
}
