//! Block bootstrap of day indices for the MC-Forewarner (SPEC §3 "MC-Forewarner":
//! "block-bootstrapped day sequences"; docs/MC_FOREWARNER.md "Bootstrap").
//!
//! A path is a sequence of `horizon` indices into the loaded days (in date order). Blocks of
//! consecutive days keep the short-range dependence of the market (a volatile week stays a
//! volatile week); indices wrap around at the end (circular bootstrap), so every day is drawn
//! equally often in expectation.

use crate::split_mix::SplitMix64;
use serde::{Deserialize, Serialize};

/// Which block bootstrap draws the day sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapKind {
    /// Circular moving-block bootstrap (Künsch 1989; Politis & Romano 1992): blocks of exactly
    /// `block_len` consecutive days, each starting at a uniform random day.
    #[default]
    Moving,
    /// Stationary bootstrap (Politis & Romano 1994): after each day a new block starts with
    /// probability `1 / block_len` (geometric block lengths with mean `block_len`).
    Stationary,
}

/// Draws a sequence of `horizon` day indices in `0..n_days` (SPEC §3; circular blocks).
/// Consumes one draw per block start (moving) or one or two per day (stationary).
pub fn bootstrap_days(
    rng: &mut SplitMix64,
    n_days: usize,
    horizon: usize,
    block_len: usize,
    kind: BootstrapKind,
) -> Vec<usize> {
    assert!(n_days > 0, "bootstrap needs at least one day");
    let block_len = block_len.max(1);
    let n = n_days as u64;
    let mut out = Vec::with_capacity(horizon);
    match kind {
        BootstrapKind::Moving => {
            while out.len() < horizon {
                let start = rng.below(n) as usize;
                for k in 0..block_len {
                    if out.len() == horizon {
                        break;
                    }
                    out.push((start + k) % n_days);
                }
            }
        }
        BootstrapKind::Stationary => {
            let p_new = 1.0 / block_len as f64;
            let mut cur = rng.below(n) as usize;
            out.push(cur);
            while out.len() < horizon {
                cur = if rng.next_f64() < p_new {
                    rng.below(n) as usize
                } else {
                    (cur + 1) % n_days
                };
                out.push(cur);
            }
            out.truncate(horizon);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn moving_blocks_are_runs_of_consecutive_days() {
        let mut rng = SplitMix64::new(3);
        let seq = bootstrap_days(&mut rng, 10, 12, 3, BootstrapKind::Moving);
        assert_eq!(seq.len(), 12);
        for block in seq.chunks(3) {
            for w in block.windows(2) {
                assert_eq!(w[1], (w[0] + 1) % 10, "{seq:?}");
            }
        }
        // The starts are the draws of the same stream.
        let mut rng = SplitMix64::new(3);
        let starts: Vec<usize> = (0..4).map(|_| rng.below(10) as usize).collect();
        let firsts: Vec<usize> = seq.chunks(3).map(|b| b[0]).collect();
        assert_eq!(starts, firsts);
    }

    #[test]
    fn one_day_and_block_longer_than_horizon() {
        let mut rng = SplitMix64::new(9);
        assert_eq!(
            bootstrap_days(&mut rng, 1, 4, 3, BootstrapKind::Moving),
            vec![0; 4]
        );
        let seq = bootstrap_days(&mut rng, 8, 5, 50, BootstrapKind::Moving);
        for w in seq.windows(2) {
            assert_eq!(w[1], (w[0] + 1) % 8);
        }
    }

    #[test]
    fn stationary_mean_block_length() {
        let mut rng = SplitMix64::new(11);
        let seq = bootstrap_days(&mut rng, 1000, 100_000, 4, BootstrapKind::Stationary);
        let breaks = seq.windows(2).filter(|w| w[1] != (w[0] + 1) % 1000).count();
        // P(new block) = 1/4, and a new start equals the successor with prob 1/1000.
        let rate = breaks as f64 / (seq.len() - 1) as f64;
        assert!((rate - 0.25 * 0.999).abs() < 0.01, "rate {rate}");
    }

    proptest! {
        #[test]
        fn indices_in_range_and_reproducible(
            seed in any::<u64>(), n in 1usize..40, h in 0usize..90, b in 1usize..8,
            stationary in any::<bool>(),
        ) {
            let kind = if stationary { BootstrapKind::Stationary } else { BootstrapKind::Moving };
            let a = bootstrap_days(&mut SplitMix64::new(seed), n, h, b, kind);
            let c = bootstrap_days(&mut SplitMix64::new(seed), n, h, b, kind);
            prop_assert_eq!(a.len(), h);
            prop_assert!(a.iter().all(|&i| i < n));
            prop_assert_eq!(a, c);
        }
    }
}
