//! The day frame: one UTC date of scanner output, the unit the engine replays (SPEC §3).
//!
//! Layout of a day file (`YYYY-MM-DD.parquet`): `timestamp` (open time, ms, UTC),
//! `scan_number` (0-based global row index), the seven signal columns of [`SIGNAL_COLUMNS`],
//! then one close-price column per asset. Every column that is not one of these is an asset.
//! A missing price is NaN or a value ≤ 0 (SPEC D10); it is data, not an error.

use crate::UtcDate;

/// The signal columns of a day file, in file order (seeds B §3.1).
pub const SIGNAL_COLUMNS: [&str; 7] = [
    "vel_div",
    "v50_lambda_max_velocity",
    "v150_lambda_max_velocity",
    "v300_lambda_max_velocity",
    "v750_lambda_max_velocity",
    "instability_50",
    "instability_150",
];

/// Columns that are never assets.
pub const META_COLUMNS: [&str; 2] = ["timestamp", "scan_number"];

/// Whether a column name is a meta or signal column (and therefore not an asset).
pub fn is_reserved_column(name: &str) -> bool {
    META_COLUMNS.contains(&name) || SIGNAL_COLUMNS.contains(&name)
}

/// Inconsistent shapes when building a [`DayFrame`] by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayFrameError {
    #[error("column `{column}` has {got} rows, expected {expected}")]
    Length {
        column: String,
        got: usize,
        expected: usize,
    },
    #[error("price matrix has {got} values, expected {rows} rows x {assets} assets")]
    PriceShape {
        got: usize,
        rows: usize,
        assets: usize,
    },
    #[error("asset name `{0}` is a reserved column name")]
    ReservedAsset(String),
    #[error("asset `{0}` appears twice")]
    DuplicateAsset(String),
}

/// One row of a day file (B §3.1 columns), the one way rows are added to a [`DayFrame`]
/// ([`DayFrame::push_row`]). [`DayRow::new`] starts with every signal column NaN (a warm-up
/// row); set the columns that are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRow<'a> {
    /// Open time, ms since the epoch (UTC).
    pub timestamp: i64,
    /// 0-based global row index.
    pub scan_number: i64,
    pub vel_div: f64,
    pub v50_vel: f64,
    pub v150_vel: f64,
    pub v300_vel: f64,
    pub v750_vel: f64,
    pub instability_50: f64,
    pub instability_150: f64,
    /// One close per asset column, in the frame's column order.
    pub prices: &'a [f64],
}

impl<'a> DayRow<'a> {
    /// A row at `timestamp` with `prices` and every signal column NaN.
    pub fn new(timestamp: i64, scan_number: i64, prices: &'a [f64]) -> Self {
        Self {
            timestamp,
            scan_number,
            vel_div: f64::NAN,
            v50_vel: f64::NAN,
            v150_vel: f64::NAN,
            v300_vel: f64::NAN,
            v750_vel: f64::NAN,
            instability_50: f64::NAN,
            instability_150: f64::NAN,
            prices,
        }
    }

    /// Sets `vel_div`.
    pub fn vel_div(mut self, v: f64) -> Self {
        self.vel_div = v;
        self
    }

    /// Sets the four velocity columns (windows 50, 150, 300, 750).
    pub fn velocities(mut self, v: [f64; 4]) -> Self {
        [self.v50_vel, self.v150_vel, self.v300_vel, self.v750_vel] = v;
        self
    }

    /// Sets the two instability columns (windows 50, 150).
    pub fn instability(mut self, i50: f64, i150: f64) -> Self {
        self.instability_50 = i50;
        self.instability_150 = i150;
        self
    }
}

/// One day of scanner output, held in memory. Prices are row-major: row `r`, asset `a` is
/// `prices[r * assets.len() + a]`, so one bar's prices are a contiguous slice.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFrame {
    pub date: UtcDate,
    pub assets: Vec<String>,
    pub timestamp: Vec<i64>,
    pub scan_number: Vec<i64>,
    pub vel_div: Vec<f64>,
    pub v50_vel: Vec<f64>,
    pub v150_vel: Vec<f64>,
    pub v300_vel: Vec<f64>,
    pub v750_vel: Vec<f64>,
    pub instability_50: Vec<f64>,
    pub instability_150: Vec<f64>,
    pub prices: Vec<f64>,
}

impl DayFrame {
    /// An empty frame for `date` with the given asset columns.
    pub fn empty(date: UtcDate, assets: Vec<String>) -> Self {
        Self {
            date,
            assets,
            timestamp: Vec::new(),
            scan_number: Vec::new(),
            vel_div: Vec::new(),
            v50_vel: Vec::new(),
            v150_vel: Vec::new(),
            v300_vel: Vec::new(),
            v750_vel: Vec::new(),
            instability_50: Vec::new(),
            instability_150: Vec::new(),
            prices: Vec::new(),
        }
    }

    /// Appends one row. Refuses a row whose price count is not the frame's asset count
    /// (the frame is left unchanged).
    pub fn push_row(&mut self, row: &DayRow<'_>) -> Result<(), DayFrameError> {
        if row.prices.len() != self.assets.len() {
            return Err(DayFrameError::PriceShape {
                got: row.prices.len(),
                rows: 1,
                assets: self.assets.len(),
            });
        }
        self.timestamp.push(row.timestamp);
        self.scan_number.push(row.scan_number);
        self.vel_div.push(row.vel_div);
        self.v50_vel.push(row.v50_vel);
        self.v150_vel.push(row.v150_vel);
        self.v300_vel.push(row.v300_vel);
        self.v750_vel.push(row.v750_vel);
        self.instability_50.push(row.instability_50);
        self.instability_150.push(row.instability_150);
        self.prices.extend_from_slice(row.prices);
        Ok(())
    }

    /// Number of rows (bars).
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// Whether the frame has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    /// Number of asset columns.
    pub fn n_assets(&self) -> usize {
        self.assets.len()
    }

    /// The prices of row `r`, one per asset in column order.
    pub fn row_prices(&self, r: usize) -> &[f64] {
        let n = self.assets.len();
        &self.prices[r * n..(r + 1) * n]
    }

    /// Position of an asset column, if present.
    pub fn asset_index(&self, name: &str) -> Option<usize> {
        self.assets.iter().position(|a| a == name)
    }

    /// All prices of one asset, in row order.
    pub fn asset_column(&self, a: usize) -> Vec<f64> {
        let n = self.assets.len();
        (0..self.len()).map(|r| self.prices[r * n + a]).collect()
    }

    /// Checks that every column has the same number of rows and asset names are usable.
    pub fn check_shape(&self) -> Result<(), DayFrameError> {
        let rows = self.timestamp.len();
        let cols: [(&str, usize); 9] = [
            ("scan_number", self.scan_number.len()),
            (SIGNAL_COLUMNS[0], self.vel_div.len()),
            (SIGNAL_COLUMNS[1], self.v50_vel.len()),
            (SIGNAL_COLUMNS[2], self.v150_vel.len()),
            (SIGNAL_COLUMNS[3], self.v300_vel.len()),
            (SIGNAL_COLUMNS[4], self.v750_vel.len()),
            (SIGNAL_COLUMNS[5], self.instability_50.len()),
            (SIGNAL_COLUMNS[6], self.instability_150.len()),
            ("timestamp", rows),
        ];
        for (column, got) in cols {
            if got != rows {
                return Err(DayFrameError::Length {
                    column: column.to_string(),
                    got,
                    expected: rows,
                });
            }
        }
        if self.prices.len() != rows * self.assets.len() {
            return Err(DayFrameError::PriceShape {
                got: self.prices.len(),
                rows,
                assets: self.assets.len(),
            });
        }
        for (i, a) in self.assets.iter().enumerate() {
            if is_reserved_column(a) {
                return Err(DayFrameError::ReservedAsset(a.clone()));
            }
            if self.assets[..i].contains(a) {
                return Err(DayFrameError::DuplicateAsset(a.clone()));
            }
        }
        Ok(())
    }
}

/// Whether a price counts as present: finite and strictly positive (SPEC D10).
#[inline]
pub fn is_valid_price(p: f64) -> bool {
    p.is_finite() && p > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DayFrame {
        let mut f = DayFrame::empty(
            "2025-05-05".parse().unwrap(),
            vec!["AAAUSDT".into(), "BBBUSDT".into()],
        );
        for r in 0..3 {
            let prices = [1.0 + r as f64, 10.0 + r as f64];
            let row = DayRow::new(r * 60_000, r, &prices)
                .vel_div(0.0)
                .velocities([0.0; 4])
                .instability(0.0, 0.0);
            f.push_row(&row).unwrap();
        }
        f
    }

    #[test]
    fn push_row_fills_every_column_and_refuses_a_short_row() {
        let mut f = frame();
        let row = DayRow::new(180_000, 3, &[4.0, 13.0])
            .vel_div(-0.03)
            .velocities([1.0, 2.0, 3.0, 4.0]);
        f.push_row(&row).unwrap();
        assert_eq!(f.check_shape(), Ok(()));
        assert_eq!(f.len(), 4);
        assert_eq!(
            (f.vel_div[3], f.v50_vel[3], f.v750_vel[3]),
            (-0.03, 1.0, 4.0)
        );
        assert!(f.instability_50[3].is_nan() && f.instability_150[3].is_nan());
        assert_eq!(f.row_prices(3), &[4.0, 13.0]);
        assert_eq!(
            f.push_row(&DayRow::new(0, 4, &[1.0])),
            Err(DayFrameError::PriceShape {
                got: 1,
                rows: 1,
                assets: 2
            })
        );
        assert_eq!(f.len(), 4, "a refused row leaves the frame unchanged");
    }

    #[test]
    fn rows_and_columns() {
        let f = frame();
        assert_eq!(f.len(), 3);
        assert_eq!(f.row_prices(1), &[2.0, 11.0]);
        assert_eq!(f.asset_column(1), vec![10.0, 11.0, 12.0]);
        assert_eq!(f.asset_index("BBBUSDT"), Some(1));
        assert!(f.check_shape().is_ok());
    }

    #[test]
    fn shape_errors_name_the_column() {
        let mut f = frame();
        f.v750_vel.pop();
        let e = f.check_shape().unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `v750_lambda_max_velocity` has 2 rows, expected 3"
        );
        let mut f = frame();
        f.assets[1] = "vel_div".into();
        assert!(matches!(
            f.check_shape(),
            Err(DayFrameError::ReservedAsset(_))
        ));
    }

    #[test]
    fn valid_prices() {
        assert!(is_valid_price(1e-9));
        assert!(!is_valid_price(0.0));
        assert!(!is_valid_price(-1.0));
        assert!(!is_valid_price(f64::NAN));
        assert!(!is_valid_price(f64::INFINITY));
    }
}
