//! Log returns and their ring buffer (SPEC §6 "Scanner": `r_t = ln(close_t / close_{t−1})`
//! between consecutive rows, NaN when either close is missing — ≤ 0 or non-finite — never
//! bridged across a gap; the window at row t holds rows t−w+1..t).

use dolphin_core::is_valid_price;

/// `ln(close / prev_close)`, or NaN when either price is missing (SPEC §6).
pub fn log_return(prev_close: f64, close: f64) -> f64 {
    if is_valid_price(prev_close) && is_valid_price(close) {
        (close / prev_close).ln()
    } else {
        f64::NAN
    }
}

/// The last `cap` rows of returns of all assets, with per-asset run counters that decide
/// window membership in O(1): an asset is in window `w` iff its last `w` returns are finite
/// and not all identical (identical returns ⇔ zero variance, SPEC §6).
#[derive(Debug, Clone)]
pub(crate) struct ReturnRing {
    pub n: usize,
    pub cap: usize,
    /// Row-major `cap × n`; a missing return is stored as 0.0 (so it can be multiplied by a
    /// zero weight), flagged in `ok`.
    x: Vec<f64>,
    ok: Vec<bool>,
    prev_close: Vec<f64>,
    last_ret: Vec<f64>,
    /// Consecutive finite returns ending at the newest row.
    pub run_finite: Vec<usize>,
    /// Consecutive identical finite returns ending at the newest row.
    pub run_equal: Vec<usize>,
    /// Number of rows pushed; the newest row index is `rows − 1`.
    pub rows: usize,
}

impl ReturnRing {
    pub fn new(n: usize, cap: usize) -> Self {
        ReturnRing {
            n,
            cap,
            x: vec![0.0; n * cap],
            ok: vec![false; n * cap],
            prev_close: vec![f64::NAN; n],
            last_ret: vec![f64::NAN; n],
            run_finite: vec![0; n],
            run_equal: vec![0; n],
            rows: 0,
        }
    }

    /// Appends one bar of closes (length `n`) as a row of returns.
    pub fn push(&mut self, closes: &[f64]) {
        let slot = self.rows % self.cap;
        let (xs, oks) = (
            &mut self.x[slot * self.n..(slot + 1) * self.n],
            &mut self.ok[slot * self.n..(slot + 1) * self.n],
        );
        for i in 0..self.n {
            let c = closes[i];
            let r = log_return(self.prev_close[i], c);
            let ok = r.is_finite();
            xs[i] = if ok { r } else { 0.0 };
            oks[i] = ok;
            if ok {
                self.run_finite[i] = self.run_finite[i].saturating_add(1);
                self.run_equal[i] = if r == self.last_ret[i] {
                    self.run_equal[i].saturating_add(1)
                } else {
                    1
                };
                self.last_ret[i] = r;
            } else {
                self.run_finite[i] = 0;
                self.run_equal[i] = 0;
                self.last_ret[i] = f64::NAN;
            }
            self.prev_close[i] = if is_valid_price(c) { c } else { f64::NAN };
        }
        self.rows += 1;
    }

    /// Returns of row `t` (must be one of the last `cap` rows).
    #[inline]
    pub fn row(&self, t: usize) -> &[f64] {
        let s = t % self.cap;
        &self.x[s * self.n..(s + 1) * self.n]
    }

    /// Validity flags of row `t`.
    #[inline]
    pub fn row_ok(&self, t: usize) -> &[bool] {
        let s = t % self.cap;
        &self.ok[s * self.n..(s + 1) * self.n]
    }

    /// Whether asset `i` is in a window of `w` rows ending at the newest row (SPEC §6).
    #[inline]
    pub fn in_window(&self, i: usize, w: usize) -> bool {
        self.run_finite[i] >= w && self.run_equal[i] < w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_return_hand_values_and_missing() {
        assert_eq!(log_return(100.0, 100.0), 0.0);
        assert!((log_return(100.0, 110.0) - 0.09531017980432493).abs() < 1e-16);
        assert!(log_return(f64::NAN, 1.0).is_nan());
        assert!(log_return(1.0, 0.0).is_nan());
        assert!(log_return(-1.0, 1.0).is_nan());
        assert!(log_return(1.0, f64::INFINITY).is_nan());
    }

    #[test]
    fn run_counters_follow_gaps_and_constant_prices() {
        let mut r = ReturnRing::new(2, 4);
        // asset 0: 1, 2, NaN, 3, 4, 5 ; asset 1 constant 7.
        for (a, b) in [
            (1.0, 7.0),
            (2.0, 7.0),
            (f64::NAN, 7.0),
            (3.0, 7.0),
            (4.0, 7.0),
            (5.0, 7.0),
        ] {
            r.push(&[a, b]);
        }
        // asset 0 returns: NaN, ln2, NaN, NaN (gap not bridged), ln(4/3), ln(5/4) → run 2.
        assert_eq!(r.run_finite[0], 2);
        assert_eq!(r.run_equal[0], 1);
        assert!(r.in_window(0, 2) && !r.in_window(0, 3));
        // asset 1: five zero returns → finite run 5, all equal → never in a window.
        assert_eq!(r.run_finite[1], 5);
        assert_eq!(r.run_equal[1], 5);
        assert!(!r.in_window(1, 2));
        assert_eq!(r.row(5)[0], (5.0f64 / 4.0).ln());
        assert!(!r.row_ok(3)[0] && r.row_ok(4)[0]);
    }
}
