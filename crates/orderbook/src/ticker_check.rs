//! The SPEC §7 check of a local book against `bookTicker`: after applying diff D, the book's
//! best bid/ask price and quantity equal `b/B/a/A` of the bookTicker with the largest
//! `u ≤ D.u`. Tickers are ordered by `u`, not arrival; the verdict for D is final once a
//! ticker with `u > D.u` has arrived. Comparisons are exact ([`Fixed`]).
//!
//! On a live stream messages can be lost (a dropped connection, a stalled feed): then the
//! tickers between the last one received and the first one after the loss never arrive, and
//! a book top applied after the resync would be compared with a ticker from before the loss —
//! a spurious mismatch, decided by how fast the resync was. [`TickerCheck::on_stream_loss`]
//! marks the loss: a top recorded after it whose reference ticker was received before it gets
//! no verdict (`no_reference`), never a mismatch.

use std::collections::{BTreeMap, VecDeque};

use crate::decimal::Fixed;
use crate::event::{BookTicker, Level};

/// Most mismatches kept verbatim for diagnosis.
pub const MAX_KEPT_MISMATCHES: usize = 16;

/// Top of the local book right after a diff was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTop {
    /// The diff's final update id `u`.
    pub update_id: u64,
    pub best_bid: Option<Level>,
    pub best_ask: Option<Level>,
}

/// A diff whose book top disagreed with its reference ticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickerMismatch {
    pub top: BookTop,
    pub ticker: BookTicker,
}

/// Counts of the check (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickerCheckReport {
    /// Diffs with a final verdict.
    pub checked: u64,
    pub matched: u64,
    pub mismatched: u64,
    /// Diffs whose verdict was final but no ticker with `u ≤ D.u` had arrived.
    pub no_reference: u64,
    /// Diffs still waiting for a ticker with `u > D.u`.
    pub pending: u64,
}

/// Incremental checker for one symbol (SPEC §7).
#[derive(Debug, Clone, Default)]
pub struct TickerCheck {
    /// Tickers by `u` (arrival order does not matter).
    tickers: BTreeMap<u64, BookTicker>,
    /// Book tops awaiting a final verdict, ascending `u`, each with the loss floor in force
    /// when it was recorded (tickers with `u ≤ floor` may have gaps after them).
    pending: VecDeque<(BookTop, Option<u64>)>,
    /// Highest ticker `u` seen.
    max_ticker_u: Option<u64>,
    /// Highest ticker `u` seen before the last stream loss.
    loss_floor: Option<u64>,
    report: TickerCheckReport,
    mismatches: Vec<TickerMismatch>,
}

fn agrees(top: &BookTop, t: &BookTicker) -> bool {
    let side = |l: Option<Level>, p: Fixed, q: Fixed| l.is_some_and(|l| l.price == p && l.qty == q);
    side(top.best_bid, t.bid_price, t.bid_qty) && side(top.best_ask, t.ask_price, t.ask_qty)
}

impl TickerCheck {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a bookTicker (any arrival order) and settle the diffs it makes final.
    pub fn on_ticker(&mut self, t: BookTicker) {
        self.tickers.insert(t.update_id, t);
        self.max_ticker_u = Some(
            self.max_ticker_u
                .map_or(t.update_id, |m| m.max(t.update_id)),
        );
        self.settle();
    }

    /// Record the book top after a diff was applied.
    pub fn on_applied(&mut self, top: BookTop) {
        self.pending.push_back((top, self.loss_floor));
        self.settle();
    }

    /// Messages were lost (reconnect, stalled stream): tickers received so far cannot be the
    /// reference of a book top recorded from now on.
    pub fn on_stream_loss(&mut self) {
        self.loss_floor = self.max_ticker_u;
    }

    fn settle(&mut self) {
        let Some(max_u) = self.max_ticker_u else {
            return;
        };
        while let Some((top, floor)) = self.pending.front().copied() {
            if max_u <= top.update_id {
                break;
            }
            self.pending.pop_front();
            self.report.checked += 1;
            let reference = self
                .tickers
                .range(..=top.update_id)
                .next_back()
                .map(|(&u, &t)| (u, t));
            match reference {
                None => self.report.no_reference += 1,
                // Received before a loss: the tickers after it may be missing.
                Some((u, _)) if floor.is_some_and(|f| u <= f) => self.report.no_reference += 1,
                Some((u, t)) => {
                    if agrees(&top, &t) {
                        self.report.matched += 1;
                    } else {
                        self.report.mismatched += 1;
                        if self.mismatches.len() < MAX_KEPT_MISMATCHES {
                            self.mismatches.push(TickerMismatch { top, ticker: t });
                        }
                    }
                    // Tickers below the reference can never be a reference again
                    // (later diffs have larger u).
                    self.tickers = self.tickers.split_off(&u);
                }
            }
        }
    }

    /// Counts so far (pending = not yet final).
    pub fn report(&self) -> TickerCheckReport {
        TickerCheckReport {
            pending: self.pending.len() as u64,
            ..self.report
        }
    }

    /// The first mismatches (at most [`MAX_KEPT_MISMATCHES`]).
    pub fn mismatches(&self) -> &[TickerMismatch] {
        &self.mismatches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn ticker(u: u64, b: &str, bq: &str, a: &str, aq: &str) -> BookTicker {
        BookTicker {
            update_id: u,
            bid_price: fx(b),
            bid_qty: fx(bq),
            ask_price: fx(a),
            ask_qty: fx(aq),
            transaction_time_ms: 0,
            event_time_ms: 0,
        }
    }

    fn top(u: u64, b: &str, bq: &str, a: &str, aq: &str) -> BookTop {
        BookTop {
            update_id: u,
            best_bid: Some(Level {
                price: fx(b),
                qty: fx(bq),
            }),
            best_ask: Some(Level {
                price: fx(a),
                qty: fx(aq),
            }),
        }
    }

    #[test]
    fn reference_is_largest_u_not_arrival() {
        let mut c = TickerCheck::new();
        // Tickers arrive out of order; for a diff with u = 100 the reference is u = 95.
        c.on_ticker(ticker(95, "10", "1", "11", "2"));
        c.on_ticker(ticker(90, "9", "1", "11", "2"));
        c.on_applied(top(100, "10", "1", "11", "2"));
        assert_eq!(c.report().pending, 1);
        // A ticker inside the batch (u between) arrives late: becomes the reference.
        c.on_ticker(ticker(98, "10", "1.5", "11", "2"));
        assert_eq!(c.report().pending, 1);
        c.on_ticker(ticker(101, "10", "3", "11", "2"));
        let r = c.report();
        assert_eq!(
            (r.checked, r.matched, r.mismatched, r.pending),
            (1, 0, 1, 0)
        );
        assert_eq!(c.mismatches()[0].ticker.update_id, 98);
    }

    #[test]
    fn after_a_stream_loss_a_ticker_from_before_is_no_reference() {
        let mut c = TickerCheck::new();
        c.on_ticker(ticker(10, "10", "1", "11", "2"));
        c.on_applied(top(10, "10", "1", "11", "2"));
        c.on_ticker(ticker(12, "10", "1", "11", "2"));
        // The connection drops; tickers 13..=19 are lost. After the resync the book top at
        // u = 15 differs from ticker 12 because of updates whose tickers never arrived.
        c.on_stream_loss();
        c.on_applied(top(15, "10", "5", "11", "2"));
        c.on_ticker(ticker(20, "10", "5", "11", "2"));
        c.on_applied(top(20, "10", "5", "11", "2"));
        c.on_ticker(ticker(21, "10", "5", "11", "2"));
        let r = c.report();
        assert_eq!(
            (
                r.checked,
                r.matched,
                r.mismatched,
                r.no_reference,
                r.pending
            ),
            (3, 2, 0, 1, 0)
        );
        // Without the loss mark the same sequence is a mismatch.
        let mut c = TickerCheck::new();
        c.on_ticker(ticker(12, "10", "1", "11", "2"));
        c.on_applied(top(15, "10", "5", "11", "2"));
        c.on_ticker(ticker(20, "10", "5", "11", "2"));
        assert_eq!(c.report().mismatched, 1);
    }

    #[test]
    fn matches_and_counts() {
        let mut c = TickerCheck::new();
        c.on_ticker(ticker(10, "10", "1", "11", "2"));
        c.on_applied(top(10, "10", "1", "11", "2")); // u == D.u counts.
        c.on_applied(top(20, "10", "1", "11", "2")); // reference is still u = 10.
        c.on_ticker(ticker(25, "10", "1", "11", "3"));
        c.on_applied(top(30, "10", "1", "11", "3"));
        c.on_ticker(ticker(31, "10", "1", "11", "3"));
        let r = c.report();
        assert_eq!(
            (r.checked, r.matched, r.mismatched, r.pending),
            (3, 3, 0, 0)
        );
    }

    #[test]
    fn no_reference_is_counted() {
        let mut c = TickerCheck::new();
        c.on_applied(top(5, "10", "1", "11", "2"));
        c.on_ticker(ticker(6, "10", "1", "11", "2"));
        let r = c.report();
        assert_eq!((r.checked, r.no_reference, r.matched), (1, 1, 0));
    }
}
