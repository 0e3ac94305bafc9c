//! The scanner on the shared Binance 1m klines (16 symbols): incremental vs dense on every bar
//! of a few thousand, the 320-bit verifier on a real window, and (ignored, run once) every bar.

mod common;

use common::klines::{Panel, klines_dir, load_panel};
use dolphin_scanner::{ScannerConfig, dense_reference, scan_batch, verify_bar};

fn panel() -> Option<Panel> {
    match klines_dir() {
        Some(d) => Some(load_panel(&d)),
        None => {
            eprintln!("note: ../shared/data/klines-1m not found; real-data test skipped");
            None
        }
    }
}

/// Max |fast − dense| over velocities, vel_div and lambda_hat on `bars`; panics above 1e-9 or
/// on any NaN-pattern difference.
fn max_deviation(p: &Panel, cfg: &ScannerConfig, upto: usize, from: usize) -> f64 {
    let n = p.symbols.len();
    let closes = &p.closes[..upto * n];
    let fast = scan_batch(n, closes, cfg).unwrap();
    let dense = dense_reference(n, closes, cfg, from..upto).unwrap();
    let mut worst: f64 = 0.0;
    for (k, d) in dense.iter().enumerate() {
        let t = from + k;
        let f = &fast[t];
        assert_eq!(f.n_assets, d.n_assets, "bar {t}");
        let mut vals = vec![
            (f.vel_div, d.vel_div),
            (f.instability_50, d.instability_50),
            (f.instability_150, d.instability_150),
        ];
        vals.extend(f.velocities().into_iter().zip(d.velocities()));
        vals.extend(f.lambda_hat.into_iter().zip(d.lambda_hat));
        for (a, b) in vals {
            assert_eq!(a.is_nan(), b.is_nan(), "bar {t}: {a} vs {b}");
            if a.is_finite() {
                assert!((a - b).abs() <= 1e-9, "bar {t}: {a} vs {b}");
                worst = worst.max((a - b).abs());
            }
        }
    }
    worst
}

#[test]
fn real_klines_velocities_match_dense_on_every_bar() {
    let Some(p) = panel() else { return };
    assert_eq!(p.symbols.len(), 16);
    // Rows start when the first symbol starts; ADAUSDT joins five days later (outside this range).
    let worst = max_deviation(&p, &ScannerConfig::default(), 2600, 0);
    eprintln!("real data, bars 0..2600: max |fast − dense| = {worst:e}");
    assert!(worst < 1e-12, "{worst:e}");
}

#[test]
fn real_klines_slow_window_150() {
    let Some(p) = panel() else { return };
    let cfg = ScannerConfig {
        slow_window: 150,
        ..ScannerConfig::default()
    };
    let worst = max_deviation(&p, &cfg, 1200, 700);
    assert!(worst < 1e-12, "{worst:e}");
}

#[test]
fn verify_bar_reports_tiny_deviation_on_a_real_window() {
    let Some(p) = panel() else { return };
    let n = p.symbols.len();
    let closes = &p.closes[..1600 * n];
    let cfg = ScannerConfig::default();
    let rows = scan_batch(n, closes, &cfg).unwrap();
    let rep = verify_bar(n, closes, 1599, &cfg, &rows[1599]).unwrap();
    eprintln!("verify_bar(1599): {rep:?}");
    assert!(rep.lambda_hat_hp.iter().all(|v| v.is_finite()));
    assert!(rep.max_deviation < 1e-12, "{rep:?}");
    // Before the 750 window fills, both sides agree that it is undefined.
    let early = verify_bar(n, closes, 400, &cfg, &rows[400]).unwrap();
    assert!(early.lambda_hat_hp[3].is_nan() && early.deviation[3] == 0.0);
    // A row from another bar shows a large deviation.
    let mut wrong = rows[1599];
    wrong.lambda_hat = rows[900].lambda_hat;
    let rep = verify_bar(n, closes, 1599, &cfg, &wrong).unwrap();
    assert!(rep.max_deviation > 1e-6);
}

/// Every bar of the full panel (≈ 60k rows, ADA joining and others leaving). Run once:
/// `cargo test -p dolphin-scanner --release --test real_data -- --ignored --nocapture`.
#[test]
#[ignore]
fn real_klines_all_bars_match_dense() {
    let Some(p) = panel() else { return };
    let rows = p.open_times.len();
    let worst = max_deviation(&p, &ScannerConfig::default(), rows, 0);
    eprintln!("real data, all {rows} bars: max |fast − dense| = {worst:e}");
}
