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

    /// Appends this row to a day file (B §3.1 columns) as the row at `timestamp_ms` with global
    /// `scan_number` and the panel's `closes` — how `dolphin scan` writes day files.
    pub fn append_to(
        &self,
        frame: &mut dolphin_core::DayFrame,
        timestamp_ms: i64,
        scan_number: i64,
        closes: &[f64],
    ) {
        frame.timestamp.push(timestamp_ms);
        frame.scan_number.push(scan_number);
        frame.vel_div.push(self.vel_div);
        frame.v50_vel.push(self.v50);
        frame.v150_vel.push(self.v150);
        frame.v300_vel.push(self.v300);
        frame.v750_vel.push(self.v750);
        frame.instability_50.push(self.instability_50);
        frame.instability_150.push(self.instability_150);
        frame.prices.extend_from_slice(closes);
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_core::{DayFrame, UtcDate};

    #[test]
    fn append_to_writes_one_day_file_row() {
        let mut f = DayFrame::empty(
            UtcDate::new(2025, 5, 5).unwrap(),
            vec!["AUSDT".into(), "BUSDT".into()],
        );
        let row = ScanRow {
            vel_div: -0.03,
            v50: -0.01,
            v150: 0.005,
            v300: 0.001,
            v750: 0.02,
            instability_50: 0.4,
            instability_150: 0.3,
            ..ScanRow::NAN
        };
        ScanRow::NAN.append_to(&mut f, 1_746_403_200_000, 7, &[1.0, f64::NAN]);
        row.append_to(&mut f, 1_746_403_260_000, 8, &[1.5, 2.5]);
        f.check_shape().unwrap();
        assert_eq!(f.timestamp, [1_746_403_200_000, 1_746_403_260_000]);
        assert_eq!(f.scan_number, [7, 8]);
        assert!(f.vel_div[0].is_nan());
        assert_eq!(
            (
                f.vel_div[1],
                f.v50_vel[1],
                f.v150_vel[1],
                f.v300_vel[1],
                f.v750_vel[1]
            ),
            (-0.03, -0.01, 0.005, 0.001, 0.02)
        );
        assert_eq!((f.instability_50[1], f.instability_150[1]), (0.4, 0.3));
        assert_eq!(f.row_prices(1), [1.5, 2.5]);
        assert!(f.row_prices(0)[1].is_nan());
    }
}
