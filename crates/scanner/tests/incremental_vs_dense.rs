//! The incremental scanner against the dense per-bar reference (SPEC §3, §6 "Scanner";
//! issue 3 parts 4–5): known matrices, random walks with gaps, assets entering and leaving.

mod common;

use common::synthetic::factor_random_walk;
use dolphin_scanner::{ScanRow, Scanner, ScannerConfig, dense_reference, scan_batch};

/// Asserts two rows agree: same NaN pattern and asset counts, values within `tol`.
fn assert_rows_close(bar: usize, fast: &ScanRow, dense: &ScanRow, tol: f64) -> f64 {
    assert_eq!(fast.n_assets, dense.n_assets, "bar {bar}: n_assets");
    let pairs = [
        ("vel_div", fast.vel_div, dense.vel_div),
        ("v50", fast.v50, dense.v50),
        ("v150", fast.v150, dense.v150),
        ("v300", fast.v300, dense.v300),
        ("v750", fast.v750, dense.v750),
        ("instability_50", fast.instability_50, dense.instability_50),
        (
            "instability_150",
            fast.instability_150,
            dense.instability_150,
        ),
        ("lambda_hat[0]", fast.lambda_hat[0], dense.lambda_hat[0]),
        ("lambda_hat[1]", fast.lambda_hat[1], dense.lambda_hat[1]),
        ("lambda_hat[2]", fast.lambda_hat[2], dense.lambda_hat[2]),
        ("lambda_hat[3]", fast.lambda_hat[3], dense.lambda_hat[3]),
    ];
    let mut worst: f64 = 0.0;
    for (name, a, b) in pairs {
        assert_eq!(
            a.is_nan(),
            b.is_nan(),
            "bar {bar}: {name} NaN pattern: fast {a} dense {b}"
        );
        if a.is_finite() {
            let d = (a - b).abs();
            assert!(
                d <= tol,
                "bar {bar}: {name} fast {a} dense {b} (|diff| {d:e})"
            );
            worst = worst.max(d);
        }
    }
    worst
}

/// Row-major closes from per-bar log-return vectors, starting at price 100.
fn prices_from_returns(rets: &[Vec<f64>]) -> Vec<f64> {
    let n = rets[0].len();
    let mut p = vec![100.0f64; n];
    let mut out = p.clone();
    for r in rets {
        for i in 0..n {
            p[i] *= r[i].exp();
        }
        out.extend_from_slice(&p);
    }
    out
}

fn walsh(k: usize, t: usize) -> f64 {
    if (k & t).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

#[test]
fn equicorrelation_from_walsh_factors_gives_one_plus_n_minus_one_rho() {
    // r_i = f + e_i with f, e_1..e_6 mutually orthogonal zero-mean Walsh sequences of period 8
    // (orthogonal over any 8k consecutive bars): every pairwise correlation is exactly 1/2, so
    // lambda_max = 1 + 5·0.5 = 3.5 and lambda_hat = 3.5 / 6; instability = 0.5.
    let cfg = ScannerConfig {
        windows: [8, 16, 32, 64],
        slow_window: 64,
        ..ScannerConfig::default()
    };
    let n = 6;
    let rets: Vec<Vec<f64>> = (0..200)
        .map(|t| {
            (0..n)
                .map(|i| 0.01 * (walsh(1, t % 8) + walsh(i + 2, t % 8)))
                .collect()
        })
        .collect();
    let rows = scan_batch(n, &prices_from_returns(&rets), &cfg).unwrap();
    let last = rows.last().unwrap();
    for k in 0..4 {
        assert_eq!(last.n_assets[k], 6);
        assert!(
            (last.lambda_hat[k] - 3.5 / 6.0).abs() < 1e-12,
            "window {k}: {}",
            last.lambda_hat[k]
        );
        assert!(last.velocities()[k].abs() < 1e-12);
    }
    assert!((last.instability_50 - 0.5).abs() < 1e-12);
    // Windows are NaN until full: the 8-bar window needs rows 1..8.
    assert!(rows[7].lambda_hat[0].is_nan() && rows[8].lambda_hat[0].is_finite());
    assert!(rows[8].v50.is_nan() && rows[9].v50.is_finite());
    assert!(rows[63].lambda_hat[3].is_nan() && rows[64].lambda_hat[3].is_finite());
}

#[test]
fn orthogonal_returns_give_identity_and_perfect_correlation_gives_one() {
    let cfg = ScannerConfig {
        windows: [8, 16, 32, 64],
        slow_window: 64,
        ..ScannerConfig::default()
    };
    // Identity: three orthogonal Walsh sequences → C = I, lambda_hat = 1/3, instability 0.
    let rets: Vec<Vec<f64>> = (0..100)
        .map(|t| (1..4).map(|k| 0.01 * walsh(k, t % 8)).collect())
        .collect();
    let last = *scan_batch(3, &prices_from_returns(&rets), &cfg)
        .unwrap()
        .last()
        .unwrap();
    assert!(
        (last.lambda_hat[2] - 1.0 / 3.0).abs() < 1e-12,
        "{}",
        last.lambda_hat[2]
    );
    assert!(last.instability_50.abs() < 1e-12);
    // Perfect (anti-)correlation: r_i = ±c_i·f → |C_ij| = 1, lambda_max = N.
    let rets: Vec<Vec<f64>> = (0..100)
        .map(|t| {
            let f = 0.01 * walsh(3, t % 8) + 0.002 * walsh(5, t % 8);
            vec![f, 2.0 * f, -0.5 * f, 3.0 * f]
        })
        .collect();
    let last = *scan_batch(4, &prices_from_returns(&rets), &cfg)
        .unwrap()
        .last()
        .unwrap();
    assert!(
        (last.lambda_hat[1] - 1.0).abs() < 1e-12,
        "{}",
        last.lambda_hat[1]
    );
    assert!((last.instability_150 - 1.0).abs() < 1e-12);
}

/// Random walks with a common factor and holes: asset 0 starts late, asset 1 has a 40-bar gap,
/// asset 2 a single missing bar, asset 3 a zero price, asset 4 a flat (constant-price) stretch.
fn gappy_panel(n: usize, bars: usize, seed: u64) -> Vec<f64> {
    let mut p = factor_random_walk(n, bars, seed);
    for t in 0..bars {
        if t < 130 {
            p[t * n] = f64::NAN;
        }
        if (300..340).contains(&t) {
            p[t * n + 1] = f64::NAN;
        }
        if t == 500 {
            p[t * n + 2] = f64::NAN;
        }
        if t == 620 {
            p[t * n + 3] = 0.0;
        }
        if (700..790).contains(&t) {
            p[t * n + 4] = 42.0;
        }
    }
    p
}

fn check_against_dense(n: usize, bars: usize, cfg: &ScannerConfig, seed: u64) -> f64 {
    let p = gappy_panel(n, bars, seed);
    let fast = scan_batch(n, &p, cfg).unwrap();
    let dense = dense_reference(n, &p, cfg, 0..bars).unwrap();
    let mut worst: f64 = 0.0;
    for t in 0..bars {
        worst = worst.max(assert_rows_close(t, &fast[t], &dense[t], 1e-9));
    }
    worst
}

#[test]
fn incremental_matches_dense_with_gaps_all_three_matrix_paths() {
    // n = 24 with windows 10/30/60/120: window 10 keeps cross-products for instability but
    // multiplies through the returns (24 > 2·10); the others use the dense 24×24 matrix.
    let cfg = ScannerConfig {
        windows: [10, 30, 60, 120],
        slow_window: 120,
        ..ScannerConfig::default()
    };
    let worst = check_against_dense(24, 900, &cfg, 7);
    assert!(worst < 1e-11, "worst {worst:e}");
    // n = 48 with windows 5/10/20/40: window 20 is the pure matrix-free path (no N×N sums).
    let cfg = ScannerConfig {
        windows: [5, 10, 20, 40],
        slow_window: 20,
        rebuild_every: Some(37),
        ..ScannerConfig::default()
    };
    let worst = check_against_dense(48, 900, &cfg, 11);
    assert!(worst < 1e-11, "worst {worst:e}");
}

#[test]
fn velocity_is_nan_on_the_bar_the_asset_set_changes() {
    let cfg = ScannerConfig {
        windows: [10, 30, 60, 120],
        slow_window: 120,
        ..ScannerConfig::default()
    };
    let n = 6;
    let p = gappy_panel(n, 400, 3);
    let rows = scan_batch(n, &p, &cfg).unwrap();
    // Asset 0's first price is at row 130, first return at 131, so it joins window 10 at row 140.
    assert_eq!(rows[139].n_assets[0], 5);
    assert_eq!(rows[140].n_assets[0], 6);
    assert!(rows[139].v50.is_finite() && rows[140].v50.is_nan() && rows[141].v50.is_finite());
    assert!(rows[140].vel_div.is_nan());
    assert!(rows[140].lambda_hat[0].is_finite());
    // Asset 1 leaves every window at row 300 (price missing → return NaN).
    assert_eq!(rows[300].n_assets[0], 5);
    assert!(rows[300].v50.is_nan() && rows[300].v150.is_nan() && rows[301].v50.is_finite());
}

#[test]
fn fewer_than_two_assets_is_nan_and_constant_asset_is_left_out() {
    let cfg = ScannerConfig {
        windows: [5, 10, 20, 40],
        slow_window: 40,
        ..ScannerConfig::default()
    };
    let mut p = factor_random_walk(3, 100, 5);
    for t in 0..100 {
        p[t * 3 + 2] = 7.5; // constant: zero variance in every window
        if t >= 50 {
            p[t * 3 + 1] = f64::NAN;
        }
    }
    let rows = scan_batch(3, &p, &cfg).unwrap();
    assert_eq!(rows[45].n_assets, [2, 2, 2, 2]);
    assert!(rows[45].lambda_hat.iter().all(|v| v.is_finite()));
    assert_eq!(rows[60].n_assets[0], 1);
    assert!(
        rows[60].lambda_hat[0].is_nan()
            && rows[60].instability_50.is_nan()
            && rows[60].v50.is_nan()
    );
}

#[test]
fn streaming_push_by_push_equals_batch_and_wrong_width_is_an_error() {
    let cfg = ScannerConfig {
        windows: [10, 30, 60, 120],
        slow_window: 60,
        ..ScannerConfig::default()
    };
    let n = 8;
    let p = gappy_panel(n, 500, 9);
    let batch = scan_batch(n, &p, &cfg).unwrap();
    let mut sc = Scanner::new(n, cfg).unwrap();
    for (t, bar) in p.chunks_exact(n).enumerate() {
        assert!(sc.push(bar).bit_eq(&batch[t]), "bar {t}");
    }
    assert!(sc.try_push(&[1.0; 3]).is_err());
    assert_eq!(sc.stats().bars, 500);
}
