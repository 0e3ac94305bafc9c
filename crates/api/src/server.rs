//! Starting the server: bind (refusing an open non-loopback bind), the watcher task that
//! keeps the [`Snapshot`] current, graceful shutdown.

use crate::error::ApiError;
use crate::metrics_export;
use crate::routes::{AppState, router};
use crate::snapshot::{Snapshot, StoreView, read_run};
use dolphin_report::RunDir;
use dolphin_store::SystemMemory;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>` on every endpoint except ping, metrics and the static
    /// dashboard files.
    Token(String),
    /// No authentication: allowed only on a loopback address.
    Disabled,
}

impl std::fmt::Debug for Auth {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token(<redacted>)"),
            Auth::Disabled => f.write_str("Disabled"),
        }
    }
}

/// What to serve and where.
#[derive(Clone)]
pub struct ApiConfig {
    /// The run folder to watch (a `dolphin serve --out` or `dolphin backtest --out` folder).
    pub run_dir: PathBuf,
    /// The system memory to read S §10 entries from (none for a finished backtest).
    pub store: Option<Arc<dyn SystemMemory>>,
    pub bind: SocketAddr,
    pub auth: Auth,
    /// How often the watcher re-reads the folder and the store.
    pub poll: Duration,
}

/// A running server.
pub struct ApiHandle {
    /// The bound address (with the real port when the configured one was 0).
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl ApiHandle {
    /// Stops accepting, ends live streams, waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.join.await;
    }

    /// Waits until the server stops (it only stops on [`ApiHandle::shutdown`] or an error).
    pub async fn wait(self) {
        let _ = self.join.await;
    }

    /// A receiver that turns true when the server is asked to stop.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// Signature of the run folder's files: (name, length, mtime) of each present file.
fn signature(dir: &Path) -> Vec<(&'static str, u64, Option<SystemTime>)> {
    const FILES: [&str; 10] = [
        "trades.jsonl",
        "days.jsonl",
        "summary.json",
        "run.json",
        "acb.jsonl",
        "posture_trace.jsonl",
        "mc.jsonl",
        "heartbeats.jsonl",
        "services.json",
        "position.json",
    ];
    FILES
        .iter()
        .filter_map(|f| {
            let m = std::fs::metadata(dir.join(f)).ok()?;
            Some((*f, m.len(), m.modified().ok()))
        })
        .collect()
}

fn first_snapshot(cfg: &ApiConfig) -> Snapshot {
    let store = cfg
        .store
        .as_deref()
        .map(StoreView::read)
        .unwrap_or_default();
    match read_run(&cfg.run_dir) {
        Ok((run, pos)) => Snapshot::build(1, run, store, pos, None),
        Err(e) => {
            let run = RunDir {
                path: cfg.run_dir.clone(),
                ..Default::default()
            };
            Snapshot::build(1, run, store, None, Some(e))
        }
    }
}

/// Binds and starts the server on the current tokio runtime.
pub fn spawn(cfg: ApiConfig) -> Result<ApiHandle, ApiError> {
    if matches!(cfg.auth, Auth::Disabled) && !cfg.bind.ip().is_loopback() {
        return Err(ApiError::OpenNonLoopback { addr: cfg.bind });
    }
    let std_listener = std::net::TcpListener::bind(cfg.bind).map_err(|source| ApiError::Bind {
        addr: cfg.bind,
        source,
    })?;
    let bind_err = |source| ApiError::Bind {
        addr: cfg.bind,
        source,
    };
    std_listener.set_nonblocking(true).map_err(bind_err)?;
    let addr = std_listener.local_addr().map_err(bind_err)?;
    let listener = tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)?;
    let prometheus = metrics_export::handle();
    let first = Arc::new(first_snapshot(&cfg));
    metrics_export::record_snapshot(&first);
    let (tx, rx) = watch::channel(first);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(watch_loop(cfg.clone(), tx, stop_rx.clone()));
    let state = AppState {
        snapshot: rx,
        auth: cfg.auth.clone(),
        prometheus: Arc::new(crate::routes::MetricsText::new(prometheus)),
        stopping: stop_rx.clone(),
    };
    let app = router(state);
    let mut stop = stop_rx;
    let join = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    tracing::info!(%addr, "API listening");
    Ok(ApiHandle {
        addr,
        shutdown: stop_tx,
        join,
    })
}

/// Re-reads the folder (when a file changed) and the store every `poll`; publishes a new
/// snapshot when an answer changed.
async fn watch_loop(
    cfg: ApiConfig,
    tx: watch::Sender<Arc<Snapshot>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut sig = signature(&cfg.run_dir);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.poll) => {}
            _ = stop.changed() => return,
        }
        let cfg2 = cfg.clone();
        let prev = tx.borrow().clone();
        let old_sig = sig.clone();
        let res = tokio::task::spawn_blocking(move || {
            let new_sig = signature(&cfg2.run_dir);
            let files_changed = new_sig != old_sig;
            if !files_changed && cfg2.store.is_none() {
                return (new_sig, None);
            }
            let store = cfg2
                .store
                .as_deref()
                .map(StoreView::read)
                .unwrap_or_default();
            let (run, pos, err) = if files_changed || prev.read_error.is_some() {
                match read_run(&cfg2.run_dir) {
                    Ok((r, p)) => (r, p, None),
                    Err(e) => (prev.run.clone(), prev.position_file.clone(), Some(e)),
                }
            } else {
                (prev.run.clone(), prev.position_file.clone(), None)
            };
            let next = Snapshot::build(prev.version + 1, run, store, pos, err);
            (new_sig, (!next.same_content(&prev)).then_some(next))
        })
        .await;
        match res {
            Ok((new_sig, next)) => {
                sig = new_sig;
                if let Some(next) = next {
                    metrics_export::record_snapshot(&next);
                    if tx.send(Arc::new(next)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "API watcher task failed"),
        }
    }
}

/// A server on its own thread and tokio runtime, for callers without one (`dolphin serve
/// --api`): stops when dropped.
pub struct ApiThread {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl ApiThread {
    /// Binds `cfg.bind` and serves on a dedicated thread with a single-threaded runtime: the
    /// API takes one thread (plus the blocking pool's file reads) from the process it watches,
    /// and never wakes a second worker per request (docs/OBSERVABILITY.md §2, "Threads").
    pub fn start(cfg: ApiConfig) -> Result<Self, ApiError> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let join = std::thread::Builder::new()
            .name("dolphin-api".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .thread_name("dolphin-api-rt")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = addr_tx.send(Err(ApiError::Bind {
                            addr: cfg.bind,
                            source: e,
                        }));
                        return;
                    }
                };
                rt.block_on(async move {
                    match spawn(cfg) {
                        Ok(h) => {
                            let _ = addr_tx.send(Ok(h.addr));
                            let _ = stop_rx.await;
                            h.shutdown().await;
                        }
                        Err(e) => {
                            let _ = addr_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|source| ApiError::Bind {
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                source,
            })?;
        let addr = addr_rx.recv().map_err(|_| ApiError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            source: std::io::Error::other("the API thread ended before binding"),
        })??;
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            join: Some(join),
        })
    }
}

impl Drop for ApiThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}
