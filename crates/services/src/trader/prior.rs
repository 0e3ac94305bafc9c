//! Resume by traced re-run (S §17.6; SPEC §8; docs/CHAOS.md): a restarted trader re-runs the
//! replay from its first day, and up to the stored state's event time it takes every decision
//! from the previous process's own traces instead of asking the services again. What was
//! decided is history: a posture that was HIBERNATE because the store was gone, an ACB value
//! that was kept because its publication never arrived, must be the same in the re-run, or the
//! re-run reaches a different capital than the stored state and than the daily results already
//! in `DOLPHIN_PNL_BLUE`.
//!
//! The decision files of the previous process are read before the run directory is opened;
//! the decisions applied at or before the resume point are written back at once (so a process
//! killed again during its re-run leaves them for the next one) and applied on the bars they
//! name; the re-run does not append them a second time.

use crate::error::ServiceError;
use crate::run_files::Trace;
use crate::schedule::EventMs;
use crate::traces::{AcbDecision, AcbKind, CbDecision, McDecisionRecord, PostureDecision};
use dolphin_core::UtcDate;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::path::Path;

/// The previous process's decisions up to the resume point.
#[derive(Debug, Default)]
pub struct PriorDecisions {
    /// Event time of the stored state: decisions applied at or before it are re-applied.
    pub until: EventMs,
    acb: VecDeque<AcbDecision>,
    mc: VecDeque<McDecisionRecord>,
    cb: VecDeque<CbDecision>,
    posture: VecDeque<PostureDecision>,
    /// The circuit breaker's gate as the prior trace has it.
    pub gate: bool,
}

/// Reads `dir/name` as JSONL of `T`, keeping the lines applied at or before `until`. A missing
/// file is empty; a line that does not parse ends the file (the previous process was killed
/// while writing it: a decision flushed whole is complete, a torn last line was never applied).
fn read_prior<T: DeserializeOwned>(
    dir: &Path,
    trace: Trace,
    until: EventMs,
    applied: impl Fn(&T) -> EventMs,
) -> (Vec<T>, String) {
    let Ok(text) = std::fs::read_to_string(dir.join(trace.file_name())) else {
        return (Vec::new(), String::new());
    };
    let mut kept = Vec::new();
    let mut raw = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<T>(line) else {
            break;
        };
        if applied(&v) > until {
            break;
        }
        raw.push_str(line);
        raw.push('\n');
        kept.push(v);
    }
    (kept, raw)
}

impl PriorDecisions {
    /// Loads the decisions of the run directory `dir` applied at or before `until`, with the
    /// raw lines to write back into the new run's files.
    pub fn load(dir: &Path, until: EventMs) -> (Self, Vec<(Trace, String)>) {
        let (acb, acb_raw) = read_prior::<AcbDecision>(dir, Trace::Acb, until, |d| d.applied_ts);
        let (mc, mc_raw) = read_prior::<McDecisionRecord>(dir, Trace::Mc, until, |d| d.applied_ts);
        let (cb, cb_raw) = read_prior::<CbDecision>(dir, Trace::Cb, until, |d| d.applied_ts);
        let (posture, posture_raw) =
            read_prior::<PostureDecision>(dir, Trace::Posture, until, |d| d.applied_ts);
        let prefix = vec![
            (Trace::Acb, acb_raw),
            (Trace::Mc, mc_raw),
            (Trace::Cb, cb_raw),
            (Trace::Posture, posture_raw),
        ];
        (
            Self {
                until,
                acb: acb.into(),
                mc: mc.into(),
                cb: cb.into(),
                posture: posture.into(),
                gate: true,
            },
            prefix,
        )
    }

    /// Number of decisions loaded (for the log and `run.json`).
    pub fn len(&self) -> usize {
        self.acb.len() + self.mc.len() + self.cb.len() + self.posture.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bar at `t` is still in the re-run.
    pub fn covers(&self, t: EventMs) -> bool {
        t <= self.until
    }

    /// The day's recorded ACB value, MC record and posture, if the previous process began
    /// `date` at or before the resume point; checked against the re-run's bar.
    pub fn day(&mut self, date: UtcDate, bar: u64) -> Result<Option<PriorDay>, ServiceError> {
        let Some(p) = self.posture.front() else {
            return Ok(None);
        };
        if p.date != date {
            return Ok(None);
        }
        let posture = self.posture.pop_front().expect("front exists");
        let acb = match self.acb.front() {
            Some(a) if a.kind == AcbKind::Day && a.date == date => self.acb.pop_front(),
            _ => None,
        };
        let mc = match self.mc.front() {
            Some(m) if m.date == date => self.mc.pop_front(),
            _ => None,
        };
        if posture.applied_bar != bar || acb.as_ref().is_some_and(|a| a.applied_bar != bar) {
            return Err(ServiceError::Resume(format!(
                "{date}: the previous run began the day at bar {}, the re-run is at bar {bar}",
                posture.applied_bar
            )));
        }
        Ok(Some(PriorDay { acb, mc, posture }))
    }

    /// The recorded sub-day ACB update applied before bar `bar`, if any.
    pub fn acb_update(&mut self, bar: u64) -> Option<AcbDecision> {
        match self.acb.front() {
            Some(a) if a.kind == AcbKind::Update && a.applied_bar == bar => self.acb.pop_front(),
            _ => None,
        }
    }

    /// The circuit breaker's gate at bar `bar` as recorded.
    pub fn gate_at(&mut self, bar: u64) -> bool {
        while self.cb.front().is_some_and(|c| c.applied_bar <= bar) {
            self.gate = self.cb.pop_front().expect("front exists").can_open;
        }
        self.gate
    }
}

/// What the previous process decided at a date change.
#[derive(Debug)]
pub struct PriorDay {
    pub acb: Option<AcbDecision>,
    pub mc: Option<McDecisionRecord>,
    pub posture: PostureDecision,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_files::RunFiles;
    use crate::traces::Source;
    use dolphin_core::Posture;

    fn posture(date: &str, ts: EventMs, bar: u64, p: Posture, source: Source) -> String {
        serde_json::to_string(&PostureDecision {
            date: date.parse().unwrap(),
            posture: p,
            rm: 0.5,
            applied_ts: ts,
            applied_bar: bar,
            source,
        })
        .unwrap()
    }

    #[test]
    fn keeps_the_decisions_up_to_the_resume_point_and_writes_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let d1 = posture("2025-05-10", 1_000, 0, Posture::Hibernate, Source::FailSafe);
        let d2 = posture("2025-05-11", 5_000, 1440, Posture::Apex, Source::Store);
        // The day after the resume point, then a torn line of a killed process.
        std::fs::write(
            dir.path().join("posture.jsonl"),
            format!("{d1}\n{d2}\n{{\"date\":\"2025-05-1"),
        )
        .unwrap();
        let (mut prior, prefix) = PriorDecisions::load(dir.path(), 4_999);
        assert_eq!(prior.len(), 1);
        let day = prior
            .day("2025-05-10".parse().unwrap(), 0)
            .unwrap()
            .unwrap();
        assert_eq!(day.posture.posture, Posture::Hibernate);
        assert_eq!(day.posture.source, Source::FailSafe);
        assert!(
            prior
                .day("2025-05-11".parse().unwrap(), 1440)
                .unwrap()
                .is_none()
        );
        // A re-run at another bar is not the same replay.
        let (mut again, _) = PriorDecisions::load(dir.path(), 4_999);
        assert!(again.day("2025-05-10".parse().unwrap(), 7).is_err());

        // The new run's file starts with exactly the kept line; appends follow it.
        let files = RunFiles::create_with_prefix(dir.path(), &prefix).unwrap();
        assert_eq!(files.lines(Trace::Posture), 1);
        files
            .append(Trace::Posture, &serde_json::json!({"x": 1}))
            .unwrap();
        files.flush().unwrap();
        let text = std::fs::read_to_string(dir.path().join("posture.jsonl")).unwrap();
        assert_eq!(text, format!("{d1}\n{{\"x\":1}}\n"));
        // Files without a prefix start empty; none is left half-written.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("acb.jsonl")).unwrap(),
            ""
        );
        assert!(!dir.path().join("posture.jsonl.tmp").exists());
    }

    #[test]
    fn the_recorded_gate_and_updates_apply_on_their_bars() {
        let dir = tempfile::tempdir().unwrap();
        let cb = |open: bool, bar: u64| {
            serde_json::to_string(&CbDecision {
                can_open: open,
                reasons: vec![],
                applied_ts: bar as i64 * 60_000,
                applied_bar: bar,
            })
            .unwrap()
        };
        std::fs::write(
            dir.path().join("cb.jsonl"),
            format!("{}\n{}\n", cb(false, 3), cb(true, 9)),
        )
        .unwrap();
        let (mut prior, _) = PriorDecisions::load(dir.path(), 20 * 60_000);
        assert!(prior.gate_at(2));
        assert!(!prior.gate_at(3));
        assert!(!prior.gate_at(8));
        assert!(prior.gate_at(9));
        assert!(prior.acb_update(4).is_none());
        assert!(prior.covers(20 * 60_000) && !prior.covers(20 * 60_000 + 1));
    }
}
