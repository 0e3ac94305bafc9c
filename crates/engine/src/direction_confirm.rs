//! Direction confirmation, DC (seeds B §4.2, SPEC §5 "DC"): price momentum of the selected
//! asset over `dc_lookback_bars` must not contradict the trade.

use dolphin_core::Direction;

/// DC verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcVerdict {
    Confirm,
    Contradict,
    Neutral,
}

/// `p0 = h[n − lookback − 1]`, `p1 = h[n − 1]`, `chg_bps = (p1 − p0)/p0 × 10⁴`; SHORT: falling
/// (chg < −min) confirms, rising (chg > min) contradicts; LONG the other way round.
/// Fewer than `lookback + 1` prices → NEUTRAL.
pub fn direction_confirm(
    history: &[f64],
    lookback: usize,
    min_magnitude_bps: f64,
    direction: Direction,
) -> DcVerdict {
    let n = history.len();
    if n < lookback + 1 {
        return DcVerdict::Neutral;
    }
    let p0 = history[n - lookback - 1];
    let p1 = history[n - 1];
    let chg_bps = (p1 - p0) / p0 * 10000.0;
    let (confirm, contradict) = match direction {
        Direction::Short => (chg_bps < -min_magnitude_bps, chg_bps > min_magnitude_bps),
        Direction::Long => (chg_bps > min_magnitude_bps, chg_bps < -min_magnitude_bps),
    };
    if confirm {
        DcVerdict::Confirm
    } else if contradict {
        DcVerdict::Contradict
    } else {
        DcVerdict::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_dc() {
        // 8 prices, lookback 7: p0 = h[0], p1 = h[7].
        let mut h = vec![100.0; 8];
        h[7] = 99.99; // −1 bps → SHORT confirm
        assert_eq!(
            direction_confirm(&h, 7, 0.75, Direction::Short),
            DcVerdict::Confirm
        );
        assert_eq!(
            direction_confirm(&h, 7, 0.75, Direction::Long),
            DcVerdict::Contradict
        );
        h[7] = 100.005; // +0.5 bps → neutral
        assert_eq!(
            direction_confirm(&h, 7, 0.75, Direction::Short),
            DcVerdict::Neutral
        );
        h[7] = 100.01; // +1 bps → SHORT contradict
        assert_eq!(
            direction_confirm(&h, 7, 0.75, Direction::Short),
            DcVerdict::Contradict
        );
        // The middle prices do not matter; only h[n-8] and h[n-1].
        h[3] = 1.0;
        assert_eq!(
            direction_confirm(&h, 7, 0.75, Direction::Short),
            DcVerdict::Contradict
        );
        // Too short a history.
        assert_eq!(
            direction_confirm(&h[..7], 7, 0.75, Direction::Short),
            DcVerdict::Neutral
        );
        // Longer history: uses the last 8.
        let h2 = [50.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 99.0];
        assert_eq!(
            direction_confirm(&h2, 7, 0.75, Direction::Short),
            DcVerdict::Confirm
        );
    }
}
