//! Live scan intake (S §5.3 ④, §9.1): the latest eigen scan from the store, with the
//! duplicate, staleness and skipped-scan checks, stepped through the engine.

use super::DolphinActor;
use crate::gate_snap::GateSnap;
use crate::live_scan::LiveScan;
use dolphin_core::UtcDate;
use dolphin_store::schema::{DOLPHIN_FEATURES, EigenScanValue, KEY_LATEST_EIGEN_SCAN, from_json};

impl DolphinActor {
    /// Live mode ④ (S §5.3): the latest scan from the store; `None` = nothing to step on this
    /// bar (no store, no scan, a duplicate, or a malformed value — each counted or recorded).
    pub(super) fn latest_scan(&mut self, now_ms: i64, assets: &[String]) -> Option<LiveScan> {
        let store = self.store.clone()?;
        let json = match store.get(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN) {
            Ok(Some(j)) => j,
            Ok(None) => {
                self.log.borrow_mut().scans_missing += 1;
                return None;
            }
            Err(e) => {
                self.store_error(format!("latest_eigen_scan read failed: {e}"));
                return None;
            }
        };
        let value =
            match from_json::<EigenScanValue>(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &json) {
                Ok(v) => v,
                Err(e) => {
                    self.store_error(e.to_string());
                    return None;
                }
            };
        let scan = match LiveScan::from_value(&value, assets) {
            Ok(s) => s,
            Err(e) => {
                self.store_error(e.to_string());
                return None;
            }
        };
        if scan.scan_number == self.last_scan_number {
            self.log.borrow_mut().scans_duplicate += 1;
            return None;
        }
        if scan.is_stale(now_ms) {
            self.log.borrow_mut().scans_stale += 1;
            log::warn!(
                "DolphinActor: scan {} is {} ms from the bar",
                scan.scan_number,
                now_ms - scan.timestamp_ms
            );
        }
        if self.last_scan_number >= 0 && scan.scan_number > self.last_scan_number + 1 {
            self.log.borrow_mut().scans_skipped +=
                (scan.scan_number - self.last_scan_number - 1) as u64;
        }
        self.last_scan_number = scan.scan_number;
        Some(scan)
    }

    /// Live mode ⑤–⑧: step one scan (S §5.3, §9.1).
    pub(super) fn step_live(
        &mut self,
        date: UtcDate,
        scan: &LiveScan,
        n_assets: u64,
    ) -> anyhow::Result<()> {
        let engine = self.engine.as_mut().expect("checked by the caller");
        let before = GateSnap::of(engine, self.posture);
        let vol_regime_ok = engine.vol_regime_ok(&scan.prices);
        let step = engine.step_bar(&dolphin_engine::Bar {
            timestamp_ms: scan.timestamp_ms,
            vel_div: scan.vel_div,
            v50_vel: scan.v50_vel,
            v750_vel: scan.v750_vel,
            prices: &scan.prices,
            vol_regime_ok,
        });
        let row = self.bar_idx_today;
        let out = match step {
            Ok(o) => o,
            Err(e) => {
                self.bar_error(date, row, e.to_string());
                anyhow::bail!("DolphinActor {date} scan {}: {e}", scan.scan_number);
            }
        };
        self.after_step(date, row, before, out, n_assets);
        Ok(())
    }
}
