//! The chaos run's fault plan (issue 14 item 3; docs/CHAOS.md): drawn from a seeded ChaCha8
//! generator, so one seed is one plan on every machine. Faults are placed in **event time**
//! (the trader's progress), not wall time, so they land on the same hours of the replay however
//! fast the machine is; how long a fault lasts is wall time (that is what a process or a server
//! experiences).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What the driver does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL `redis-server` (AOF, `appendfsync everysec`): the last second of writes may be
    /// lost; restarted on the same files after `hold_ms`.
    RedisKill,
    /// SIGKILL `redis-server` and restart it from an RDB snapshot taken `rdb_lead_ms` of event
    /// time earlier (the AOF removed): every write since the snapshot is lost.
    RedisOldRdb,
    /// SIGKILL the `dolphin serve` process; started again after `hold_ms`.
    ServeKill,
    /// SIGSTOP the `dolphin serve` process for `hold_ms`, then SIGCONT (a service that hangs).
    ServePause,
    /// SIGKILL `redis-server` [`DATE_CHANGE_LEAD_MS`] of event time before a date change and
    /// keep it down until serve has begun the new date fail-safe (its log says the posture
    /// was unreadable; at most `hold_ms`), then restart it on its AOF: the store is down
    /// across the date change, the day is HIBERNATE.
    RedisDateChange,
    /// Overlapping faults (`--overlap`): SIGKILL `redis-server`, then SIGKILL serve while the
    /// store is down; after `hold_ms` serve is started first (its store probe retries while
    /// Redis comes back), then Redis on its AOF.
    RedisAndServeKill,
}

/// How long before the date change a [`FaultKind::RedisDateChange`] kills Redis (event time):
/// enough for the driver to see the trader's beat before the day ends at any speed.
pub const DATE_CHANGE_LEAD_MS: i64 = 5 * 60_000;

/// Event time before that date change kept free of other faults: a paused serve catches up
/// its pause at once when it resumes (6 s of wall time are 4.8 event hours at the CI test's
/// 2 880×), and the outage must start before the day ends.
pub const CLEAR_BEFORE_MS: i64 = 8 * 3_600_000;

impl FaultKind {
    pub const ALL: [FaultKind; 4] = [
        FaultKind::RedisKill,
        FaultKind::RedisOldRdb,
        FaultKind::ServeKill,
        FaultKind::ServePause,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RedisKill => "redis_kill",
            FaultKind::RedisOldRdb => "redis_old_rdb",
            FaultKind::ServeKill => "serve_kill",
            FaultKind::ServePause => "serve_pause",
            FaultKind::RedisDateChange => "redis_date_change",
            FaultKind::RedisAndServeKill => "redis_serve_kill",
        }
    }

    /// The stated bound on recovery (wall ms from the end of the fault to the trader's
    /// progress passing the point where the fault hit). A killed serve re-runs the replay up
    /// to its stored state, so its bound is the longest.
    pub fn bound_ms(self) -> u64 {
        match self {
            FaultKind::RedisKill | FaultKind::RedisOldRdb | FaultKind::RedisDateChange => 30_000,
            FaultKind::ServeKill | FaultKind::RedisAndServeKill => 60_000,
            FaultKind::ServePause => 15_000,
        }
    }
}

/// One planned fault.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFault {
    pub kind: FaultKind,
    /// Event time (ms since the replay's first 00:00) at which it is injected.
    pub at_event_ms: i64,
    /// Wall ms the server is down / the process is stopped or paused.
    pub hold_ms: u64,
    /// For [`FaultKind::RedisOldRdb`]: event ms before `at_event_ms` the snapshot is taken.
    pub rdb_lead_ms: i64,
}

/// `n` faults over `span_ms` of event time (between 5 % and 90 % of it, so the run ends with
/// time to spare), every kind at least once when `n` allows, from `seed`. With two days or
/// more, the first old-RDB restart is placed just after a date change with its snapshot taken
/// before it (a lost daily result must be written again) — unless `date_change` asks for a
/// [`FaultKind::RedisDateChange`] too: that one takes a drawn date change, the other faults
/// keep [`CLEAR_BEFORE_MS`] before and 2 h after it clear, and the old-RDB restarts are drawn like the rest.
///
/// `overlap` adds one [`FaultKind::RedisAndServeKill`] (its own random stream; outside the
/// date change's window).
pub fn plan(
    seed: u64,
    n: usize,
    span_ms: i64,
    date_change: bool,
    overlap: bool,
) -> Vec<PlannedFault> {
    let days = span_ms / DAY_MS;
    let mut faults = plan_serve(seed, n, span_ms, !(date_change && days >= 2));
    if overlap {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x007e_71a9);
        faults.push(PlannedFault {
            kind: FaultKind::RedisAndServeKill,
            at_event_ms: rng.random_range(span_ms / 20..span_ms * 9 / 10),
            hold_ms: rng.random_range(500..3_000),
            rdb_lead_ms: 0,
        });
        faults.sort_by_key(|f| f.at_event_ms);
    }
    if date_change && days >= 2 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xda7e_c4a9);
        let boundary = rng.random_range(1..days) * DAY_MS;
        let (lo, hi) = (boundary - CLEAR_BEFORE_MS, boundary + 2 * 3_600_000);
        for f in &mut faults {
            if (lo..hi).contains(&f.at_event_ms) {
                // Out of the window, on the side with more room.
                f.at_event_ms = if lo - span_ms / 20 > span_ms * 9 / 10 - hi {
                    lo - (hi - f.at_event_ms)
                } else {
                    hi + (f.at_event_ms - lo)
                };
            }
        }
        faults.push(PlannedFault {
            kind: FaultKind::RedisDateChange,
            at_event_ms: boundary - DATE_CHANGE_LEAD_MS,
            hold_ms: 90_000,
            rdb_lead_ms: 0,
        });
        faults.sort_by_key(|f| f.at_event_ms);
    }
    faults
}

fn plan_serve(seed: u64, n: usize, span_ms: i64, rdb_across: bool) -> Vec<PlannedFault> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut kinds: Vec<FaultKind> = FaultKind::ALL.to_vec();
    kinds.shuffle(&mut rng);
    kinds.truncate(n);
    while kinds.len() < n {
        kinds.push(FaultKind::ALL[rng.random_range(0..FaultKind::ALL.len())]);
    }
    let lo = span_ms / 20;
    let hi = span_ms * 9 / 10;
    let mut times: Vec<i64> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    times.sort_unstable();
    let days = span_ms / DAY_MS;
    let mut across_date_change = rdb_across && days >= 2;
    let mut faults: Vec<PlannedFault> = kinds
        .into_iter()
        .zip(times)
        .map(|(kind, mut at_event_ms)| {
            let hold_ms = match kind {
                FaultKind::RedisKill | FaultKind::RedisOldRdb | FaultKind::RedisDateChange => {
                    rng.random_range(500..4_000)
                }
                FaultKind::ServeKill | FaultKind::RedisAndServeKill => rng.random_range(200..2_000),
                FaultKind::ServePause => rng.random_range(1_000..6_000),
            };
            let mut rdb_lead_ms = if kind == FaultKind::RedisOldRdb {
                rng.random_range(5..60) * 60_000
            } else {
                0
            };
            if kind == FaultKind::RedisOldRdb && across_date_change {
                // The first one straddles a date change: snapshot before it, restart after,
                // so the day's result the trader wrote at the change is lost with the store.
                across_date_change = false;
                let boundary = rng.random_range(1..days) * DAY_MS;
                at_event_ms = boundary + rng.random_range(1..30) * 60_000;
                rdb_lead_ms = rng.random_range(30..90) * 60_000;
            }
            PlannedFault {
                kind,
                at_event_ms,
                hold_ms,
                rdb_lead_ms,
            }
        })
        .collect();
    faults.sort_by_key(|f| f.at_event_ms);
    faults
}

const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_is_one_plan_and_every_kind_appears() {
        let span = 48 * 3_600_000;
        let a = plan(7, 8, span, false, false);
        let b = plan(7, 8, span, false, false);
        let c = plan(8, 8, span, false, false);
        let key = |p: &[PlannedFault]| {
            p.iter()
                .map(|f| (f.kind, f.at_event_ms, f.hold_ms, f.rdb_lead_ms))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        for k in FaultKind::ALL {
            assert!(a.iter().any(|f| f.kind == k), "{k:?} missing");
        }
        assert!(a.windows(2).all(|w| w[0].at_event_ms <= w[1].at_event_ms));
        assert!(a.iter().all(|f| f.at_event_ms >= 0 && f.at_event_ms < span));
        // The first old-RDB restart straddles a date change.
        let rdb = a.iter().find(|f| f.kind == FaultKind::RedisOldRdb).unwrap();
        let boundary = rdb.at_event_ms / DAY_MS * DAY_MS;
        assert!(boundary > 0 && rdb.at_event_ms - rdb.rdb_lead_ms < boundary);
    }

    #[test]
    fn the_date_change_outage_has_its_window_to_itself() {
        let span = 48 * 3_600_000;
        for seed in 0..20 {
            let p = plan(seed, 8, span, true, true);
            assert_eq!(p.len(), 10);
            assert_eq!(
                p.iter()
                    .filter(|f| f.kind == FaultKind::RedisAndServeKill)
                    .count(),
                1
            );
            let d: Vec<_> = p
                .iter()
                .filter(|f| f.kind == FaultKind::RedisDateChange)
                .collect();
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].at_event_ms, DAY_MS - DATE_CHANGE_LEAD_MS);
            for f in p.iter().filter(|f| f.kind != FaultKind::RedisDateChange) {
                assert!(
                    !(DAY_MS - CLEAR_BEFORE_MS..DAY_MS + 2 * 3_600_000).contains(&f.at_event_ms),
                    "seed {seed}: {f:?}"
                );
                assert!(
                    f.at_event_ms > 0 && f.at_event_ms < span,
                    "seed {seed}: {f:?}"
                );
            }
        }
        // One day: no date change inside the run, no such fault; the plan is the plain one.
        let one = plan(5, 4, 24 * 3_600_000, true, false);
        assert!(one.iter().all(|f| f.kind != FaultKind::RedisDateChange));
    }
}
