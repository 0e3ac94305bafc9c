//! VolatilityRegimeDetector (S Layer 2, SPEC D8, §5, §6): rolling std (ddof 0) of the
//! reference asset's simple returns over the last `window` rows must exceed a threshold.

use dolphin_core::is_valid_price;
use std::collections::VecDeque;

/// Rolling volatility gate. Fed one reference price per row, across days.
#[derive(Debug, Clone)]
pub struct VolatilityRegimeDetector {
    window: usize,
    threshold: f64,
    last_price: Option<f64>,
    returns: VecDeque<Option<f64>>,
    last_std: Option<f64>,
}

impl VolatilityRegimeDetector {
    pub fn new(window: usize, threshold: f64) -> Self {
        Self {
            window,
            threshold,
            last_price: None,
            returns: VecDeque::with_capacity(window + 1),
            last_std: None,
        }
    }

    /// Feeds one row's reference price (NaN or ≤ 0 = missing) and returns whether the
    /// regime is high: the last `window` returns are all defined and their std > threshold.
    /// The return `(p − prev)/prev` is undefined when either price is missing.
    pub fn update(&mut self, price: f64) -> bool {
        let valid = is_valid_price(price).then_some(price);
        let ret = match (self.last_price, valid) {
            (Some(prev), Some(p)) => Some((p - prev) / prev),
            _ => None,
        };
        self.last_price = valid;
        self.returns.push_back(ret);
        if self.returns.len() > self.window {
            self.returns.pop_front();
        }
        self.last_std = self.current_std();
        self.is_high_regime()
    }

    fn current_std(&self) -> Option<f64> {
        if self.returns.len() < self.window {
            return None;
        }
        let mut sum = 0.0;
        for r in &self.returns {
            sum += (*r)?;
        }
        let n = self.window as f64;
        let mean = sum / n;
        let mut ss = 0.0;
        for r in self.returns.iter().flatten() {
            let d = r - mean;
            ss += d * d;
        }
        Some((ss / n).sqrt())
    }

    /// The std of the last full window, when defined.
    pub fn last_std(&self) -> Option<f64> {
        self.last_std
    }

    /// The detector's state: last valid price, the window's returns (oldest first, `None` =
    /// undefined) and the last std, for an exact resume.
    pub fn state(
        &self,
    ) -> (
        Option<f64>,
        impl Iterator<Item = Option<f64>> + '_,
        Option<f64>,
    ) {
        (self.last_price, self.returns.iter().copied(), self.last_std)
    }

    /// Rebuilds a detector from [`Self::state`]; `None` when there are more returns than
    /// `window`.
    pub fn from_state(
        window: usize,
        threshold: f64,
        last_price: Option<f64>,
        returns: Vec<Option<f64>>,
        last_std: Option<f64>,
    ) -> Option<Self> {
        (returns.len() <= window).then(|| Self {
            window,
            threshold,
            last_price,
            returns: returns.into(),
            last_std,
        })
    }

    /// Whether the last update left the gate open.
    pub fn is_high_regime(&self) -> bool {
        self.last_std.is_some_and(|s| s > self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_a_full_window_of_defined_returns() {
        let mut d = VolatilityRegimeDetector::new(3, 0.001);
        // prices 100, 101, 100, 101: returns 0.01, −0.0099…, 0.01
        assert!(!d.update(100.0));
        assert!(!d.update(101.0));
        assert!(!d.update(100.0));
        assert!(d.update(101.0));
        let r: [f64; 3] = [0.01, (100.0 - 101.0) / 101.0, 0.01];
        let m = (r[0] + r[1] + r[2]) / 3.0;
        let var = ((r[0] - m).powi(2) + (r[1] - m).powi(2) + (r[2] - m).powi(2)) / 3.0;
        assert_eq!(d.last_std(), Some(var.sqrt()));
        // A missing price makes two returns undefined: closed for `window` rows.
        assert!(!d.update(f64::NAN));
        assert!(!d.update(100.0));
        assert!(!d.update(101.0));
        assert!(!d.update(100.0));
        assert!(d.update(101.0));
    }

    #[test]
    fn flat_prices_stay_closed() {
        let mut d = VolatilityRegimeDetector::new(50, 0.000099);
        for _ in 0..200 {
            assert!(!d.update(100.0));
        }
        assert_eq!(d.last_std(), Some(0.0));
    }
}
