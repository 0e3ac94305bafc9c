//! The ACB processor's w750 history rebuilt from the replay's day files (docs/CHAOS.md): the
//! history lives in `DOLPHIN_FEATURES["acb_w750"]`, and a store restored from an older
//! snapshot loses the dates written since; a processor started after that (the supervisor's
//! restart or revival at the current event time) had no threshold and published beta 0 for
//! the rest of the day. A date's w750 is the median of its first 10 scans' v750 (SPEC §3,
//! `dolphin_risk::w750_of_day`), known at the 10th scan's time — both read from the day file
//! exactly as the processor would have seen them, so a rebuilt value equals the lost one.

use crate::acb_processor::W750Known;
use crate::schedule::EventMs;
use dolphin_core::UtcDate;
use dolphin_risk::AcbConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Adds to `w750` every date of `days` it lacks whose 10th scan is at or before `t`; returns
/// the dates added. A day file that cannot be read is skipped (named in the log): the value
/// then stays unknown, as before.
pub fn rebuild_missing(
    w750: &mut BTreeMap<UtcDate, W750Known>,
    days: &[(UtcDate, PathBuf)],
    t: EventMs,
) -> Vec<UtcDate> {
    let rows = AcbConfig::default().w750_first_rows;
    let mut added = Vec::new();
    for (date, path) in days {
        if w750.contains_key(date) || date.start_ms() > t {
            continue;
        }
        // The 10th scan of a date is at least 9 bars after its 00:00: no file read while the
        // date is younger than that (a fresh start at a date's 00:00 reads nothing).
        if date.start_ms() + 9 * 1000 > t {
            continue;
        }
        let frame = match dolphin_data::day_file::read_day_file(path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "w750 rebuild: day file unreadable");
                continue;
            }
        };
        let Some(&known_ms) = frame.timestamp.get(rows - 1) else {
            continue;
        };
        if known_ms > t {
            continue;
        }
        w750.insert(
            *date,
            W750Known {
                w750: dolphin_risk::w750_of_day(&frame),
                known_ms,
            },
        );
        added.push(*date);
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(date: &str) -> (UtcDate, PathBuf) {
        let d: UtcDate = date.parse().unwrap();
        let p = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/sample/days"
        ))
        .join(format!("{date}.parquet"));
        (d, p)
    }

    #[test]
    fn missing_dates_known_by_t_are_rebuilt_exactly() {
        let days = vec![sample("2025-05-06"), sample("2025-05-07")];
        let frame = dolphin_data::day_file::read_day_file(&days[0].1).unwrap();
        let tenth = frame.timestamp[9];
        let mut w = BTreeMap::new();
        // At the 10th scan of 05-06: that date is known, 05-07 is not.
        let added = rebuild_missing(&mut w, &days, tenth);
        assert_eq!(added, vec![days[0].0]);
        let k = w[&days[0].0];
        assert_eq!(k.known_ms, tenth);
        assert_eq!(
            k.w750.map(f64::to_bits),
            dolphin_risk::w750_of_first_rows(&frame.v750_vel[..10], 10).map(f64::to_bits)
        );
        assert!(k.w750.is_some());
        // One ms earlier nothing was known yet.
        let mut early = BTreeMap::new();
        assert!(rebuild_missing(&mut early, &days, tenth - 1).is_empty());
        // A date already in the history is kept as it is.
        let kept = W750Known {
            w750: Some(1.0),
            known_ms: 5,
        };
        let mut w = BTreeMap::from([(days[0].0, kept)]);
        let added = rebuild_missing(&mut w, &days, days[1].0.succ().start_ms());
        assert_eq!(added, vec![days[1].0]);
        assert_eq!(w[&days[0].0], kept);
    }
}
