//! Schedules on the event-time clock (SPEC §8 "one clock: exchange event time").
//!
//! A wall-clock cron runner (tokio-cron-scheduler and the like) fires on the machine's clock,
//! which a replay at `--speed 0` does not follow. So the schedule maths comes from the `cron`
//! crate (its `Schedule::after(t)` gives the next occurrence after any instant) and the instant
//! is the event time the trader publishes; the supervisor runs a job once its next occurrence
//! is ≤ the current event time. Fixed cadences (`10s`, `60s`) are aligned to multiples of the
//! period since the epoch and computed by integer arithmetic (they are asked for on every bar,
//! where a cron iterator would cost microseconds); calendar schedules (`0 0 8 * * *`) use cron.

use crate::error::ServiceError;
use chrono::{DateTime, TimeZone, Utc};
use std::str::FromStr;

/// Event time: milliseconds since the Unix epoch (bar open time / message `E`).
pub type EventMs = i64;

/// When a job is due.
#[derive(Debug, Clone)]
pub enum Cadence {
    /// Every `ms` milliseconds, on multiples of `ms` since the epoch.
    Every { ms: i64 },
    /// A cron expression with seconds (`sec min hour day month weekday`), in UTC.
    Cron {
        spec: String,
        schedule: Box<cron::Schedule>,
    },
    /// Only when triggered by an event.
    Never,
}

impl Cadence {
    /// Parses `"10s"`, `"5m"`, `"1h"`, `"never"` or a 6/7-field cron expression.
    pub fn parse(spec: &str) -> Result<Self, ServiceError> {
        let s = spec.trim();
        if s.eq_ignore_ascii_case("never") {
            return Ok(Self::Never);
        }
        if !s.contains(' ') {
            let (num, unit) = s.split_at(s.trim_end_matches(|c: char| c.is_alphabetic()).len());
            let n: i64 = num.parse().map_err(|_| ServiceError::Schedule {
                spec: spec.into(),
                message: "expected <number><s|m|h>, `never` or a cron expression".into(),
            })?;
            let mult = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => {
                    return Err(ServiceError::Schedule {
                        spec: spec.into(),
                        message: format!("unknown unit `{unit}` (ms, s, m or h)"),
                    });
                }
            };
            if n <= 0 {
                return Err(ServiceError::Schedule {
                    spec: spec.into(),
                    message: "the period must be positive".into(),
                });
            }
            return Ok(Self::Every { ms: n * mult });
        }
        let schedule = cron::Schedule::from_str(s).map_err(|e| ServiceError::Schedule {
            spec: spec.into(),
            message: e.to_string(),
        })?;
        Ok(Self::Cron {
            spec: s.to_string(),
            schedule: Box::new(schedule),
        })
    }

    /// The first occurrence strictly after `t`; `None` for [`Cadence::Never`] or a cron
    /// expression without further occurrences.
    pub fn next_after(&self, t: EventMs) -> Option<EventMs> {
        match self {
            Self::Every { ms } => Some((t.div_euclid(*ms) + 1) * ms),
            Self::Cron { schedule, .. } => {
                let at: DateTime<Utc> = Utc.timestamp_millis_opt(t).single()?;
                schedule.after(&at).next().map(|d| d.timestamp_millis())
            }
            Self::Never => None,
        }
    }

    /// The first occurrence at or after `t`.
    pub fn at_or_after(&self, t: EventMs) -> Option<EventMs> {
        self.next_after(t - 1)
    }

    /// The spec as written (for plans and `services.json`).
    pub fn describe(&self) -> String {
        match self {
            Self::Every { ms } if ms % 3_600_000 == 0 => format!("every {}h", ms / 3_600_000),
            Self::Every { ms } if ms % 60_000 == 0 => format!("every {}m", ms / 60_000),
            Self::Every { ms } if ms % 1_000 == 0 => format!("every {}s", ms / 1_000),
            Self::Every { ms } => format!("every {ms}ms"),
            Self::Cron { spec, .. } => format!("cron `{spec}` (UTC, event time)"),
            Self::Never => "on events only".into(),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of an event time, for logs and plans.
pub fn iso(t: EventMs) -> String {
    Utc.timestamp_millis_opt(t)
        .single()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 1_746_403_200_000; // 2025-05-05 00:00:00 UTC

    #[test]
    fn fixed_cadence_is_aligned_to_the_epoch() {
        let c = Cadence::parse("60s").unwrap();
        assert_eq!(c.next_after(D), Some(D + 60_000));
        assert_eq!(c.next_after(D + 59_999), Some(D + 60_000));
        assert_eq!(c.at_or_after(D), Some(D));
        assert_eq!(c.at_or_after(D + 1), Some(D + 60_000));
        assert_eq!(
            Cadence::parse("10s").unwrap().next_after(D + 5),
            Some(D + 10_000)
        );
        assert!(Cadence::parse("0s").is_err());
        assert!(Cadence::parse("5x").is_err());
    }

    #[test]
    fn cron_runs_on_event_time_not_the_wall_clock() {
        let c = Cadence::parse("0 0 8 * * *").unwrap();
        assert_eq!(c.next_after(D), Some(D + 8 * 3_600_000));
        assert_eq!(c.at_or_after(D + 8 * 3_600_000), Some(D + 8 * 3_600_000));
        assert_eq!(
            c.next_after(D + 8 * 3_600_000),
            Some(D + 32 * 3_600_000),
            "next day's 08:00"
        );
        let daily = Cadence::parse("0 0 0 * * *").unwrap();
        assert_eq!(daily.at_or_after(D), Some(D));
        assert_eq!(daily.next_after(D), Some(D + 86_400_000));
        assert!(Cadence::parse("0 0 25 * * *").is_err());
        assert_eq!(Cadence::parse("never").unwrap().next_after(D), None);
        assert_eq!(iso(D + 8 * 3_600_000), "2025-05-05T08:00:00.000Z");
    }
}
