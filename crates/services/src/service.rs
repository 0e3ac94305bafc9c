//! What a service is to the supervisor (B §16): a name, its next due time on the event-time
//! clock, the work it does when due, and the events it reacts to.

use crate::config::ServicesConfig;
use crate::error::ServiceError;
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use dolphin_core::UtcDate;
use dolphin_engine::EngineConfig;
use dolphin_store::SystemMemory;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future (the services are trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Things that happen at an event time and that other services react to (the in-process
/// counterpart of store listeners; every such value is also in the store for other readers).
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent {
    /// The trader stepped a scan row (SPEC §8: new scan data).
    Scan {
        ts: EventMs,
        date: UtcDate,
        v750: f64,
    },
    /// New external factors for `date` are in the store.
    FactorsChanged { date: UtcDate },
    /// The ACB processor published value number `seq` for `date`.
    AcbPublished { seq: u64, date: UtcDate },
    /// The MC flow published the status for `date`.
    McPublished { date: UtcDate },
    /// A position opened or closed, or capital changed.
    PositionChanged,
    /// The trader closed day `date` (its file, for the MC refresh).
    DayClosed { date: UtcDate, path: PathBuf },
    /// A service went down or came back.
    ServiceHealth { service: String, up: bool },
}

/// What every service can reach.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn SystemMemory>,
    pub cfg: Arc<ServicesConfig>,
    pub engine: Arc<EngineConfig>,
    pub files: RunFiles,
    pub pid: u32,
}

/// One supervised service.
pub trait Service: Send {
    /// The name used in `DOLPHIN_HEARTBEAT`, `services.json` and logs.
    fn name(&self) -> &'static str;
    /// Event time of the next scheduled or triggered work; `None` = nothing planned. It changes
    /// only through [`Service::run`], [`Service::run_now`] and [`Service::on_event`]: the
    /// supervisor keeps the answer until one of them is called.
    fn next_due(&self) -> Option<EventMs>;
    /// Does all work due at or before `t`; returns the events it caused.
    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>>;
    /// [`Service::run`] for a service whose work never waits (the watchdog, the store probe):
    /// its result at once, without a boxed future, a timer or a clock reading (a run that is
    /// ready when first polled is never a timeout). `None` (the default): the work may wait,
    /// the supervisor awaits [`Service::run`] under the timeout.
    fn run_now(&mut self, _ctx: &Ctx, _t: EventMs) -> Option<Result<Vec<BusEvent>, ServiceError>> {
        None
    }
    /// Reacts to an event (may make the service due); must be cheap.
    fn on_event(&mut self, _ev: &BusEvent, _t: EventMs) {}
    /// True for a service that writes its own heartbeat (the OB stream, on the exchange's
    /// clock): the supervisor then writes none for it. Asked once, when the service is built.
    fn beats_itself(&self) -> bool {
        false
    }
    /// A line per input for the dry-run plan.
    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Builds (and after a failure rebuilds) a service at event time `t`.
pub type Factory =
    Box<dyn Fn(&Ctx, EventMs) -> Result<Box<dyn Service>, ServiceError> + Send + Sync>;
