//! The heartbeats (SPEC §8): every live service and member's `DOLPHIN_HEARTBEAT[name]`, all
//! of one tick in one store operation, and a line in `heartbeats.jsonl` on a phase change and
//! at most every `heartbeat_log` per service.

use super::Supervisor;
use crate::error::ServiceError;
use crate::run_files::Trace;
use crate::schedule::EventMs;
use crate::typed_values::BeatValue;
use dolphin_store::TypedValue;
use serde::Serialize;

/// A placeholder filling the unused part of a tick's heartbeat batch.
static NO_BEAT: BeatValue = BeatValue {
    ts_ms: 0,
    phase: "",
    service: "",
    pid: 0,
};

/// [`super::Heartbeat`] borrowed: the same JSON bytes without allocating its strings every
/// beat.
#[derive(Serialize)]
struct HeartbeatRef<'a> {
    ts: f64,
    phase: &'a str,
    service: &'a str,
    pid: u32,
}

/// Whether two phases are the same text: phases are literals, the same one is the same
/// pointer (no comparison of the text).
fn same_phase(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

impl Supervisor {
    /// Writes the heartbeat of every live service and member with `phase`, all of one tick in
    /// one store operation ([`SystemMemory::beat_many_at`]; on Redis one script call).
    ///
    /// [`SystemMemory::beat_many_at`]: dolphin_store::SystemMemory::beat_many_at
    pub fn beat_all(&mut self, t: EventMs, phase: &'static str) -> Result<(), ServiceError> {
        let pid = self.ctx.pid;
        self.beating.clear();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.beats_itself {
                continue;
            }
            let alive = s.spec.enabled && (s.svc.is_some() || (s.factory.is_none() && s.running));
            if alive || (phase == "stopped" && s.spec.enabled) {
                s.beat.ts_ms = t;
                s.beat.phase = phase;
                s.beat.pid = pid;
                self.beating.push(i);
            }
        }
        if self.beating.is_empty() {
            return Ok(());
        }
        // The batch on the stack (no allocation per tick) unless there are more than eight
        // services and members (`serve` has seven).
        let first = &self.slots[self.beating[0]].beat_key;
        let mut on_stack = [(first, &NO_BEAT as &dyn TypedValue); 8];
        let mut on_heap = Vec::new();
        let beats = if self.beating.len() <= on_stack.len() {
            for (b, &i) in on_stack.iter_mut().zip(&self.beating) {
                *b = (&self.slots[i].beat_key, &self.slots[i].beat);
            }
            &on_stack[..self.beating.len()]
        } else {
            on_heap.extend(self.beating.iter().map(|&i| {
                (
                    &self.slots[i].beat_key,
                    &self.slots[i].beat as &dyn TypedValue,
                )
            }));
            &on_heap[..]
        };
        // A failed heartbeat write is the watchdog's business (the beat is missing), not a
        // reason to stop the service.
        if let Err(e) = self.ctx.store.beat_many_at(beats) {
            for &i in &self.beating {
                self.slots[i].stats.last_error = Some(format!("heartbeat: {e}"));
            }
            return Ok(());
        }
        for k in 0..self.beating.len() {
            let i = self.beating[k];
            let s = &mut self.slots[i];
            s.stats.heartbeats += 1;
            s.stats.last_heartbeat_ms = Some(t);
            let log = !same_phase(s.last_logged_phase, phase)
                || s.last_logged_beat
                    .is_none_or(|l| t - l >= self.heartbeat_log_ms);
            if log {
                s.last_logged_beat = Some(t);
                s.last_logged_phase = phase;
                let hb = HeartbeatRef {
                    ts: t as f64 / 1000.0,
                    phase,
                    service: s.name,
                    pid,
                };
                self.ctx.files.append(Trace::Heartbeats, &hb)?;
            }
        }
        Ok(())
    }
}
