//! The in-process hand-over of live scans from the [`crate::ScannerActor`] to the
//! [`crate::DolphinActor`] (S §9.1 "scanner → `latest_eigen_scan` → actor", inside one node).
//!
//! S §5.3 ④ has the actor read the *latest* scan from the store on its own bar. In one node that
//! makes which scan a bar steps depend on the arrival order of the panel's bars (the scan of a
//! bar time is complete only when its last asset reported, after the driver's bar), so every
//! scan was stepped one bar late and a scan could be skipped when two completed between driver
//! bars. Here every scan the scanner publishes is also queued, and the scanner then publishes a
//! Nautilus signal ([`SCAN_SIGNAL`]) on the node's message bus; the actor's `on_signal` steps
//! each queued scan once, in order, in the same call: which scans are stepped, and with which
//! values, no longer depends on timing (docs/LIVE.md §5). The store value is still written
//! for the other readers (watchdog staleness, dashboard, a trader in another process).

use crate::live_scan::LiveScan;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

/// Name of the Nautilus signal the scanner publishes after queueing a scan (its value is the
/// scan number).
pub const SCAN_SIGNAL: &str = "dolphin_scan";

/// One published scan and when the bar that completed it arrived (wall time, for the
/// bar-close-to-order latency).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedScan {
    pub scan: LiveScan,
    pub arrived: Instant,
}

/// A FIFO of published scans shared by the two actors of a node (one thread, as Nautilus
/// actors are).
#[derive(Debug, Clone, Default)]
pub struct ScanInbox(Rc<RefCell<VecDeque<QueuedScan>>>);

impl PartialEq for ScanInbox {
    /// Two handles are equal when they share the queue.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for ScanInbox {}

impl ScanInbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a scan.
    pub fn push(&self, scan: LiveScan, arrived: Instant) {
        self.0.borrow_mut().push_back(QueuedScan { scan, arrived });
    }

    /// The oldest queued scan.
    pub fn pop(&self) -> Option<QueuedScan> {
        self.0.borrow_mut().pop_front()
    }

    /// Scans waiting.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(n: i64) -> LiveScan {
        LiveScan {
            scan_number: n,
            timestamp_ms: 60_000 * n,
            scan_time_ms: 60_000 * (n + 1),
            vel_div: -0.01 * n as f64,
            v50_vel: 0.0,
            v750_vel: 0.0,
            prices: vec![1.0, 2.0],
        }
    }

    #[test]
    fn scans_come_out_once_in_the_order_they_went_in() {
        let a = ScanInbox::new();
        let b = a.clone();
        assert_eq!(a, b);
        assert_ne!(a, ScanInbox::new());
        let t = Instant::now();
        for n in 0..3 {
            a.push(scan(n), t);
        }
        assert_eq!(b.len(), 3);
        let got: Vec<i64> = std::iter::from_fn(|| b.pop())
            .map(|q| q.scan.scan_number)
            .collect();
        assert_eq!(got, [0, 1, 2]);
        assert!(a.is_empty() && a.pop().is_none());
    }
}
