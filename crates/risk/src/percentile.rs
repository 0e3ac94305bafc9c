//! Percentile as numpy computes it (the median is `dolphin_core::median`) (B §10.3 `np.percentile(all_w750_vels, 60)`,
//! SPEC §3 "ACB scale 3").
//!
//! numpy's default method is `"linear"`: the virtual index is `(n − 1)·q` with `q = pct/100`,
//! `gamma` its fractional part, and the two neighbours are blended by numpy's `_lerp`, which
//! computes `a + (b − a)·γ` for `γ < 0.5` and `b − (b − a)·(1 − γ)` otherwise. Using the same
//! branch keeps results bit-identical to numpy ≥ 1.22.

/// The `pct`-th percentile (0..=100) of `values` by numpy's default linear interpolation
/// (B §10.3). Non-finite values must be removed by the caller; `None` for an empty slice.
pub fn percentile_linear(values: &[f64], pct: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Some(percentile_of_sorted(&v, pct))
}

/// [`percentile_linear`] on data already sorted ascending (non-empty).
pub fn percentile_of_sorted(sorted: &[f64], pct: f64) -> f64 {
    let n = sorted.len();
    let q = pct / 100.0;
    let virtual_index = (n as f64 - 1.0) * q;
    let lo = virtual_index.floor().clamp(0.0, (n - 1) as f64);
    let gamma = virtual_index - lo;
    let lo = lo as usize;
    let hi = (lo + 1).min(n - 1);
    lerp(sorted[lo], sorted[hi], gamma)
}

/// numpy's `_lerp(a, b, t)` (numpy/lib/function_base.py), reproduced for bit-compatibility.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_core::{NanRule, median};
    use proptest::prelude::*;

    #[test]
    fn numpy_golden_values() {
        // np.percentile([1, 2, 3, 4, 5], 60) == 3.4 (virtual index 2.4).
        assert_eq!(
            percentile_linear(&[5.0, 1.0, 4.0, 2.0, 3.0], 60.0),
            Some(3.4)
        );
        // np.percentile([10, 20, 30, 40], 60) == 28.0 (index 1.8 → 30 − 10·0.2).
        assert_eq!(
            percentile_linear(&[10.0, 20.0, 30.0, 40.0], 60.0),
            Some(28.0)
        );
        assert_eq!(percentile_linear(&[7.0], 60.0), Some(7.0));
        assert_eq!(percentile_linear(&[], 60.0), None);
        assert_eq!(percentile_linear(&[1.0, 2.0], 0.0), Some(1.0));
        assert_eq!(percentile_linear(&[1.0, 2.0], 100.0), Some(2.0));
    }

    proptest! {
        #[test]
        fn percentile_is_within_range_and_monotone(
            v in proptest::collection::vec(-1e3f64..1e3, 1..40),
            p in 0.0f64..100.0,
            dp in 0.0f64..10.0,
        ) {
            let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let a = percentile_linear(&v, p).unwrap();
            let b = percentile_linear(&v, (p + dp).min(100.0)).unwrap();
            prop_assert!(a >= lo && a <= hi);
            prop_assert!(b >= a - 1e-9);
            prop_assert!((median(&v, NanRule::Propagate).unwrap() - percentile_linear(&v, 50.0).unwrap()).abs() < 1e-9);
        }
    }
}
