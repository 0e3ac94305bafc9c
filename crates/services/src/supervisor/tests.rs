//! The supervisor's run loop on fake services: synchronous and awaited runs, retries, a
//! restart, a service left down and revived, and an event that makes an earlier service due
//! within the same tick.

use super::{REVIVE_MS, Supervisor};
use crate::config::{RetryPolicy, ServiceSpec, ServicesConfig};
use crate::error::ServiceError;
use crate::run_files::RunFiles;
use crate::schedule::EventMs;
use crate::service::{BoxFuture, BusEvent, Ctx, Factory, Service};
use dolphin_store::EmbeddedMemory;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const T0: EventMs = 1_746_316_800_000;

/// A service due at `due`; its runs fail `fail` times, and while `broken` is set.
#[derive(Clone, Default)]
struct Fake {
    due: Option<EventMs>,
    fail: u32,
    broken: Option<Arc<AtomicBool>>,
    /// Runs without a future ([`Service::run_now`]).
    sync: bool,
    /// The event a successful run raises.
    emits: Option<BusEvent>,
    /// Due at once on [`BusEvent::PositionChanged`].
    wakes: bool,
}

impl Fake {
    fn attempt(&mut self) -> Result<Vec<BusEvent>, ServiceError> {
        if self.fail > 0
            || self
                .broken
                .as_ref()
                .is_some_and(|b| b.load(Ordering::Relaxed))
        {
            self.fail = self.fail.saturating_sub(1);
            return Err(ServiceError::service("fake", "boom"));
        }
        self.due = None;
        Ok(self.emits.iter().cloned().collect())
    }
}

impl Service for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn next_due(&self) -> Option<EventMs> {
        self.due
    }
    fn run<'a>(
        &'a mut self,
        _ctx: &'a Ctx,
        _t: EventMs,
    ) -> BoxFuture<'a, Result<Vec<BusEvent>, ServiceError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.attempt()
        })
    }
    fn run_now(&mut self, _ctx: &Ctx, _t: EventMs) -> Option<Result<Vec<BusEvent>, ServiceError>> {
        self.sync.then(|| self.attempt())
    }
    fn on_event(&mut self, ev: &BusEvent, t: EventMs) {
        if self.wakes && *ev == BusEvent::PositionChanged {
            self.due = Some(t);
        }
    }
}

fn factory(fake: Fake) -> Option<Factory> {
    Some(Box::new(move |_, _| {
        Ok(Box::new(fake.clone()) as Box<dyn Service>)
    }))
}

fn spec(retries: u32, max_restarts: u32) -> ServiceSpec {
    ServiceSpec {
        enabled: true,
        cadence: "never".into(),
        retry: RetryPolicy::new(retries, 1, 5_000),
        max_restarts,
    }
}

fn supervisor(dir: &std::path::Path) -> Supervisor {
    let ctx = Ctx {
        store: Arc::new(EmbeddedMemory::new()),
        // No heartbeats: `due` then answers for the services alone.
        cfg: Arc::new(ServicesConfig {
            heartbeat: "never".into(),
            ..ServicesConfig::default()
        }),
        engine: Arc::default(),
        files: RunFiles::create(dir).unwrap(),
        pid: 1,
    };
    Supervisor::new(ctx).unwrap()
}

fn stats(sup: &Supervisor, name: &str) -> crate::supervisor::ServiceStats {
    sup.stats().into_iter().find(|s| s.name == name).unwrap()
}

#[tokio::test]
async fn runs_retry_restart_go_down_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = supervisor(dir.path());
    let due = Some(T0 + 1_000);
    let flaky = Fake {
        due,
        fail: 1,
        sync: true,
        ..Fake::default()
    };
    sup.add("flaky", spec(1, 0), factory(flaky));
    let awaited = Fake {
        due,
        fail: 1,
        ..Fake::default()
    };
    sup.add("awaited", spec(1, 0), factory(awaited));
    let broken = Arc::new(AtomicBool::new(true));
    let down = Fake {
        due,
        broken: Some(broken.clone()),
        sync: true,
        ..Fake::default()
    };
    sup.add("down", spec(1, 1), factory(down));
    sup.start(T0).await.unwrap();
    assert!(!sup.due(T0 + 999) && sup.due(T0 + 1_000));
    sup.tick(T0 + 1_000).await.unwrap();
    for name in ["flaky", "awaited"] {
        let s = stats(&sup, name);
        assert_eq!((s.runs, s.retries, s.failures), (1, 1, 0), "{name}");
        assert_eq!(s.state, "running");
        assert_eq!(s.last_run_ms, Some(T0 + 1_000));
    }
    // Two attempts, a restart, two more attempts: down.
    let s = stats(&sup, "down");
    assert_eq!((s.runs, s.retries, s.failures), (0, 2, 2));
    assert_eq!((s.restarts, s.starts, s.state.as_str()), (1, 2, "down"));
    assert_eq!(
        sup.take_events(),
        vec![BusEvent::ServiceHealth {
            service: "down".into(),
            up: false
        }]
    );
    assert!(!sup.due(T0 + 1_000 + REVIVE_MS - 1));
    // Revived once its cause is gone: built again, and its due work runs in the same tick.
    broken.store(false, Ordering::Relaxed);
    let back = T0 + 1_000 + REVIVE_MS;
    assert!(sup.due(back));
    sup.tick(back).await.unwrap();
    let s = stats(&sup, "down");
    assert_eq!((s.runs, s.restarts, s.state.as_str()), (1, 2, "running"));
    assert_eq!(
        sup.take_events(),
        vec![BusEvent::ServiceHealth {
            service: "down".into(),
            up: true
        }]
    );
    assert!(!sup.due(back + 1));
}

#[tokio::test]
async fn an_event_makes_an_earlier_service_due_in_the_same_tick() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = supervisor(dir.path());
    let listener = Fake {
        sync: true,
        wakes: true,
        ..Fake::default()
    };
    sup.add("listener", spec(0, 0), factory(listener));
    let emitter = Fake {
        due: Some(T0 + 1_000),
        emits: Some(BusEvent::PositionChanged),
        ..Fake::default()
    };
    sup.add("emitter", spec(0, 0), factory(emitter));
    sup.start(T0).await.unwrap();
    sup.tick(T0 + 1_000).await.unwrap();
    assert_eq!(stats(&sup, "emitter").runs, 1);
    assert_eq!(stats(&sup, "listener").runs, 1);
    assert_eq!(sup.take_events(), vec![BusEvent::PositionChanged]);
    // An event from outside makes it due again.
    assert!(!sup.due(T0 + 2_000));
    sup.notify(BusEvent::PositionChanged);
    assert!(sup.due(T0 + 1_000));
    sup.tick(T0 + 2_000).await.unwrap();
    assert_eq!(stats(&sup, "listener").runs, 2);
}
