//! Live scan intake (S §5.3 ④, §9.1): the latest eigen scan from the store, with the
//! duplicate, staleness and skipped-scan checks, or — with the scanner in the same node — every
//! queued scan in order ([`crate::ScanInbox`]), stepped through the engine.

use super::DolphinActor;
use crate::actor_log::{BarTimeGap, Leg};
use crate::config::{ActorMode, LiveFeed};
use crate::gate_snap::GateSnap;
use crate::live_scan::LiveScan;
use dolphin_core::{UtcDate, date_of_ms};
use dolphin_store::schema::{DOLPHIN_FEATURES, EigenScanValue, KEY_LATEST_EIGEN_SCAN, from_json};
use std::sync::atomic::Ordering;

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
        self.note_bar_time(&scan);
        Some(scan)
    }

    /// Live mode with an in-process scanner: steps every queued scan once, in order (each
    /// under its own bar time's date and row), then ends the data at the feed's end time.
    pub(super) fn drain_inbox(&mut self) -> anyhow::Result<()> {
        let (Some(feed), ActorMode::Live { assets }) = (self.cfg.live_feed.clone(), &self.cfg.mode)
        else {
            return Ok(());
        };
        let n_assets = assets.len() as u64;
        while let Some(queued) = feed.inbox.pop() {
            let scan = queued.scan;
            let past_end = feed.end_ms.is_some_and(|end| scan.timestamp_ms >= end);
            if feed.done.load(Ordering::SeqCst) || past_end || self.engine.is_none() {
                self.log.borrow_mut().scans_after_end += 1;
                if past_end {
                    self.end_live_data(&feed)?;
                }
                continue;
            }
            if self.last_scan_number >= 0 && scan.scan_number > self.last_scan_number + 1 {
                self.log.borrow_mut().scans_skipped +=
                    (scan.scan_number - self.last_scan_number - 1) as u64;
            }
            self.last_scan_number = scan.scan_number;
            self.note_bar_time(&scan);
            let date = date_of_ms(scan.timestamp_ms);
            self.next_bar_ts = scan.timestamp_ms;
            if self.open_bar_day(date)? {
                let orders_before = self.log.borrow().orders.len();
                self.step_live(date, &scan, n_assets)?;
                let us = u64::try_from(queued.arrived.elapsed().as_micros()).unwrap_or(u64::MAX);
                let mut log = self.log.borrow_mut();
                log.scan_latency_us.push(us);
                if log.orders.len() > orders_before {
                    log.order_latency_us.push(us);
                }
            }
            if feed.end_ms.is_some_and(|end| scan.scan_time_ms >= end) {
                self.end_live_data(&feed)?;
            }
        }
        Ok(())
    }

    /// Records a hole in the bar times between the last scan stepped and `scan` (bars that
    /// never arrived: the scanner makes no scan for them), logged as a warning.
    fn note_bar_time(&mut self, scan: &LiveScan) {
        let interval = scan.scan_time_ms - scan.timestamp_ms;
        if let Some(gap) = self
            .last_scan_open_ms
            .and_then(|prev| BarTimeGap::between(prev, scan.timestamp_ms, interval))
        {
            log::warn!(
                "DolphinActor: {} bar time(s) from {} ms never arrived (scan {} follows a hole)",
                gap.bars,
                gap.from_ms,
                scan.scan_number
            );
            self.log.borrow_mut().bar_time_gaps.push(gap);
        }
        self.last_scan_open_ms = Some(scan.timestamp_ms);
    }

    /// The end of the live data (SPEC §6, as a replay's last row): an open position closes
    /// with END_OF_DATA, the day ends, and the feed is marked done (once).
    fn end_live_data(&mut self, feed: &LiveFeed) -> anyhow::Result<()> {
        if feed.done.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let open = self
            .engine
            .as_ref()
            .is_some_and(|e| e.current_date().is_some());
        if open {
            let closed = self.engine.as_mut().and_then(|e| e.close_end_of_data());
            if let Some(id) = closed {
                self.send_order(id, Leg::Exit);
            }
            self.finish_day(true)?;
        }
        log::info!("DolphinActor: end of the live data reached");
        Ok(())
    }

    /// Live mode ⑤–⑧: step one scan (S §5.3, §9.1).
    pub(super) fn step_live(
        &mut self,
        date: UtcDate,
        scan: &LiveScan,
        n_assets: u64,
    ) -> anyhow::Result<()> {
        let entries_allowed = self.governed_bar(date, scan.timestamp_ms)?;
        let engine = self.engine.as_mut().expect("checked by the caller");
        let before = GateSnap::of(engine, self.posture);
        let vol_regime_ok = engine.vol_regime_ok(&scan.prices) && entries_allowed;
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
        self.governed_after_bar(date, scan, &out)?;
        self.after_step(date, row, before, out, n_assets);
        Ok(())
    }
}
