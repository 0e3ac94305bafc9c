//! Bringing back a service that is down (docs/SERVICES.md "Services, start order,
//! supervision"): a store outage long enough to exhaust a service's retries and its restart
//! must not leave it down for the rest of the run.

use super::{REVIVE_MS, Supervisor};
use crate::schedule::EventMs;
use crate::service::BusEvent;

impl Supervisor {
    /// Builds again (once, no retries) every service that is down and due for it; one that
    /// still cannot start is tried again [`REVIVE_MS`] later.
    pub(super) fn revive(&mut self, t: EventMs) {
        for i in 0..self.slots.len() {
            if self.slots[i].svc.is_some() || self.slots[i].revive_at.is_none_or(|r| r > t) {
                continue;
            }
            let name = self.slots[i].name;
            let Some(factory) = self.slots[i].factory.as_ref() else {
                continue;
            };
            match factory(&self.ctx, t) {
                Ok(svc) => {
                    let s = &mut self.slots[i];
                    s.set_service(Some(svc));
                    s.revive_at = None;
                    s.stats.restarts += 1;
                    s.stats.starts += 1;
                    s.set_state("running");
                    metrics::counter!("dolphin_service_restarts_total", "service" => name)
                        .increment(1);
                    tracing::warn!(service = name, "service back up");
                    let ev = BusEvent::ServiceHealth {
                        service: name.into(),
                        up: true,
                    };
                    self.dispatch(ev, t);
                }
                Err(e) => {
                    let s = &mut self.slots[i];
                    s.stats.last_error = Some(e.to_string());
                    s.revive_at = Some(t + REVIVE_MS);
                }
            }
        }
    }
}
