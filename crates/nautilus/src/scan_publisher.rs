//! The live eigenvalue-scan publisher (S §9.1 "Eigenvalue scanner → … →
//! `DOLPHIN_FEATURES["latest_eigen_scan"]`"): closes of the asset panel arrive one bar at a
//! time per asset; once a bar time is complete (every asset has its close, or a later bar time
//! shows up) the streaming [`Scanner`] runs on that row and the scan is written to the store.
//!
//! The same `Scanner` builds the day files, so a live scan and `dolphin scan` on the same
//! closes give the same bits (SPEC §3).

use dolphin_scanner::{ScanError, ScanRow, Scanner, ScannerConfig};
use dolphin_store::schema::{DOLPHIN_FEATURES, EigenScanValue, Extra, KEY_LATEST_EIGEN_SCAN};
use dolphin_store::{StoreError, SystemMemory};
use std::collections::BTreeMap;

/// Counters of the publisher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Scans produced.
    pub scans: u64,
    /// Scans flushed before every asset had reported (missing closes carried forward).
    pub incomplete: u64,
    /// Closes dropped because their bar time was older than the one being assembled.
    pub late_closes: u64,
    /// Closes for symbols outside the panel.
    pub unknown_assets: u64,
    /// Panel assets the exchange does not list (no instrument): they never report, so they do
    /// not hold a bar time open; their column is NaN, as a kline panel without their file.
    pub absent_assets: u64,
}

/// Assembles per-asset closes into panel rows and scans them (S §9.1).
#[derive(Debug, Clone)]
pub struct ScanPublisher {
    assets: Vec<String>,
    index: BTreeMap<String, usize>,
    scanner: Scanner,
    /// Bar time (ms) being assembled and which assets reported for it.
    open_ts: Option<i64>,
    seen: Vec<bool>,
    /// Assets declared absent ([`Self::set_absent`]): counted as reported in every bar time.
    absent: Vec<bool>,
    /// The closes of the bar time being assembled (NaN = not reported, as in a kline panel).
    closes: Vec<f64>,
    /// Bar length, ms: a scan is made at its bar's close, `timestamp + interval_ms`.
    interval_ms: i64,
    next_scan_number: i64,
    stats: PublisherStats,
}

impl ScanPublisher {
    /// A publisher for the panel `assets` (the scanner's column order), scanner config and bar
    /// length.
    pub fn new(
        assets: Vec<String>,
        cfg: ScannerConfig,
        interval_ms: i64,
    ) -> Result<Self, ScanError> {
        let scanner = Scanner::new(assets.len(), cfg)?;
        let index = assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), i))
            .collect();
        let n = assets.len();
        Ok(Self {
            assets,
            index,
            scanner,
            open_ts: None,
            seen: vec![false; n],
            absent: vec![false; n],
            closes: vec![f64::NAN; n],
            interval_ms,
            next_scan_number: 0,
            stats: PublisherStats::default(),
        })
    }

    /// The panel, in column order.
    pub fn assets(&self) -> &[String] {
        &self.assets
    }

    /// Bar length, ms.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Counters so far.
    pub fn stats(&self) -> PublisherStats {
        self.stats
    }

    /// Declares `asset` absent (the exchange lists no such instrument): it will never report,
    /// so a bar time is complete without it and its column stays NaN. Returns `false` for a
    /// symbol outside the panel.
    pub fn set_absent(&mut self, asset: &str) -> bool {
        let Some(&i) = self.index.get(asset) else {
            return false;
        };
        if !self.absent[i] {
            self.absent[i] = true;
            self.seen[i] = true;
            self.stats.absent_assets += 1;
        }
        true
    }

    /// One close of `asset` for the bar opening at `ts_ms`. Returns the scans completed by it
    /// (zero, one, or two when a later bar time flushes an incomplete one and then completes).
    pub fn on_close(&mut self, asset: &str, ts_ms: i64, close: f64) -> Vec<EigenScanValue> {
        let mut out = Vec::new();
        let Some(&i) = self.index.get(asset) else {
            self.stats.unknown_assets += 1;
            return out;
        };
        if self.absent[i] {
            self.stats.unknown_assets += 1;
            return out;
        }
        match self.open_ts {
            Some(t) if ts_ms < t => {
                self.stats.late_closes += 1;
                return out;
            }
            Some(t) if ts_ms > t => {
                self.stats.incomplete += 1;
                out.push(self.flush(t));
                self.open_ts = Some(ts_ms);
            }
            Some(_) => {}
            None => self.open_ts = Some(ts_ms),
        }
        self.closes[i] = close;
        self.seen[i] = true;
        if self.seen.iter().all(|&s| s) {
            out.push(self.flush(ts_ms));
            self.open_ts = None;
        }
        out
    }

    /// Scans the assembled row at `ts_ms` and resets the assembly. An asset that did not report
    /// is NaN in the row, exactly as a kline panel has it (`dolphin scan`), so a live scan equals
    /// the day file's row.
    fn flush(&mut self, ts_ms: i64) -> EigenScanValue {
        let row = self.scanner.push(&self.closes);
        let n = self.next_scan_number;
        self.next_scan_number += 1;
        self.stats.scans += 1;
        let v = scan_value(
            &self.assets,
            &self.closes,
            ts_ms,
            ts_ms + self.interval_ms,
            n,
            &row,
        );
        self.seen.clone_from(&self.absent);
        self.closes.iter_mut().for_each(|c| *c = f64::NAN);
        v
    }

    /// [`Self::on_close`] and write each completed scan to
    /// `DOLPHIN_FEATURES["latest_eigen_scan"]` (deferred by the store's outbox when it is down).
    pub fn on_close_publish(
        &mut self,
        store: &dyn SystemMemory,
        asset: &str,
        ts_ms: i64,
        close: f64,
    ) -> Result<usize, StoreError> {
        let scans = self.on_close(asset, ts_ms, close);
        for s in &scans {
            let json = dolphin_store::schema::to_json(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, s)?;
            store.put_or_defer(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &json)?;
        }
        Ok(scans.len())
    }
}

/// The `latest_eigen_scan` value of one scanned row (S §10 `{vel_div, scan_number,
/// asset_prices, ...}`); the extra fields carry the bar time and the day-file signal columns
/// (B §3.1) so that the live actor steps exactly what a replay would: `timestamp` is the bar's
/// open time (the day-file row time) and `scan_time_ms` when the scan was made (its close).
pub fn scan_value(
    assets: &[String],
    closes: &[f64],
    ts_ms: i64,
    scan_time_ms: i64,
    scan_number: i64,
    row: &ScanRow,
) -> EigenScanValue {
    let asset_prices = assets
        .iter()
        .zip(closes)
        .filter(|(_, p)| dolphin_core::is_valid_price(**p))
        .map(|(a, p)| (a.clone(), *p))
        .collect();
    let num = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let mut extra = Extra::new();
    extra.insert("timestamp".into(), serde_json::json!(ts_ms));
    extra.insert("scan_time_ms".into(), serde_json::json!(scan_time_ms));
    extra.insert("v50_lambda_max_velocity".into(), num(row.v50));
    extra.insert("v150_lambda_max_velocity".into(), num(row.v150));
    extra.insert("v300_lambda_max_velocity".into(), num(row.v300));
    extra.insert("v750_lambda_max_velocity".into(), num(row.v750));
    extra.insert("instability_50".into(), num(row.instability_50));
    extra.insert("instability_150".into(), num(row.instability_150));
    EigenScanValue {
        vel_div: row.vel_div,
        scan_number,
        asset_prices,
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ScannerConfig {
        ScannerConfig {
            windows: [3, 4, 5, 6],
            slow_window: 6,
            ..ScannerConfig::default()
        }
    }

    fn panel() -> Vec<String> {
        vec!["AUSDT".into(), "BUSDT".into(), "CUSDT".into()]
    }

    #[test]
    fn a_complete_bar_time_scans_once_with_the_batch_values() {
        let mut p = ScanPublisher::new(panel(), cfg(), 60_000).unwrap();
        let mut batch = Scanner::new(3, cfg()).unwrap();
        let rows: Vec<[f64; 3]> = (0..12)
            .map(|i| {
                let x = i as f64;
                [100.0 + x.sin(), 50.0 + (1.3 * x).cos(), 10.0 + 0.1 * x]
            })
            .collect();
        for (k, r) in rows.iter().enumerate() {
            let ts = 60_000 * k as i64;
            // Arrival order differs from the column order.
            assert!(p.on_close("CUSDT", ts, r[2]).is_empty());
            assert!(p.on_close("AUSDT", ts, r[0]).is_empty());
            let scans = p.on_close("BUSDT", ts, r[1]);
            assert_eq!(scans.len(), 1);
            let want = batch.push(r);
            let s = &scans[0];
            assert_eq!(s.scan_number, k as i64);
            assert_eq!(s.extra["timestamp"], serde_json::json!(ts));
            assert_eq!(s.vel_div.to_bits(), want.vel_div.to_bits());
            assert_eq!(s.asset_prices["BUSDT"], r[1]);
        }
        assert_eq!(p.stats().scans, 12);
        assert_eq!(p.stats().incomplete, 0);
        // After 6+1 bars the slow window is full: vel_div is defined.
        let last = batch.push(&[101.0, 49.0, 11.5]);
        assert!(last.vel_div.is_finite());
    }

    #[test]
    fn a_later_bar_time_flushes_an_incomplete_one_with_nan_for_the_silent_assets() {
        let mut p = ScanPublisher::new(panel(), cfg(), 60_000).unwrap();
        for a in ["AUSDT", "BUSDT", "CUSDT"] {
            p.on_close(a, 0, 10.0);
        }
        assert!(p.on_close("AUSDT", 60_000, 11.0).is_empty());
        // BUSDT and CUSDT never report for 60_000; the next bar time flushes it.
        let scans = p.on_close("AUSDT", 120_000, 12.0);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].extra["timestamp"], serde_json::json!(60_000));
        assert_eq!(scans[0].asset_prices["AUSDT"], 11.0);
        assert_eq!(scans[0].extra["scan_time_ms"], serde_json::json!(120_000));
        // BUSDT and CUSDT did not report: no price (NaN in the row, as in a kline panel).
        assert_eq!(scans[0].asset_prices.len(), 1);
        assert_eq!(p.stats().incomplete, 1);
        // A close for an older bar time is dropped, an unknown symbol is counted.
        assert!(p.on_close("BUSDT", 60_000, 9.0).is_empty());
        assert!(p.on_close("ZZZUSDT", 120_000, 9.0).is_empty());
        assert_eq!(p.stats().late_closes, 1);
        assert_eq!(p.stats().unknown_assets, 1);
    }

    #[test]
    fn an_absent_asset_does_not_hold_a_bar_time_open() {
        let mut p = ScanPublisher::new(panel(), cfg(), 60_000).unwrap();
        assert!(p.set_absent("BUSDT"));
        assert!(!p.set_absent("ZZZUSDT"));
        assert!(p.set_absent("BUSDT")); // twice: counted once
        assert_eq!(p.stats().absent_assets, 1);
        for k in 0..3 {
            let ts = 60_000 * k;
            assert!(p.on_close("CUSDT", ts, 3.0 + k as f64).is_empty());
            // The bar time completes on the last listed asset, not at the next bar time.
            let scans = p.on_close("AUSDT", ts, 1.0 + k as f64);
            assert_eq!(scans.len(), 1, "bar {k}");
            assert_eq!(scans[0].extra["timestamp"], serde_json::json!(ts));
            assert_eq!(scans[0].asset_prices.len(), 2);
            assert!(!scans[0].asset_prices.contains_key("BUSDT"));
        }
        assert_eq!(p.stats().incomplete, 0);
        assert_eq!(p.stats().scans, 3);
        // A close for the absent asset is not taken (it would bring a column back mid-run).
        assert!(p.on_close("BUSDT", 180_000, 2.0).is_empty());
        assert_eq!(p.stats().unknown_assets, 1);
    }

    #[test]
    fn published_scans_land_in_the_store() {
        let store = dolphin_store::EmbeddedMemory::new();
        let mut p = ScanPublisher::new(panel(), cfg(), 60_000).unwrap();
        let mut n = 0;
        for (a, c) in [("AUSDT", 1.0), ("BUSDT", 2.0), ("CUSDT", 3.0)] {
            n += p.on_close_publish(&store, a, 0, c).unwrap();
        }
        assert_eq!(n, 1);
        let json = store
            .get(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN)
            .unwrap()
            .unwrap();
        let v: EigenScanValue = serde_json::from_str(&json).unwrap();
        assert_eq!(v.scan_number, 0);
        assert!(v.vel_div.is_nan()); // warm-up
        assert_eq!(v.asset_prices.len(), 3);
    }
}
