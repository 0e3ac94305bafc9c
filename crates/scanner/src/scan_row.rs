//! One output row of the scanner: the signal columns of the day file (B §3.1, SPEC §3).

use serde::{Deserialize, Serialize};

/// The scanner's output for one bar (B §3.1 columns; SPEC §3 definitions). NaN = undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanRow {
    /// `v50 − v_slow` (SPEC D2; slow window per config, default 750).
    pub vel_div: f64,
    /// `v50_lambda_max_velocity` = `lambda_hat_50(t) − lambda_hat_50(t−1)` (SPEC §3, §6).
    pub v50: f64,
    /// `v150_lambda_max_velocity` (second window).
    pub v150: f64,
    /// `v300_lambda_max_velocity` (third window).
    pub v300: f64,
    /// `v750_lambda_max_velocity` (fourth window).
    pub v750: f64,
    /// Mean absolute off-diagonal correlation of the first window's matrix (SPEC §3).
    pub instability_50: f64,
    /// Mean absolute off-diagonal correlation of the second window's matrix (SPEC §3).
    pub instability_150: f64,
    /// `lambda_max(C_w) / N_w` per window, in `(0, 1]` (SPEC §3).
    pub lambda_hat: [f64; 4],
    /// `N_w`: the number of assets in each window's matrix (SPEC §6: full window, nonzero variance).
    pub n_assets: [usize; 4],
}

impl ScanRow {
    /// A row with every value undefined.
    pub const NAN: ScanRow = ScanRow {
        vel_div: f64::NAN,
        v50: f64::NAN,
        v150: f64::NAN,
        v300: f64::NAN,
        v750: f64::NAN,
        instability_50: f64::NAN,
        instability_150: f64::NAN,
        lambda_hat: [f64::NAN; 4],
        n_assets: [0; 4],
    };

    /// The four velocities in window order.
    pub fn velocities(&self) -> [f64; 4] {
        [self.v50, self.v150, self.v300, self.v750]
    }

    /// True when both rows hold the same bits in every field (NaN equals NaN).
    pub fn bit_eq(&self, o: &ScanRow) -> bool {
        let a = self.floats();
        let b = o.floats();
        a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits())
            && self.n_assets == o.n_assets
    }

    fn floats(&self) -> [f64; 11] {
        let l = self.lambda_hat;
        [
            self.vel_div,
            self.v50,
            self.v150,
            self.v300,
            self.v750,
            self.instability_50,
            self.instability_150,
            l[0],
            l[1],
            l[2],
            l[3],
        ]
    }
}
