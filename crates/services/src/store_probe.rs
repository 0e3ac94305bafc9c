//! The store probe (S §11 `hz_probe_task`: 3 retries, 30 s timeout; B §16.6 step 1): checks at
//! start and then on its cadence that the store answers a read, so that nothing starts on an
//! unreachable store and a store that goes away shows in `services.json`.

use crate::error::ServiceError;
use crate::schedule::{Cadence, EventMs};
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use dolphin_store::KeyRef;
use dolphin_store::schema::DOLPHIN_HEARTBEAT;

/// Probes the store with one read (in place and as stored, typed or text: the value itself
/// is not needed).
pub fn probe(ctx: &Ctx) -> Result<(), ServiceError> {
    probe_at(ctx, &KeyRef::new(DOLPHIN_HEARTBEAT, StoreProbe::NAME)?)
}

fn probe_at(ctx: &Ctx, key: &KeyRef) -> Result<(), ServiceError> {
    ctx.store.read_typed_at(key, &mut |_| {})?;
    Ok(())
}

pub struct StoreProbe {
    cadence: Cadence,
    next: Option<EventMs>,
    /// The key it reads, resolved once.
    key: KeyRef,
}

impl StoreProbe {
    pub const NAME: &'static str = "store_probe";

    /// Probes once (the start gate) and schedules the next probe.
    pub fn start(ctx: &Ctx, t: EventMs) -> Result<Self, ServiceError> {
        probe(ctx)?;
        let cadence = Cadence::parse(&ctx.cfg.store_probe.cadence)?;
        Ok(Self {
            next: cadence.next_after(t),
            cadence,
            key: KeyRef::new(DOLPHIN_HEARTBEAT, Self::NAME)?,
        })
    }

    /// The probe due at `t` (it never waits: [`Service::run_now`]).
    fn probe_due(&mut self, ctx: &Ctx, t: EventMs) -> Result<Vec<BusEvent>, ServiceError> {
        probe_at(ctx, &self.key)?;
        self.next = self.cadence.next_after(t);
        Ok(Vec::new())
    }
}

impl Service for StoreProbe {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn next_due(&self) -> Option<EventMs> {
        self.next
    }
    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move { self.probe_due(ctx, t) })
    }
    fn run_now(&mut self, ctx: &Ctx, t: EventMs) -> Option<Result<Vec<BusEvent>, ServiceError>> {
        Some(self.probe_due(ctx, t))
    }
    fn describe(&self) -> Vec<String> {
        vec![format!("store read, {}", self.cadence.describe())]
    }
}
