//! Live mode's input (S §5.3 ④ `live_mode=True`): the latest eigen scan read from
//! `DOLPHIN_FEATURES["latest_eigen_scan"]`, checked and laid out in the panel's column order.

use dolphin_store::schema::EigenScanValue;

/// Staleness limit of S §5.3 ④: a scan older than this (relative to the bar) is warned about.
pub const MAX_SCAN_AGE_MS: i64 = 10_000;

/// A malformed `latest_eigen_scan` value; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveScanError {
    #[error("latest_eigen_scan: field `timestamp` (ms) missing or not an integer")]
    Timestamp,
    #[error("latest_eigen_scan: field `scan_time_ms` is not an integer")]
    ScanTime,
    #[error("latest_eigen_scan: field `{0}` is not a number")]
    NotANumber(&'static str),
}

/// One scan, ready for `step_bar`.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveScan {
    pub scan_number: i64,
    /// Bar open time of the scan, ms since the epoch (the day-file row time).
    pub timestamp_ms: i64,
    /// When the scan was made (`scan_time_ms`; the bar's close), else `timestamp_ms`.
    pub scan_time_ms: i64,
    pub vel_div: f64,
    pub v50_vel: f64,
    pub v750_vel: f64,
    /// One price per panel asset (NaN where the scan has none).
    pub prices: Vec<f64>,
}

impl LiveScan {
    /// Reads `v` for the panel `assets`. Errors name the missing or malformed field.
    pub fn from_value(v: &EigenScanValue, assets: &[String]) -> Result<LiveScan, LiveScanError> {
        let timestamp_ms = v
            .extra
            .get("timestamp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(LiveScanError::Timestamp)?;
        let scan_time_ms = match v.extra.get("scan_time_ms") {
            None | Some(serde_json::Value::Null) => timestamp_ms,
            Some(x) => x.as_i64().ok_or(LiveScanError::ScanTime)?,
        };
        let opt = |k: &'static str| -> Result<f64, LiveScanError> {
            match v.extra.get(k) {
                None | Some(serde_json::Value::Null) => Ok(f64::NAN),
                Some(x) => x.as_f64().ok_or(LiveScanError::NotANumber(k)),
            }
        };
        let prices = assets
            .iter()
            .map(|a| v.asset_prices.get(a).copied().unwrap_or(f64::NAN))
            .collect();
        Ok(LiveScan {
            scan_number: v.scan_number,
            timestamp_ms,
            scan_time_ms,
            vel_div: v.vel_div,
            v50_vel: opt("v50_lambda_max_velocity")?,
            v750_vel: opt("v750_lambda_max_velocity")?,
            prices,
        })
    }

    /// S §5.3 ④ staleness: `|now − scan time| > MAX_SCAN_AGE_MS`.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        (now_ms - self.scan_time_ms).abs() > MAX_SCAN_AGE_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(json: &str) -> EigenScanValue {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_the_fields_in_panel_order() {
        let v = value(
            r#"{"vel_div":-0.031,"scan_number":12,"asset_prices":{"ETHUSDT":2500.5,"BTCUSDT":61800.2},
                "timestamp":1723161240000,"scan_time_ms":1723161300000,"v50_lambda_max_velocity":-0.021,"v750_lambda_max_velocity":0.01}"#,
        );
        let panel = ["BTCUSDT".to_string(), "ETHUSDT".into(), "SOLUSDT".into()];
        let s = LiveScan::from_value(&v, &panel).unwrap();
        assert_eq!(s.scan_number, 12);
        assert_eq!(s.timestamp_ms, 1_723_161_240_000);
        assert_eq!((s.vel_div, s.v50_vel, s.v750_vel), (-0.031, -0.021, 0.01));
        assert_eq!(s.prices[..2], [61800.2, 2500.5]);
        assert!(s.prices[2].is_nan());
        assert_eq!(s.scan_time_ms, 1_723_161_300_000);
        assert!(!s.is_stale(1_723_161_310_000)); // 10 s after the scan: not yet
        assert!(s.is_stale(1_723_161_310_001));
        assert!(s.is_stale(1_723_161_289_999)); // |Δ| counts both ways
    }

    #[test]
    fn missing_or_bad_fields_are_named() {
        let panel = ["BTCUSDT".to_string()];
        let e = LiveScan::from_value(
            &value(r#"{"vel_div":0.1,"scan_number":1,"asset_prices":{}}"#),
            &panel,
        )
        .unwrap_err();
        assert_eq!(e, LiveScanError::Timestamp);
        assert!(e.to_string().contains("`timestamp`"), "{e}");
        let e = LiveScan::from_value(
            &value(
                r#"{"vel_div":0.1,"scan_number":1,"asset_prices":{},"timestamp":5,"v50_lambda_max_velocity":"x"}"#,
            ),
            &panel,
        )
        .unwrap_err();
        assert_eq!(e, LiveScanError::NotANumber("v50_lambda_max_velocity"));
        // Warm-up: null velocities are NaN, not errors.
        let s = LiveScan::from_value(
            &value(
                r#"{"vel_div":null,"scan_number":1,"asset_prices":{},"timestamp":5,"v50_lambda_max_velocity":null}"#,
            ),
            &panel,
        )
        .unwrap();
        assert!(s.vel_div.is_nan() && s.v50_vel.is_nan() && s.v750_vel.is_nan());
        assert_eq!(s.scan_time_ms, 5, "no scan_time_ms: the bar time");
    }
}
