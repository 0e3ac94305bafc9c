//! What `chaos.json` lists and the printed fault table (docs/CHAOS.md): every serve/Redis fault
//! with its recovery, every websocket fault with what the OB stream reported, other events.

use crate::chaos::checks::Check;
use crate::chaos::ob_faults::ObFaultRecord;
use crate::chaos::plan::{FaultKind, PlannedFault};
use serde::Serialize;
use std::time::Duration;

/// One injected serve/Redis fault and its recovery, as `chaos.json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    pub n: usize,
    pub kind: FaultKind,
    pub planned: PlannedFault,
    /// Trader's event time when injected (ISO), and as ms since the first 00:00.
    pub injected_at_event: String,
    pub injected_event_ms: i64,
    pub injected_wall_ms: u64,
    /// End of the fault (server restarted, process started again, SIGCONT).
    pub ended_wall_ms: Option<u64>,
    /// First progress of the trader past the injection point.
    pub recovered_wall_ms: Option<u64>,
    /// From the end of the fault to recovery.
    pub recovery_ms: Option<u64>,
    pub bound_ms: u64,
    pub ok: bool,
    pub detail: String,
}

/// Anything else that happened (crash restarts of serve, snapshots).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub wall_ms: u64,
    pub what: String,
}

fn secs(ms: Option<u64>) -> String {
    ms.map_or("-".into(), |m| format!("{:.2} s", m as f64 / 1000.0))
}

/// The fault table, the checks and where the report is.
pub fn print_table(
    records: &[FaultRecord],
    ob: &[ObFaultRecord],
    checks: &[Check],
    wall: Duration,
    out: &std::path::Path,
) {
    println!(
        "{:>3}  {:<14} {:<22} {:>8} {:>10} {:>9}  ok",
        "#", "fault", "at (event time)", "hold ms", "recovery", "bound"
    );
    for r in records {
        println!(
            "{:>3}  {:<14} {:<22} {:>8} {:>10} {:>9}  {}",
            r.n,
            r.kind.name(),
            r.injected_at_event,
            r.planned.hold_ms,
            secs(r.recovery_ms),
            format!("{} s", r.bound_ms / 1000),
            if r.ok { "yes" } else { "NO" }
        );
    }
    for r in ob {
        let hold = match (r.injected_wall_ms, r.ended_wall_ms) {
            (Some(a), Some(b)) => (b - a).to_string(),
            _ => "-".into(),
        };
        println!(
            "{:>3}  {:<14} {:<22} {:>8} {:>10} {:>9}  {}  {}",
            format!("w{}", r.n),
            r.kind.name(),
            if r.injected_at_event.is_empty() {
                "not reached"
            } else {
                &r.injected_at_event
            },
            hold,
            secs(r.recovery_ms),
            format!("{} s", r.bound_ms / 1000),
            if r.ok { "yes" } else { "NO" },
            r.observed
        );
    }
    println!();
    for c in checks {
        println!(
            "[{}] {}: {}",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    println!(
        "wall {:.1} s; report {}",
        wall.as_secs_f64(),
        out.join("chaos.json").display()
    );
}
