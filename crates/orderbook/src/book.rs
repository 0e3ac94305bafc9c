//! Local order book of one symbol, kept in sync with the Binance USD-M futures diff-depth
//! stream by the futures sync rule (SPEC §7):
//!
//! 1. buffer diffs until a REST snapshot arrives;
//! 2. drop diffs with `u < lastUpdateId`;
//! 3. the first applied diff has `U ≤ lastUpdateId ≤ u`;
//! 4. afterwards each diff's `pu` must equal the previous diff's `u`, else it is a GAP: the book
//!    is dropped, marked stale, the gap counted, and a new snapshot is needed
//!    ([`LocalBook::needs_snapshot`]). The book never goes on silently after a gap.
//!
//! A level with quantity 0 is deleted. Depth queries use exact integer bounds. Each side is a
//! [`BookSide`]: a dense tick-indexed window around the touch plus an ordered overflow map.

use std::collections::VecDeque;

use crate::book_side::{BookSide, DEFAULT_WINDOW};
use crate::decimal::FIXED_SCALE;
use crate::event::{DepthSnapshot, DepthUpdate, Level};

/// Most diffs kept while waiting for a snapshot; the oldest are dropped beyond this.
pub const MAX_BUFFERED_DIFFS: usize = 20_000;

/// Where the book is in the sync procedure (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No usable book: buffering diffs until a snapshot arrives.
    AwaitingSnapshot,
    /// Snapshot loaded; waiting for the diff with `U ≤ lastUpdateId ≤ u`.
    AwaitingFirstDiff,
    /// Book is live: each diff's `pu` chains to the previous `u`.
    Synced,
}

/// What happened to a diff handed to [`LocalBook::apply_diff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    /// Held until a snapshot arrives.
    Buffered,
    /// `u < lastUpdateId`: already contained in the snapshot.
    Dropped,
    /// Applied to the book; the book is in sync after it.
    Applied,
    /// Continuity broken (or the snapshot is older than the first diff): book dropped.
    Gap,
}

/// Counters of the sync procedure (SPEC §7; the `BookHealth` of the task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BookStats {
    /// Diffs applied to a synced book.
    pub applied_diffs: u64,
    /// Diffs dropped as older than the snapshot.
    pub dropped_diffs: u64,
    /// Continuity breaks detected (each drops the book).
    pub gaps: u64,
    /// Snapshots loaded after the first one.
    pub resyncs: u64,
    /// Snapshots loaded in total.
    pub snapshots: u64,
    /// Buffered diffs discarded because the buffer was full.
    pub buffer_overflows: u64,
    /// Milliseconds of exchange time (`E`) during which the book was not synced.
    pub stale_ms: i64,
}

/// Depth of both sides within a band around mid (SPEC §3 "OB features").
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BandDepth {
    /// Σ price·qty of bids with price ≥ mid·(1 − band), USDT.
    pub bid_notional: f64,
    /// Σ price·qty of asks with price ≤ mid·(1 + band), USDT.
    pub ask_notional: f64,
    /// Σ qty of those bids, base units.
    pub bid_qty: f64,
    /// Σ qty of those asks, base units.
    pub ask_qty: f64,
}

/// A local L2 book of one symbol (SPEC §7).
#[derive(Debug, Clone)]
pub struct LocalBook {
    bids: BookSide,
    asks: BookSide,
    state: SyncState,
    /// Snapshot `lastUpdateId` while awaiting the first diff; the last applied `u` afterwards.
    last_update_id: u64,
    buffer: VecDeque<DepthUpdate>,
    stats: BookStats,
    /// Exchange time since which the book is not synced (None while synced or before any message).
    stale_since_ms: Option<i64>,
    last_event_ms: Option<i64>,
}

impl Default for LocalBook {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBook {
    /// An empty book awaiting its first snapshot.
    pub fn new() -> Self {
        Self::with_window(DEFAULT_WINDOW)
    }

    /// As [`LocalBook::new`] with `window` dense slots per side (see [`BookSide`]).
    pub fn with_window(window: usize) -> Self {
        LocalBook {
            bids: BookSide::new(true, window),
            asks: BookSide::new(false, window),
            state: SyncState::AwaitingSnapshot,
            last_update_id: 0,
            buffer: VecDeque::new(),
            stats: BookStats::default(),
            stale_since_ms: None,
            last_event_ms: None,
        }
    }

    /// Current sync state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// True when the book reflects the stream (SPEC §7 step 4 holds).
    pub fn is_synced(&self) -> bool {
        self.state == SyncState::Synced
    }

    /// True when the caller should fetch a REST snapshot (no book, or the book was dropped).
    pub fn needs_snapshot(&self) -> bool {
        self.state == SyncState::AwaitingSnapshot
    }

    /// The counters so far; `stale_ms` includes the open stale interval up to the last event.
    pub fn stats(&self) -> BookStats {
        let mut s = self.stats;
        if let (Some(since), Some(last)) = (self.stale_since_ms, self.last_event_ms) {
            s.stale_ms += (last - since).max(0);
        }
        s
    }

    /// Last applied update id (or the snapshot id before the first diff).
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// Number of diffs waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn note_time(&mut self, event_ms: i64) {
        let t = self.last_event_ms.map_or(event_ms, |l| l.max(event_ms));
        self.last_event_ms = Some(t);
        if self.state != SyncState::Synced && self.stale_since_ms.is_none() {
            self.stale_since_ms = Some(t);
        }
    }

    fn mark_synced(&mut self) {
        self.state = SyncState::Synced;
        if let (Some(since), Some(last)) = (self.stale_since_ms.take(), self.last_event_ms) {
            self.stats.stale_ms += (last - since).max(0);
        }
    }

    fn drop_book(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.state = SyncState::AwaitingSnapshot;
        self.stats.gaps += 1;
        if self.stale_since_ms.is_none() {
            self.stale_since_ms = self.last_event_ms;
        }
    }

    /// Drop the book without counting a gap (the connection carrying its diffs was lost, so
    /// continuity is unknown): it is stale and needs a new snapshot; buffered diffs are kept
    /// out because they belong to the old connection.
    pub fn reset(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.buffer.clear();
        self.state = SyncState::AwaitingSnapshot;
        if self.stale_since_ms.is_none() {
            self.stale_since_ms = self.last_event_ms;
        }
    }

    fn set_levels(side: &mut BookSide, levels: &[Level]) {
        for l in levels {
            side.set(l.price, l.qty);
        }
        side.rebase_if_needed();
    }

    /// Load a REST snapshot (SPEC §7 step 1), then replay the buffered diffs by steps 2–4.
    /// Returns the outcomes of the replayed diffs in order.
    pub fn apply_snapshot(&mut self, snap: &DepthSnapshot) -> Vec<DiffOutcome> {
        let mut out = Vec::new();
        self.apply_snapshot_with(snap, |_, _, o| out.push(o));
        out
    }

    /// As [`LocalBook::apply_snapshot`], calling `on_diff(book, diff_u, outcome)` after each
    /// replayed diff (so that a checker sees the book right after each applied diff).
    pub fn apply_snapshot_with(
        &mut self,
        snap: &DepthSnapshot,
        mut on_diff: impl FnMut(&LocalBook, u64, DiffOutcome),
    ) {
        self.note_time(snap.event_time_ms);
        if self.stats.snapshots > 0 {
            self.stats.resyncs += 1;
        }
        self.stats.snapshots += 1;
        self.bids.clear();
        self.asks.clear();
        Self::set_levels(&mut self.bids, &snap.bids);
        Self::set_levels(&mut self.asks, &snap.asks);
        self.last_update_id = snap.last_update_id;
        self.state = SyncState::AwaitingFirstDiff;
        let buffered = std::mem::take(&mut self.buffer);
        for d in buffered {
            let u = d.final_update_id;
            let o = self.apply_diff_inner(d);
            on_diff(self, u, o);
        }
    }

    /// Apply (or buffer, or drop) one diff by the futures sync rule (SPEC §7).
    pub fn apply_diff(&mut self, diff: DepthUpdate) -> DiffOutcome {
        self.note_time(diff.event_time_ms);
        self.apply_diff_inner(diff)
    }

    fn apply_diff_inner(&mut self, diff: DepthUpdate) -> DiffOutcome {
        match self.state {
            SyncState::AwaitingSnapshot => {
                if self.buffer.len() >= MAX_BUFFERED_DIFFS {
                    self.buffer.pop_front();
                    self.stats.buffer_overflows += 1;
                }
                self.buffer.push_back(diff);
                DiffOutcome::Buffered
            }
            SyncState::AwaitingFirstDiff => {
                let lid = self.last_update_id;
                if diff.final_update_id < lid {
                    self.stats.dropped_diffs += 1;
                    DiffOutcome::Dropped
                } else if diff.first_update_id <= lid {
                    self.apply_levels(&diff);
                    self.mark_synced();
                    DiffOutcome::Applied
                } else {
                    // The snapshot is older than the stream: updates in between are lost.
                    self.drop_book();
                    self.buffer.push_back(diff);
                    DiffOutcome::Gap
                }
            }
            SyncState::Synced => {
                if diff.prev_final_update_id == self.last_update_id {
                    self.apply_levels(&diff);
                    DiffOutcome::Applied
                } else if diff.final_update_id <= self.last_update_id {
                    // A repeated/old event already reflected in the book.
                    self.stats.dropped_diffs += 1;
                    DiffOutcome::Dropped
                } else {
                    self.drop_book();
                    self.buffer.push_back(diff);
                    DiffOutcome::Gap
                }
            }
        }
    }

    fn apply_levels(&mut self, diff: &DepthUpdate) {
        Self::set_levels(&mut self.bids, &diff.bids);
        Self::set_levels(&mut self.asks, &diff.asks);
        self.last_update_id = diff.final_update_id;
        self.stats.applied_diffs += 1;
    }

    /// Best (highest) bid, if any.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// Best (lowest) ask, if any.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// Bid levels, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = Level> + '_ {
        self.bids.iter()
    }

    /// Ask levels, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = Level> + '_ {
        self.asks.iter()
    }

    /// Top of book after the diff with final id `update_id` (input of the SPEC §7 check).
    pub fn top(&self, update_id: u64) -> crate::ticker_check::BookTop {
        crate::ticker_check::BookTop {
            update_id,
            best_bid: self.best_bid(),
            best_ask: self.best_ask(),
        }
    }

    /// Number of bid and ask levels.
    pub fn level_counts(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// Mid price `(best bid + best ask)/2` in USDT.
    pub fn mid(&self) -> Option<f64> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        Some((b.price.to_f64() + a.price.to_f64()) / 2.0)
    }

    /// Spread in basis points of mid, `(ask − bid)/mid·10⁴`.
    pub fn spread_bps(&self) -> Option<f64> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        let mid = (b.price.to_f64() + a.price.to_f64()) / 2.0;
        (mid > 0.0).then(|| (a.price.to_f64() - b.price.to_f64()) / mid * 1e4)
    }

    /// Cumulative depth within each band `bands_bps[i]` (basis points of mid) on both sides
    /// (SPEC §3). A bid is inside band x when `price ≥ mid·(1 − x)`, an ask when
    /// `price ≤ mid·(1 + x)`; bounds are evaluated exactly in integers. `bands_bps` must be
    /// ascending. Empty when either side is empty.
    pub fn depth_bands(&self, bands_bps: &[u32]) -> Vec<BandDepth> {
        /// Band `i`'s totals as floats. Out of line: inlined, the compiler converted the
        /// running sums (two i128 → f64 calls) at every level, speculatively, before the
        /// band test that rarely passes (issue 12 benchmark, callgrind).
        #[inline(never)]
        fn fill(out: &mut [BandDepth], i: usize, n: i128, q: i128, bid: bool) {
            let scale2 = (FIXED_SCALE as f64) * (FIXED_SCALE as f64);
            let (n, q) = (n as f64 / scale2, q as f64 / FIXED_SCALE as f64);
            if bid {
                out[i].bid_notional = n;
                out[i].bid_qty = q;
            } else {
                out[i].ask_notional = n;
                out[i].ask_qty = q;
            }
        }
        let mut out = vec![BandDepth::default(); bands_bps.len()];
        let (Some(b), Some(a)) = (self.best_bid(), self.best_ask()) else {
            return Vec::new();
        };
        // 2·mid in fixed units, exact.
        let two_mid = i128::from(b.price.0) + i128::from(a.price.0);
        // Bids, best first: inside band x ⇔ p·2·10⁴ ≥ two_mid·(10⁴ − x).
        let mut notional: i128 = 0;
        let mut qty: i128 = 0;
        let mut band = 0;
        for Level { price: p, qty: q } in self.bids.iter() {
            let lhs = i128::from(p.0) * 20_000;
            while band < bands_bps.len()
                && lhs < two_mid * (10_000 - i128::from(bands_bps[band].min(10_000)))
            {
                fill(&mut out, band, notional, qty, true);
                band += 1;
            }
            if band == bands_bps.len() {
                break;
            }
            notional += i128::from(p.0) * i128::from(q.0);
            qty += i128::from(q.0);
        }
        while band < bands_bps.len() {
            fill(&mut out, band, notional, qty, true);
            band += 1;
        }
        notional = 0;
        qty = 0;
        band = 0;
        for Level { price: p, qty: q } in self.asks.iter() {
            let lhs = i128::from(p.0) * 20_000;
            while band < bands_bps.len() && lhs > two_mid * (10_000 + i128::from(bands_bps[band])) {
                fill(&mut out, band, notional, qty, false);
                band += 1;
            }
            if band == bands_bps.len() {
                break;
            }
            notional += i128::from(p.0) * i128::from(q.0);
            qty += i128::from(q.0);
        }
        while band < bands_bps.len() {
            fill(&mut out, band, notional, qty, false);
            band += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Fixed;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn lv(p: &str, q: &str) -> Level {
        Level {
            price: fx(p),
            qty: fx(q),
        }
    }

    fn diff(first: u64, last: u64, prev: u64, bids: Vec<Level>, asks: Vec<Level>) -> DepthUpdate {
        DepthUpdate {
            event_time_ms: last as i64,
            transaction_time_ms: last as i64,
            first_update_id: first,
            final_update_id: last,
            prev_final_update_id: prev,
            bids,
            asks,
        }
    }

    fn snap(id: u64) -> DepthSnapshot {
        DepthSnapshot {
            last_update_id: id,
            event_time_ms: id as i64,
            transaction_time_ms: id as i64,
            bids: vec![lv("100", "1"), lv("99", "2"), lv("98", "3")],
            asks: vec![lv("101", "1"), lv("102", "2"), lv("103", "3")],
        }
    }

    #[test]
    fn sync_buffers_drops_and_chains() {
        let mut book = LocalBook::new();
        assert!(book.needs_snapshot());
        assert_eq!(
            book.apply_diff(diff(1, 5, 0, vec![lv("100", "9")], vec![])),
            DiffOutcome::Buffered
        );
        assert_eq!(
            book.apply_diff(diff(6, 12, 5, vec![lv("100", "0")], vec![])),
            DiffOutcome::Buffered
        );
        let out = book.apply_snapshot(&snap(10));
        // First diff u=5 < 10 dropped; second has U=6 ≤ 10 ≤ 12: applied.
        assert_eq!(out, vec![DiffOutcome::Dropped, DiffOutcome::Applied]);
        assert!(book.is_synced());
        assert_eq!(book.best_bid(), Some(lv("99", "2")));
        assert_eq!(
            book.apply_diff(diff(13, 20, 12, vec![], vec![lv("100.5", "4")])),
            DiffOutcome::Applied
        );
        assert_eq!(book.best_ask(), Some(lv("100.5", "4")));
        assert_eq!(book.last_update_id(), 20);
        let s = book.stats();
        assert_eq!((s.applied_diffs, s.dropped_diffs, s.gaps), (2, 1, 0));
    }

    #[test]
    fn gap_drops_book_and_resyncs() {
        let mut book = LocalBook::new();
        book.apply_snapshot(&snap(10));
        assert_eq!(
            book.apply_diff(diff(9, 12, 8, vec![], vec![])),
            DiffOutcome::Applied
        );
        // pu = 15 ≠ 12: a diff went missing.
        assert_eq!(
            book.apply_diff(diff(16, 20, 15, vec![], vec![])),
            DiffOutcome::Gap
        );
        assert!(book.needs_snapshot());
        assert_eq!(book.best_bid(), None);
        assert_eq!(
            book.apply_diff(diff(21, 25, 20, vec![], vec![])),
            DiffOutcome::Buffered
        );
        let out = book.apply_snapshot(&snap(22));
        // The buffered diffs: u=20 < 22 dropped; 21 ≤ 22 ≤ 25 applied.
        assert_eq!(out, vec![DiffOutcome::Dropped, DiffOutcome::Applied]);
        assert!(book.is_synced());
        let s = book.stats();
        assert_eq!((s.gaps, s.resyncs, s.snapshots), (1, 1, 2));
        // Stale from the first message (E=10) to the first applied diff (E=12), then from the
        // gap (E=20) to the resync (E=25, the last event seen when the snapshot replayed).
        assert_eq!(s.stale_ms, 2 + 5);
    }

    #[test]
    fn snapshot_older_than_stream_is_a_gap() {
        let mut book = LocalBook::new();
        book.apply_diff(diff(50, 60, 49, vec![], vec![]));
        let out = book.apply_snapshot(&snap(10));
        assert_eq!(out, vec![DiffOutcome::Gap]);
        assert!(book.needs_snapshot());
        assert_eq!(book.buffered(), 1);
    }

    #[test]
    fn depth_bands_are_exact() {
        let mut book = LocalBook::new();
        book.apply_snapshot(&DepthSnapshot {
            last_update_id: 1,
            event_time_ms: 0,
            transaction_time_ms: 0,
            // mid = 100: the 1 % band is [99, 101], 2 % is [98, 102].
            bids: vec![
                lv("99.5", "1"),
                lv("99", "2"),
                lv("98.99", "5"),
                lv("98", "1"),
            ],
            asks: vec![lv("100.5", "1"), lv("101", "1"), lv("101.01", "7")],
        });
        assert_eq!(book.mid(), Some(100.0));
        assert!((book.spread_bps().unwrap() - 100.0).abs() < 1e-9);
        let d = book.depth_bands(&[100, 200]);
        assert_eq!(d[0].bid_notional, 99.5 + 198.0);
        assert_eq!(d[0].bid_qty, 3.0);
        assert_eq!(d[0].ask_notional, 100.5 + 101.0);
        assert_eq!(d[1].bid_notional, 99.5 + 198.0 + 494.95 + 98.0);
        assert_eq!(d[1].ask_qty, 9.0);
        assert_eq!(d[1].ask_notional, 100.5 + 101.0 + 707.07);
    }
}
