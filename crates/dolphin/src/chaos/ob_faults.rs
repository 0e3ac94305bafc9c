//! Websocket drops and feed stalls of a chaos run (docs/CHAOS.md): planned from the seed in
//! the **exchange's** event time (they are the exchange's `--faults`, so they hit the same
//! messages at any speed), watched through the exchange's replay clock (`/fapi/v1/time`) and
//! the OB stream's own report, `DOLPHIN_FEATURES["ob_health"]`.
//!
//! Recovery = wall time from the end of the fault (the drop itself; the stall's last second)
//! until the OB stream reports, in a health written after that end, a connection, every book
//! in sync and a feature dict published after that end. The fault must also show in the
//! report (a reconnect, a gap + resync, stale samples), or it did not hit the service.

use dolphin_live::ObHealthValue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObFaultKind {
    /// `disconnect@T`: every websocket connection dropped (no close frame).
    WsDrop,
    /// `stall@T+D`: nothing sent for D seconds, connections kept, the messages lost.
    FeedStall,
}

impl ObFaultKind {
    pub fn name(self) -> &'static str {
        match self {
            ObFaultKind::WsDrop => "ws_drop",
            ObFaultKind::FeedStall => "feed_stall",
        }
    }

    /// Stated bound (wall ms): a drop is reconnected after the first backoff step (250 ms,
    /// the connection before it was healthy), synced from a snapshot and publishing again in
    /// well under 10 s; a stall longer than the silence timeout (10 s) may leave the service
    /// in a backoff of up to `backoff_max_ms` (10 s) when the feed comes back.
    pub fn bound_ms(self) -> u64 {
        match self {
            ObFaultKind::WsDrop => 10_000,
            ObFaultKind::FeedStall => 25_000,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedObFault {
    pub kind: ObFaultKind,
    /// Exchange event time after the replay start, ms.
    pub at_ms: i64,
    /// Stall length, exchange event ms (0 for a drop).
    pub for_ms: i64,
}

/// `n` faults (alternating kinds from a seeded first one) in slots over 10 %..42 % of the wall
/// time the recording covers, so that each recovers long before the run ends. `speed` is the
/// exchange's (event ms per wall ms); stalls last 2–12 s of wall time.
pub fn plan(seed: u64, n: usize, coverage_wall_ms: i64, speed: f64) -> Vec<PlannedObFault> {
    // Its own stream: the serve/Redis plan of a seed is unchanged by these draws.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0b5e_ed0b_5eed);
    let first = rng.random_range(0..2);
    let lo = coverage_wall_ms / 10;
    let w = (coverage_wall_ms * 32 / 100) / n.max(1) as i64;
    (0..n)
        .map(|i| {
            let kind = if (i + first) % 2 == 0 {
                ObFaultKind::WsDrop
            } else {
                ObFaultKind::FeedStall
            };
            let slot = lo + i as i64 * w;
            let at_wall = rng.random_range(slot..slot + (w * 3 / 5).max(1));
            let for_wall = match kind {
                ObFaultKind::WsDrop => 0,
                ObFaultKind::FeedStall => rng.random_range(2_000..12_000),
            };
            PlannedObFault {
                kind,
                at_ms: (at_wall as f64 * speed).round() as i64,
                for_ms: (for_wall as f64 * speed).round() as i64,
            }
        })
        .collect()
}

/// The exchange's `--faults` text of a plan.
pub fn faults_spec(p: &[PlannedObFault]) -> String {
    p.iter()
        .map(|f| match f.kind {
            ObFaultKind::WsDrop => format!("disconnect@{:.3}", f.at_ms as f64 / 1000.0),
            ObFaultKind::FeedStall => format!(
                "stall@{:.3}+{:.3}",
                f.at_ms as f64 / 1000.0,
                f.for_ms as f64 / 1000.0
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One websocket fault and its recovery, as `chaos.json` lists it (`ob_faults`).
#[derive(Debug, Clone, Serialize)]
pub struct ObFaultRecord {
    pub n: usize,
    pub kind: ObFaultKind,
    pub planned: PlannedObFault,
    /// The trader's event time when the exchange reached the fault (ISO).
    pub injected_at_event: String,
    pub injected_wall_ms: Option<u64>,
    pub ended_wall_ms: Option<u64>,
    pub recovered_wall_ms: Option<u64>,
    pub recovery_ms: Option<u64>,
    pub bound_ms: u64,
    /// Other faults active meanwhile (the bound then adds theirs).
    pub overlapped: Vec<String>,
    /// What the OB stream reported (reconnects, gaps, resyncs, stale samples).
    pub observed: String,
    pub ok: bool,
    #[serde(skip)]
    before: Option<ObHealthValue>,
    #[serde(skip)]
    end_unix_ms: i64,
}

/// Watches the planned faults of one run.
pub struct ObWatch {
    pub records: Vec<ObFaultRecord>,
    /// The newest readable report: the baseline of a fault injected while the report cannot
    /// be read (the store down).
    last: Option<ObHealthValue>,
}

impl ObWatch {
    pub fn new(plan: &[PlannedObFault]) -> Self {
        Self {
            records: plan
                .iter()
                .enumerate()
                .map(|(i, p)| ObFaultRecord {
                    n: i + 1,
                    kind: p.kind,
                    planned: p.clone(),
                    injected_at_event: String::new(),
                    injected_wall_ms: None,
                    ended_wall_ms: None,
                    recovered_wall_ms: None,
                    recovery_ms: None,
                    bound_ms: p.kind.bound_ms(),
                    overlapped: Vec::new(),
                    observed: String::new(),
                    ok: false,
                    before: None,
                    end_unix_ms: 0,
                })
                .collect(),
            last: None,
        }
    }

    /// One poll: `offset` = the exchange's clock after its start, `health` = the OB stream's
    /// report (None when unreadable), `active` = the serve/Redis fault going on now (its number
    /// and name; its hold plus its bound), `wall_ms` = the run's wall clock, `event` = the trader's event time (ISO).
    pub fn poll(
        &mut self,
        offset: Option<i64>,
        health: Option<&ObHealthValue>,
        active: Option<(String, u64)>,
        wall_ms: u64,
        event: &str,
    ) {
        let now_unix = dolphin_live::wall_now_ms();
        let baseline = health.cloned().or_else(|| self.last.clone());
        if let Some(h) = health {
            self.last = Some(h.clone());
        }
        for r in &mut self.records {
            if r.recovered_wall_ms.is_some() {
                continue;
            }
            if r.injected_wall_ms.is_none() {
                if offset.is_some_and(|o| o >= r.planned.at_ms) {
                    r.injected_wall_ms = Some(wall_ms);
                    r.injected_at_event = event.to_string();
                    r.before = baseline.clone();
                } else {
                    continue;
                }
            }
            if let Some((name, bound)) = &active
                && !r.overlapped.iter().any(|o| o == name)
            {
                r.overlapped.push(name.clone());
                r.bound_ms += bound;
            }
            if r.ended_wall_ms.is_none() {
                if offset.is_some_and(|o| o >= r.planned.at_ms + r.planned.for_ms) {
                    r.ended_wall_ms = Some(wall_ms);
                    r.end_unix_ms = now_unix;
                } else {
                    continue;
                }
            }
            let Some(h) = health else { continue };
            let recovered = h.wall_ms > r.end_unix_ms
                && h.connected
                && h.books_total > 0
                && h.books_synced == h.books_total
                && h.last_publish_wall_ms > r.end_unix_ms;
            // Recovered = the fault shows in the report (its own evidence: a reconnect for a
            // drop; stale samples, a gap or a resync for a stall; or a restarted service) and the
            // service is in sync and publishing again. A report without the evidence may predate
            // the service noticing the fault: keep polling (a fault never reported fails).
            let seen = observed(r.before.as_ref(), h);
            if recovered && evidence(r.kind, r.before.as_ref(), h) {
                let ended = r.ended_wall_ms.expect("ended above");
                r.recovered_wall_ms = Some(wall_ms);
                r.recovery_ms = Some(wall_ms.saturating_sub(ended));
                r.observed = seen;
                r.ok = r.recovery_ms.is_some_and(|m| m <= r.bound_ms);
            } else if r.observed.is_empty() || !seen.is_empty() {
                r.observed = if seen.is_empty() {
                    "nothing reported yet: the fault has not reached the service".into()
                } else {
                    format!("{seen} (not yet the evidence of a {})", r.kind.name())
                };
            }
        }
    }
}

/// Whether the report shows the fault of `kind` since `before` (a restarted service counts).
fn evidence(kind: ObFaultKind, before: Option<&ObHealthValue>, h: &ObHealthValue) -> bool {
    let zero = ObHealthValue::default();
    let b = before.unwrap_or(&zero);
    if h.messages < b.messages {
        return true; // the service restarted: its connection and books were rebuilt
    }
    match kind {
        ObFaultKind::WsDrop => h.reconnects > b.reconnects,
        ObFaultKind::FeedStall => {
            h.stale_samples > b.stale_samples || h.gaps > b.gaps || h.resyncs > b.resyncs
        }
    }
}

/// What changed in the OB stream's report since the fault (a restarted service starts its
/// counts again: then the report itself is the evidence).
fn observed(before: Option<&ObHealthValue>, h: &ObHealthValue) -> String {
    let zero = ObHealthValue::default();
    let b = match before {
        Some(b) if h.messages >= b.messages => b,
        Some(_) => {
            return format!(
                "service restarted; {} reconnects, {} resyncs since",
                h.reconnects, h.resyncs
            );
        }
        None => &zero,
    };
    let mut parts = Vec::new();
    let d = |name: &str, a: u64, b: u64, parts: &mut Vec<String>| {
        if a > b {
            parts.push(format!("{name} +{}", a - b));
        }
    };
    d("reconnects", h.reconnects, b.reconnects, &mut parts);
    d("gaps", h.gaps, b.gaps, &mut parts);
    d("resyncs", h.resyncs, b.resyncs, &mut parts);
    d(
        "stale samples",
        h.stale_samples,
        b.stale_samples,
        &mut parts,
    );
    if h.reconnects > b.reconnects {
        parts.push(format!("reconnect wait {} ms", h.last_reconnect_wait_ms));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_is_one_plan_inside_the_covered_time() {
        let a = plan(3, 2, 672_000, 0.5);
        let b = plan(3, 2, 672_000, 0.5);
        assert_eq!(faults_spec(&a), faults_spec(&b));
        assert_ne!(faults_spec(&a), faults_spec(&plan(4, 2, 672_000, 0.5)));
        assert!(a.iter().any(|f| f.kind == ObFaultKind::WsDrop));
        assert!(a.iter().any(|f| f.kind == ObFaultKind::FeedStall));
        for f in &a {
            // 10 %..42 % of the covered wall time, at half speed.
            assert!(f.at_ms >= 33_600 && f.at_ms + f.for_ms <= 147_000, "{f:?}");
        }
        let spec = faults_spec(&[
            PlannedObFault {
                kind: ObFaultKind::WsDrop,
                at_ms: 12_345,
                for_ms: 0,
            },
            PlannedObFault {
                kind: ObFaultKind::FeedStall,
                at_ms: 30_000,
                for_ms: 4_500,
            },
        ]);
        assert_eq!(spec, "disconnect@12.345,stall@30.000+4.500");
    }
}
