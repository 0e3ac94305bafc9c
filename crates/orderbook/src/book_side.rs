//! One side (bids or asks) of a [`crate::LocalBook`]: a dense tick-indexed window around the
//! touch plus an ordered overflow map for everything else (SPEC §7 "integer ticks").
//!
//! Layout. Prices are exact [`Fixed`] mantissas. The side keeps a grid step `tick` and a
//! window of `window` slots; slot `i` holds the quantity at price `base + i·tick` (0 = no
//! level). A price that is on the grid and inside the window lives in its slot (O(1) set and
//! delete); any other price — far from the touch (e.g. a bid at 58 710 while the touch is
//! at 61 800) or off the grid — lives in a `BTreeMap`. The best slot index is cached and
//! rescanned only when the best level itself is deleted. Memory per side is
//! `8·window` bytes (32 KiB at the default 4 096) plus the overflow map, whatever the prices.
//!
//! Grid. The first price sets `tick` to the largest power of ten (≤ 1.0) dividing it; a later
//! price off the grid refines it to `gcd(tick, price)` and rebuilds the window (at most a
//! few times per book: each refinement at least halves the step).
//!
//! Re-basing. After each diff the book calls [`BookSide::rebase_if_needed`]: when the best
//! level is outside the window or within `window/8` slots of either edge, the window is
//! re-centred on the best price and all levels are redistributed between window and map
//! (O(window + levels), rare: the touch must drift about 3/8 of the window first).

use std::collections::BTreeMap;

use crate::decimal::{FIXED_SCALE, Fixed};
use crate::event::Level;

/// Default number of dense slots per side (see the module doc for the trade-off).
pub const DEFAULT_WINDOW: usize = 4096;

/// One side of an L2 book: dense window + overflow map (SPEC §7; module doc).
#[derive(Debug, Clone)]
pub struct BookSide {
    /// True for bids (best = highest price), false for asks (best = lowest price).
    bid: bool,
    /// Grid step in `Fixed` units; 0 until the first price is seen.
    tick: i64,
    /// Price of slot 0 in `Fixed` units.
    base: i64,
    /// Number of slots of the window.
    window: usize,
    /// Quantities by slot (allocated on first use).
    slots: Vec<i64>,
    /// Non-zero slots.
    dense_len: usize,
    /// Best non-zero slot.
    best: Option<usize>,
    /// Levels outside the window or off the grid.
    overflow: BTreeMap<Fixed, Fixed>,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

/// Largest power of ten ≤ 1.0 (10⁸ units) dividing `p`; 1.0 for p = 0.
fn natural_tick(p: i64) -> i64 {
    let mut t = FIXED_SCALE;
    while t > 1 && p % t != 0 {
        t /= 10;
    }
    t
}

impl BookSide {
    /// An empty side; `window` ≥ 1 dense slots.
    pub fn new(bid: bool, window: usize) -> Self {
        BookSide {
            bid,
            tick: 0,
            base: 0,
            window: window.max(1),
            slots: Vec::new(),
            dense_len: 0,
            best: None,
            overflow: BTreeMap::new(),
        }
    }

    /// Number of levels on the side.
    pub fn len(&self) -> usize {
        self.dense_len + self.overflow.len()
    }

    /// True when the side has no level.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Levels currently kept in the overflow map (diagnostics and tests).
    pub fn overflow_len(&self) -> usize {
        self.overflow.len()
    }

    /// Remove every level (the grid and window position are kept).
    pub fn clear(&mut self) {
        if self.dense_len > 0 {
            self.slots.fill(0);
        }
        self.dense_len = 0;
        self.best = None;
        self.overflow.clear();
    }

    #[inline]
    fn slot_of(&self, price: i64) -> Option<usize> {
        let off = price.checked_sub(self.base)?;
        if off < 0 || off % self.tick != 0 {
            return None;
        }
        let i = off / self.tick;
        (i < self.window as i64).then_some(i as usize)
    }

    #[inline]
    fn price_of(&self, i: usize) -> i64 {
        self.base + i as i64 * self.tick
    }

    #[inline]
    fn better(&self, i: usize, j: usize) -> bool {
        if self.bid { i > j } else { i < j }
    }

    /// Put the window centred on `price` (no levels may be in it).
    fn center_on(&mut self, price: i64) {
        let p = price.saturating_sub(price.rem_euclid(self.tick));
        let half = (self.window / 2) as i64;
        self.base = p.saturating_sub(half.saturating_mul(self.tick));
    }

    /// Set the quantity at `price`; quantity 0 deletes the level (Binance diff depth rule).
    #[inline]
    pub fn set(&mut self, price: Fixed, qty: Fixed) {
        let p = price.0;
        if self.tick == 0 {
            if qty.is_zero() {
                return;
            }
            self.tick = natural_tick(p);
            self.center_on(p);
        } else if p % self.tick != 0 && !qty.is_zero() {
            // A delete off the grid needs no new grid: the level can only be in the map.
            self.regrid(gcd(self.tick, p));
        }
        if self.slots.is_empty() {
            if qty.is_zero() {
                self.overflow.remove(&price);
                return;
            }
            self.slots = vec![0; self.window];
        }
        if self.is_empty() && self.slot_of(p).is_none() {
            self.center_on(p);
        }
        match self.slot_of(p) {
            Some(i) => self.set_slot(i, qty.0),
            None => {
                if qty.is_zero() {
                    self.overflow.remove(&price);
                } else {
                    self.overflow.insert(price, qty);
                }
            }
        }
    }

    #[inline]
    fn set_slot(&mut self, i: usize, q: i64) {
        let old = std::mem::replace(&mut self.slots[i], q);
        if q != 0 {
            if old == 0 {
                self.dense_len += 1;
                match self.best {
                    Some(b) if !self.better(i, b) => {}
                    _ => self.best = Some(i),
                }
            }
        } else if old != 0 {
            self.dense_len -= 1;
            if self.best == Some(i) {
                self.best = self.scan_from(i);
            }
        }
    }

    /// The best non-zero slot strictly worse than `i`.
    fn scan_from(&self, i: usize) -> Option<usize> {
        if self.dense_len == 0 {
            return None;
        }
        if self.bid {
            self.slots[..i].iter().rposition(|&q| q != 0)
        } else {
            self.slots[i + 1..]
                .iter()
                .position(|&q| q != 0)
                .map(|k| i + 1 + k)
        }
    }

    /// All levels, best first, into a vector (used when re-gridding or re-basing).
    fn drain_all(&mut self) -> Vec<(Fixed, Fixed)> {
        let all: Vec<(Fixed, Fixed)> = self.iter().map(|l| (l.price, l.qty)).collect();
        self.clear();
        all
    }

    fn refill(&mut self, all: Vec<(Fixed, Fixed)>) {
        for (p, q) in all {
            match self.slot_of(p.0) {
                Some(i) => self.set_slot(i, q.0),
                None => {
                    self.overflow.insert(p, q);
                }
            }
        }
    }

    /// Refine the grid step to `tick` (a divisor of the current one) and rebuild.
    fn regrid(&mut self, tick: i64) {
        let all = self.drain_all();
        let anchor = all.first().map(|l| l.0.0);
        self.tick = tick.max(1);
        if let Some(a) = anchor {
            self.center_on(a);
        } else {
            self.base = self.base.saturating_sub(self.base.rem_euclid(self.tick));
        }
        self.refill(all);
    }

    /// Re-centre the window on the best price when the best is outside it or within
    /// `window/8` slots of an edge (module doc "Re-basing"). Returns true when it moved.
    pub fn rebase_if_needed(&mut self) -> bool {
        let Some(best) = self.best() else {
            return false;
        };
        let margin = self.window / 8;
        let inside = match self.best {
            // The cached dense best is the overall best exactly when it has the best price.
            Some(i) => self.price_of(i) == best.price.0 && i >= margin && i < self.window - margin,
            None => false,
        };
        if inside {
            return false;
        }
        let all = self.drain_all();
        self.center_on(best.price.0);
        self.refill(all);
        true
    }

    fn overflow_best(&self) -> Option<(Fixed, Fixed)> {
        let kv = if self.bid {
            self.overflow.last_key_value()
        } else {
            self.overflow.first_key_value()
        };
        kv.map(|(&p, &q)| (p, q))
    }

    /// The best level: highest bid or lowest ask.
    pub fn best(&self) -> Option<Level> {
        let dense = self.best.map(|i| Level {
            price: Fixed(self.price_of(i)),
            qty: Fixed(self.slots[i]),
        });
        let over = self
            .overflow_best()
            .map(|(price, qty)| Level { price, qty });
        match (dense, over) {
            (Some(d), Some(o)) => {
                let o_better = if self.bid {
                    o.price > d.price
                } else {
                    o.price < d.price
                };
                Some(if o_better { o } else { d })
            }
            (d, o) => d.or(o),
        }
    }

    /// Every level, best first (bids descending, asks ascending).
    pub fn iter(&self) -> BestFirst<'_> {
        let over: Box<dyn Iterator<Item = (&Fixed, &Fixed)> + '_> = if self.bid {
            Box::new(self.overflow.iter().rev())
        } else {
            Box::new(self.overflow.iter())
        };
        BestFirst {
            side: self,
            next_slot: self.best,
            over: over.peekable(),
        }
    }
}

/// Iterator over a side's levels, best first: merges the window and the overflow map.
pub struct BestFirst<'a> {
    side: &'a BookSide,
    next_slot: Option<usize>,
    over: std::iter::Peekable<Box<dyn Iterator<Item = (&'a Fixed, &'a Fixed)> + 'a>>,
}

impl BestFirst<'_> {
    fn advance_slot(&mut self, i: usize) {
        let s = self.side;
        self.next_slot = if s.bid {
            s.slots[..i].iter().rposition(|&q| q != 0)
        } else {
            s.slots[i + 1..]
                .iter()
                .position(|&q| q != 0)
                .map(|k| i + 1 + k)
        };
    }
}

impl Iterator for BestFirst<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        let s = self.side;
        let dense = self.next_slot.map(|i| (i, s.price_of(i)));
        let take_over = match (dense, self.over.peek()) {
            (None, None) => return None,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some((_, dp)), Some((op, _))) => {
                if s.bid {
                    op.0 > dp
                } else {
                    op.0 < dp
                }
            }
        };
        if take_over {
            let (&price, &qty) = self.over.next()?;
            Some(Level { price, qty })
        } else {
            let (i, p) = dense?;
            self.advance_slot(i);
            Some(Level {
                price: Fixed(p),
                qty: Fixed(s.slots[i]),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn levels(side: &BookSide) -> Vec<(String, String)> {
        side.iter()
            .map(|l| (l.price.to_string(), l.qty.to_string()))
            .collect()
    }

    #[test]
    fn far_prices_go_to_the_overflow_and_order_is_kept() {
        let mut bids = BookSide::new(true, 64);
        bids.set(fx("61800.2"), fx("1"));
        bids.set(fx("61800.1"), fx("2"));
        bids.set(fx("58710.2"), fx("0.014"));
        assert_eq!(bids.overflow_len(), 1);
        assert_eq!(bids.best().unwrap().price, fx("61800.2"));
        assert_eq!(
            levels(&bids),
            vec![
                ("61800.2".into(), "1".into()),
                ("61800.1".into(), "2".into()),
                ("58710.2".into(), "0.014".into())
            ]
        );
        // Delete the touch: the cached best moves down one tick.
        bids.set(fx("61800.2"), Fixed::ZERO);
        assert_eq!(bids.best().unwrap().price, fx("61800.1"));
        bids.set(fx("61800.1"), Fixed::ZERO);
        // Only the far level is left: it is the best, and a re-base pulls it into the window.
        assert_eq!(bids.best().unwrap().price, fx("58710.2"));
        assert!(bids.rebase_if_needed());
        assert_eq!(bids.overflow_len(), 0);
        assert_eq!(bids.len(), 1);
    }

    #[test]
    fn off_grid_price_refines_the_tick() {
        let mut asks = BookSide::new(false, 16);
        asks.set(fx("100"), fx("1")); // tick 1.0
        asks.set(fx("101"), fx("1"));
        asks.set(fx("100.5"), fx("3")); // tick 0.5 after a regrid
        assert_eq!(asks.overflow_len(), 0);
        assert_eq!(
            levels(&asks),
            vec![
                ("100".into(), "1".into()),
                ("100.5".into(), "3".into()),
                ("101".into(), "1".into())
            ]
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(i64, i64),
        Rebase,
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Prices around 61 800 on a 0.1 grid, some far away (58 710, 0.1), some off the grid
        // (0.01 steps), quantities with 0 (delete) common.
        let near = (6_179_000_000_000i64..6_181_000_000_000).prop_map(|p| p - p % 10_000_000);
        let far = prop_oneof![
            Just(5_871_020_000_000i64),
            Just(10_000_000i64),
            (1i64..9_000_000_000_000_000).prop_map(|p| p - p % 1_000_000),
        ];
        let off = (6_179_000_000_000i64..6_181_000_000_000).prop_map(|p| p - p % 1_000_000);
        let price = prop_oneof![8 => near, 1 => far, 1 => off];
        let qty = prop_oneof![1 => Just(0i64), 2 => 1i64..1_000_000_000_000];
        prop_oneof![
            20 => (price, qty).prop_map(|(p, q)| Op::Set(p, q)),
            2 => Just(Op::Rebase),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        /// The dense side equals a plain `BTreeMap` reference model after every operation:
        /// same levels in the same best-first order, same best, same count.
        #[test]
        fn equals_btreemap_reference(
            bid in any::<bool>(),
            window in prop_oneof![Just(1usize), Just(8), Just(64), Just(4096)],
            ops in prop::collection::vec(op(), 1..300),
        ) {
            let mut side = BookSide::new(bid, window);
            let mut model: BTreeMap<Fixed, Fixed> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Set(p, q) => {
                        side.set(Fixed(p), Fixed(q));
                        if q == 0 { model.remove(&Fixed(p)); } else { model.insert(Fixed(p), Fixed(q)); }
                    }
                    Op::Rebase => { side.rebase_if_needed(); }
                    Op::Clear => { side.clear(); model.clear(); }
                }
                let want: Vec<Level> = if bid {
                    model.iter().rev().map(|(&price, &qty)| Level { price, qty }).collect()
                } else {
                    model.iter().map(|(&price, &qty)| Level { price, qty }).collect()
                };
                let got: Vec<Level> = side.iter().collect();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(side.best(), want.first().copied());
                prop_assert_eq!(side.len(), model.len());
            }
        }
    }
}
