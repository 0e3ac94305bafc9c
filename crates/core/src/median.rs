//! The one median of DOLPHIN, as numpy computes it: the middle value of the sorted values, or
//! the mean `(a + b) / 2` of the two middle ones for an even count (`np.median`; seeds B §3.2
//! "median-aggregated", B §10.3, SPEC §3 "median of the first 10 scans").
//!
//! Callers differ in what a NaN or an infinity among the values means, so each one says so
//! with a [`NanRule`]:
//! - [`NanRule::SkipNonFinite`]: NaN and ±inf are missing values and are left out (the NG3
//!   indicator aggregation and ACB's w750, where NaN marks a scan without the value);
//! - [`NanRule::Propagate`]: exactly `np.median` — any NaN makes the median NaN, infinities
//!   are ordinary values (the OB depth median, whose inputs are always finite: a NaN there
//!   would be a bug and must show, not be sorted away).

/// What a median does with non-finite values (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanRule {
    /// Leave NaN and ±inf out; the median of the finite values.
    SkipNonFinite,
    /// As `np.median`: NaN anywhere gives NaN; ±inf are ordered like other values.
    Propagate,
}

/// The median of `values` under `rule`; `None` when no value is left (an empty slice, or only
/// non-finite values under [`NanRule::SkipNonFinite`]).
pub fn median(values: &[f64], rule: NanRule) -> Option<f64> {
    let mut v: Vec<f64> = match rule {
        NanRule::SkipNonFinite => values.iter().copied().filter(|x| x.is_finite()).collect(),
        NanRule::Propagate => {
            if values.iter().any(|x| x.is_nan()) {
                return (!values.is_empty()).then_some(f64::NAN);
            }
            values.to_vec()
        }
    };
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        // np.median averages the two middle elements: mean([a, b]) = (a + b) / 2.
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    #[test]
    fn numpy_golden_values() {
        for rule in [NanRule::SkipNonFinite, NanRule::Propagate] {
            // np.median([3, 1, 2]) == 2.0; np.median([4, 1, 2, 3]) == 2.5
            assert_eq!(median(&[3.0, 1.0, 2.0], rule), Some(2.0));
            assert_eq!(median(&[4.0, 1.0, 2.0, 3.0], rule), Some(2.5));
            assert_eq!(median(&[-0.5], rule), Some(-0.5));
            assert_eq!(median(&[], rule), None);
        }
    }

    #[test]
    fn skip_leaves_out_nan_and_infinities() {
        // np.nanmedian([4, 1, nan, 2, 3]) == 2.5
        let v = [4.0, 1.0, NAN, 2.0, 3.0];
        assert_eq!(median(&v, NanRule::SkipNonFinite), Some(2.5));
        assert_eq!(
            median(&[1.0, INF, -INF, 5.0], NanRule::SkipNonFinite),
            Some(3.0)
        );
        assert_eq!(median(&[NAN, INF], NanRule::SkipNonFinite), None);
    }

    #[test]
    fn propagate_is_np_median() {
        // np.median([4, 1, nan, 2, 3]) is nan; np.median([1, inf, 2]) == 2.0;
        // np.median([1, 2, inf, inf]) == inf; np.median([-inf, inf]) is nan.
        assert!(
            median(&[4.0, 1.0, NAN, 2.0, 3.0], NanRule::Propagate)
                .unwrap()
                .is_nan()
        );
        assert_eq!(median(&[1.0, INF, 2.0], NanRule::Propagate), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, INF, INF], NanRule::Propagate), Some(INF));
        assert!(median(&[-INF, INF], NanRule::Propagate).unwrap().is_nan());
    }

    proptest! {
        #[test]
        fn half_below_half_above(v in proptest::collection::vec(-1e6f64..1e6, 1..60)) {
            let m = median(&v, NanRule::Propagate).unwrap();
            let below = v.iter().filter(|&&x| x <= m).count();
            let above = v.iter().filter(|&&x| x >= m).count();
            prop_assert!(2 * below >= v.len() && 2 * above >= v.len());
            prop_assert_eq!(Some(m), median(&v, NanRule::SkipNonFinite));
        }
    }
}
