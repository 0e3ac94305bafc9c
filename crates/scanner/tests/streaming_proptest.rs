//! Property tests: streaming equals batch bit for bit, and both equal the dense reference, on
//! random panels with missing prices, zero prices and flat stretches (SPEC §3, §6).

use dolphin_scanner::{Scanner, ScannerConfig, dense_reference, scan_batch};
use proptest::prelude::*;

/// Random prices: a per-asset random walk driven by `steps`, with cells knocked out by `holes`
/// (0 → NaN, 1 → 0.0, 2 → repeat last price) and everything else valid.
fn panel(n: usize, bars: usize, steps: &[f64], holes: &[u8]) -> Vec<f64> {
    let mut p = vec![100.0f64; n];
    let mut out = Vec::with_capacity(n * bars);
    for t in 0..bars {
        let common = steps[(t * 7) % steps.len()];
        for i in 0..n {
            let k = (t * n + i) % steps.len();
            let h = holes[(t * n + i) % holes.len()];
            if h != 2 {
                p[i] *= (0.6 * common + steps[k] * 0.01).exp();
            }
            out.push(match h {
                0 => f64::NAN,
                1 => 0.0,
                _ => p[i],
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn streaming_equals_batch_and_dense(
        n in 2usize..7,
        bars in 20usize..160,
        steps in proptest::collection::vec(-1.0f64..1.0, 64..200),
        holes in proptest::collection::vec(prop_oneof![8 => Just(9u8), 1 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)], 1..300),
        slow in 0usize..3,
        rebuild in proptest::option::of(1usize..20),
    ) {
        let windows = [3, 6, 10, 17];
        let cfg = ScannerConfig { windows, slow_window: windows[1 + slow], rebuild_every: rebuild, ..ScannerConfig::default() };
        let p = panel(n, bars, &steps, &holes);
        let batch = scan_batch(n, &p, &cfg).unwrap();
        let mut sc = Scanner::new(n, cfg.clone()).unwrap();
        for (t, bar) in p.chunks_exact(n).enumerate() {
            let r = sc.push(bar);
            prop_assert!(r.bit_eq(&batch[t]), "bar {}: {:?} vs {:?}", t, r, batch[t]);
        }
        let dense = dense_reference(n, &p, &cfg, 0..bars).unwrap();
        for t in 0..bars {
            let (f, d) = (&batch[t], &dense[t]);
            prop_assert_eq!(f.n_assets, d.n_assets);
            for (a, b) in f.velocities().into_iter().chain(f.lambda_hat).zip(d.velocities().into_iter().chain(d.lambda_hat)) {
                prop_assert_eq!(a.is_nan(), b.is_nan(), "bar {}", t);
                if a.is_finite() {
                    prop_assert!((a - b).abs() <= 1e-9, "bar {}: {} vs {}", t, a, b);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]
    /// Wide panels and tiny windows: every matrix path (N×N with instability, returns-only
    /// matvec with and without kept sums) and two-point windows (|r| = 1).
    #[test]
    fn wide_panels_tiny_windows_match_dense(
        n in 8usize..30,
        bars in 12usize..70,
        steps in proptest::collection::vec(-1.0f64..1.0, 64..200),
        holes in proptest::collection::vec(prop_oneof![12 => Just(9u8), 1 => Just(0u8), 1 => Just(2u8)], 1..300),
    ) {
        let cfg = ScannerConfig { windows: [2, 3, 5, 9], slow_window: 9, ..ScannerConfig::default() };
        let p = panel(n, bars, &steps, &holes);
        let fast = scan_batch(n, &p, &cfg).unwrap();
        let dense = dense_reference(n, &p, &cfg, 0..bars).unwrap();
        for t in 0..bars {
            let (f, d) = (&fast[t], &dense[t]);
            prop_assert_eq!(f.n_assets, d.n_assets);
            let fv = f.velocities().into_iter().chain(f.lambda_hat).chain([f.instability_50, f.instability_150]);
            let dv = d.velocities().into_iter().chain(d.lambda_hat).chain([d.instability_50, d.instability_150]);
            for (a, b) in fv.zip(dv) {
                prop_assert_eq!(a.is_nan(), b.is_nan(), "bar {}: {} vs {}; fast {:?} dense {:?}", t, a, b, f, d);
                if a.is_finite() {
                    prop_assert!((a - b).abs() <= 1e-9, "bar {}: {} vs {}", t, a, b);
                }
            }
        }
    }
}
