//! One service's due work (S §11): the run, under its timeout unless it never waits, failed
//! attempts retried with exponential backoff, a service that exhausts its retries rebuilt
//! (restart) up to `max_restarts` times and otherwise left down.

use super::timeout::run_with_timeout;
use super::{REVIVE_MS, Supervisor};
use crate::config::RetryPolicy;
use crate::error::ServiceError;
use crate::schedule::EventMs;
use crate::service::BusEvent;
use std::time::Duration;

/// What a run returned.
type RunResult = Result<Vec<BusEvent>, ServiceError>;

impl Supervisor {
    /// Runs slot `i` at `t` if its service never waits ([`Service::run_now`]); `None` when it
    /// has no such run (or no service).
    ///
    /// [`Service::run_now`]: crate::service::Service::run_now
    pub(super) fn run_now(&mut self, i: usize, t: EventMs) -> Option<RunResult> {
        let ctx = &self.ctx;
        let s = &mut self.slots[i];
        let res = s.svc.as_mut()?.run_now(ctx, t);
        if res.is_some() {
            s.known_due = None;
        }
        res
    }

    /// The bookkeeping of a successful run of slot `i` at `t`, and its events delivered.
    pub(super) fn succeeded(&mut self, i: usize, t: EventMs, events: Vec<BusEvent>) {
        let s = &mut self.slots[i];
        let name = s.name;
        s.stats.runs += 1;
        s.stats.last_run_ms = Some(t);
        if !s.running {
            s.set_state("running");
        }
        s.runs_counter
            .get_or_insert_with(
                || metrics::counter!("dolphin_service_runs_total", "service" => name),
            )
            .increment(1);
        for ev in events {
            self.dispatch(ev, t);
        }
    }

    /// Runs slot `i` at `t` until it succeeds or is left down; `first` is the result of an
    /// attempt already made ([`Supervisor::run_now`]), if any.
    pub(super) async fn run_slot(&mut self, i: usize, t: EventMs, mut first: Option<RunResult>) {
        let name = self.slots[i].name;
        let policy: RetryPolicy = self.slots[i].spec.retry;
        // Made at the first failure.
        let mut backoff = None;
        let mut attempt = 0u32;
        let mut restarted = false;
        loop {
            let res = match first.take() {
                Some(res) => res,
                None => {
                    // Disjoint borrows of the context and the slot: no clone of the context.
                    let ctx = &self.ctx;
                    let Some(svc) = self.slots[i].svc.as_mut() else {
                        return;
                    };
                    let res = match svc.run_now(ctx, t) {
                        Some(res) => res,
                        None => run_with_timeout(svc.run(ctx, t), name, policy.timeout_ms).await,
                    };
                    self.slots[i].known_due = None;
                    res
                }
            };
            match res {
                Ok(events) => {
                    self.succeeded(i, t, events);
                    return;
                }
                Err(e) => {
                    tracing::warn!(service = name, attempt, error = %e, "run failed");
                    self.slots[i].stats.last_error = Some(e.to_string());
                    if attempt < policy.retries {
                        attempt += 1;
                        self.slots[i].stats.retries += 1;
                        metrics::counter!("dolphin_service_retries_total", "service" => name)
                            .increment(1);
                        let backoff = backoff.get_or_insert_with(|| {
                            dolphin_store::Backoff::new(
                                Duration::from_millis(policy.backoff_ms),
                                Duration::from_millis(policy.backoff_max_ms),
                            )
                        });
                        tokio::time::sleep(backoff.next_delay()).await;
                        continue;
                    }
                    self.slots[i].stats.failures += 1;
                    let can_restart = !restarted
                        && self.slots[i].stats.restarts
                            < u64::from(self.slots[i].spec.max_restarts);
                    if can_restart && self.slots[i].factory.is_some() {
                        restarted = true;
                        self.slots[i].stats.restarts += 1;
                        metrics::counter!("dolphin_service_restarts_total", "service" => name)
                            .increment(1);
                        tracing::warn!(service = name, "restarting");
                        self.slots[i].set_service(None);
                        if self.build(i, t).await.is_ok() {
                            self.slots[i].stats.starts += 1;
                            attempt = 0;
                            continue;
                        }
                    }
                    // Left down: no heartbeat, no work, until it is revived (super::revive).
                    tracing::error!(service = name, error = %e, "service down");
                    self.slots[i].set_service(None);
                    self.slots[i].set_state("down");
                    self.slots[i].revive_at = Some(t + REVIVE_MS);
                    let ev = BusEvent::ServiceHealth {
                        service: name.into(),
                        up: false,
                    };
                    self.dispatch(ev, t);
                    return;
                }
            }
        }
    }
}
