//! The supervisor's `ob_stream` slot (B §16.6 start order: store probe → ACB → **OB stream** →
//! watchdog → MC → trader; B §16.2): runs the OB stream service that the binary hands in as a
//! task ([`ObTask`]) — this crate does not depend on `crates/live`, whose service it is
//! (`dolphin_live::run_ob_stream`); `crates/dolphin` composes the two.
//!
//! * The task runs on its own (websocket frames on the exchange's clock), not on the
//!   supervisor's event-time ticks: the slot only starts it, checks every minute of event
//!   time that it is still running (a task that ended is a failed run: the supervisor's
//!   retries and restart spawn it again), and stops it when the slot is dropped.
//! * Its first run, at the start tick (before the watchdog's first reading), waits up to
//!   `ob_ready_wait_ms` of wall time for every book to be in sync, so that the first posture
//!   does not read a feed that is still connecting. Not in sync by then: the run goes on and
//!   the watchdog reads a stale book (Cat3), which is what it is.
//! * The service writes its own heartbeat `DOLPHIN_HEARTBEAT["ob_stream"]` on the exchange's
//!   event time, so the supervisor does not beat for it ([`Service::beats_itself`]); its
//!   health for the watchdog is `DOLPHIN_FEATURES["ob_health"]` ([`crate::ob_health`]).

use crate::error::ServiceError;
use crate::ob_health::{ObHealthHead, read_health};
use crate::schedule::EventMs;
use crate::service::{BoxFuture, BusEvent, Ctx, Service};
use dolphin_store::SystemMemory;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Starts the OB stream service on `store`; the future ends when the `stop` flag turns true
/// (Ok, with a one-line summary) or when the service fails (Err, the message).
pub type ObTaskFn = dyn Fn(
        Arc<dyn SystemMemory>,
        tokio::sync::watch::Receiver<bool>,
    ) -> BoxFuture<'static, Result<String, String>>
    + Send
    + Sync;

/// The OB stream task of `dolphin serve --exchange-url` (a closure from the binary).
#[derive(Clone)]
pub struct ObTask {
    /// What the plan and `run.json` show (exchange URL and symbols).
    pub describe: String,
    pub start: Arc<ObTaskFn>,
}

impl std::fmt::Debug for ObTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObTask")
            .field("describe", &self.describe)
            .finish()
    }
}

/// Event time between two checks that the task still runs.
const CHECK_MS: EventMs = 60_000;

pub struct ObStreamSlot {
    task: ObTask,
    handle: tokio::task::JoinHandle<Result<String, String>>,
    stop: tokio::sync::watch::Sender<bool>,
    next: EventMs,
    ready_checked: bool,
}

impl ObStreamSlot {
    pub const NAME: &'static str = "ob_stream";

    /// Spawns the task at event time `t` (on the running tokio runtime).
    pub fn start(ctx: &Ctx, t: EventMs, task: &ObTask) -> Result<Self, ServiceError> {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let fut = (task.start)(ctx.store.clone(), rx);
        let handle = tokio::spawn(fut);
        tracing::info!(service = Self::NAME, task = %task.describe, "OB stream started");
        Ok(Self {
            task: task.clone(),
            handle,
            stop,
            next: t,
            ready_checked: false,
        })
    }

    /// Waits (wall time, at most `wait`) until the health shows every book in sync.
    async fn wait_ready(ctx: &Ctx, wait: Duration) -> Option<ObHealthHead> {
        let until = Instant::now() + wait;
        loop {
            let h = read_health(ctx.store.as_ref());
            if h.as_ref().is_some_and(|h| h.all_synced()) || Instant::now() >= until {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ObStreamSlot {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Service for ObStreamSlot {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn next_due(&self) -> Option<EventMs> {
        Some(self.next)
    }
    fn beats_itself(&self) -> bool {
        true
    }
    fn run<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move {
            if self.handle.is_finished() {
                // Ended on its own: a failure (it only ends when stopped). The supervisor
                // retries, then rebuilds the slot, which spawns the task again.
                let why = match (&mut self.handle).await {
                    Ok(Ok(s)) => format!("ended: {s}"),
                    Ok(Err(e)) => e,
                    Err(e) => format!("task failed: {e}"),
                };
                return Err(ServiceError::service(Self::NAME, why));
            }
            if !self.ready_checked {
                self.ready_checked = true;
                let wait = Duration::from_millis(ctx.cfg.ob_ready_wait_ms);
                match Self::wait_ready(ctx, wait).await {
                    Some(h) if h.all_synced() => {
                        tracing::info!(
                            service = Self::NAME,
                            books = h.books_synced,
                            "books in sync"
                        )
                    }
                    h => tracing::warn!(
                        service = Self::NAME,
                        synced = h.map_or(0, |h| h.books_synced),
                        "books not in sync after {wait:?}; going on (Cat3 reads stale)"
                    ),
                }
            }
            self.next = t + CHECK_MS;
            Ok(Vec::new())
        })
    }
    fn describe(&self) -> Vec<String> {
        vec![
            self.task.describe.clone(),
            "writes DOLPHIN_FEATURES_SHARD_00..09, DOLPHIN_FEATURES[\"ob_health\"], its own heartbeat".into(),
        ]
    }
}
