//! The connection core of the Redis backend: the client (single node or cluster), a small
//! connection pool, `run` with reconnect and backoff, the outbox flush, and the change payload.
//! Both [`crate::redis_memory`] (the `SystemMemory` API) and `redis_push` (the push threads)
//! build on it; neither imports the other's internals.

use crate::backoff::Backoff;
use crate::dispatcher::Dispatcher;
use crate::error::StoreError;
use crate::memory::check_name;
use crate::near_cache::NearCaches;
use crate::outbox::Outbox;
use crate::redis_config::RedisConfig;
use crate::redis_scripts::Scripts;
use redis::{ConnectionLike, ErrorKind, ProtocolVersion, RedisError, RedisResult, ServerErrorKind};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Payload published on `<prefix><MAP>` for every change: key and new value (null = removed).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChangeMsg {
    pub k: String,
    pub v: Option<String>,
}

enum Conn {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl Conn {
    fn like(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(c) => c,
            Conn::Cluster(c) => c.as_mut(),
        }
    }
}

enum Target {
    Single(redis::Client),
    Cluster(redis::cluster::ClusterClient),
}

pub(crate) struct Inner {
    pub(crate) config: RedisConfig,
    pub(crate) backend: &'static str,
    target: Target,
    pool: Mutex<Vec<Conn>>,
    pub(crate) scripts: Scripts,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) near: NearCaches,
    pub(crate) outbox: Outbox,
    flushing: AtomicBool,
    /// Push connections currently up, and how many there should be (one per master).
    pub(crate) tracking_live: AtomicUsize,
    pub(crate) tracking_nodes: AtomicUsize,
}

/// Whether an error means "the server is not (yet) reachable": worth a reconnect and retry.
fn is_transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::MasterDown)
        )
}

/// The JSON published with a change: key and new value (`None` = removed).
pub(crate) fn change_payload(key: &str, value: Option<&str>) -> String {
    serde_json::to_string(&ChangeMsg {
        k: key.to_string(),
        v: value.map(str::to_string),
    })
    .unwrap_or_default()
}

impl Inner {
    /// Builds the client for `config` (no connection is made yet).
    pub(crate) fn new(config: RedisConfig) -> Result<Self, StoreError> {
        if config.urls.is_empty() {
            return Err(StoreError::Config {
                field: "urls",
                reason: "no Redis URL given".into(),
            });
        }
        let (target, backend) = if config.cluster {
            let infos = config
                .urls
                .iter()
                .map(|u| config.connection_info(u, ProtocolVersion::RESP2))
                .collect::<Result<Vec<_>, _>>()?;
            let client = redis::cluster::ClusterClientBuilder::new(infos)
                .connection_timeout(config.connect_timeout)
                .response_timeout(config.response_timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(200)
                .build()
                .map_err(|e| StoreError::Config {
                    field: "urls",
                    reason: e.to_string(),
                })?;
            (Target::Cluster(client), "redis-cluster")
        } else {
            let info = config.connection_info(&config.urls[0], ProtocolVersion::RESP2)?;
            let client = redis::Client::open(info).map_err(|e| StoreError::Config {
                field: "urls",
                reason: e.to_string(),
            })?;
            (Target::Single(client), "redis")
        };
        Ok(Inner {
            config,
            backend,
            target,
            pool: Mutex::new(Vec::new()),
            scripts: Scripts::new(),
            dispatcher: Dispatcher::start(backend),
            near: NearCaches::default(),
            outbox: Outbox::new(),
            flushing: AtomicBool::new(false),
            tracking_live: AtomicUsize::new(0),
            tracking_nodes: AtomicUsize::new(usize::MAX),
        })
    }

    pub(crate) fn channel(&self, map: &str) -> String {
        format!("{}{map}", self.config.channel_prefix)
    }

    fn open(&self) -> RedisResult<Conn> {
        match &self.target {
            Target::Single(c) => {
                let con = c.get_connection_with_timeout(self.config.connect_timeout)?;
                con.set_read_timeout(Some(self.config.response_timeout))?;
                con.set_write_timeout(Some(self.config.response_timeout))?;
                Ok(Conn::Single(con))
            }
            Target::Cluster(c) => Ok(Conn::Cluster(Box::new(c.get_connection()?))),
        }
    }

    fn checkout(&self) -> RedisResult<(Conn, bool)> {
        if let Some(c) = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok((c, false));
        }
        self.open().map(|c| (c, true))
    }

    fn checkin(&self, c: Conn) {
        let mut p = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if p.len() < 16 {
            p.push(c);
        }
    }

    /// Runs `f` on a pooled connection, reconnecting with backoff on connection errors until
    /// the retry budget is spent. A non-idempotent `f` (CAS, lock) is retried only when the
    /// failure happened before it could reach the server (a PING on the connection first).
    pub(crate) fn run<T>(
        &self,
        op: &'static str,
        map: &str,
        idempotent: bool,
        mut f: impl FnMut(&mut dyn ConnectionLike) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        let mut reconnected = false;
        let mut last_err = String::new();
        loop {
            let attempt = self.checkout().and_then(|(mut c, fresh)| {
                reconnected |= fresh && !last_err.is_empty();
                if !idempotent {
                    redis::cmd("PING").query::<String>(c.like())?;
                }
                Ok(c)
            });
            match attempt {
                Ok(mut c) => match f(c.like()) {
                    Ok(v) => {
                        self.checkin(c);
                        if reconnected {
                            self.after_reconnect();
                        }
                        return Ok(v);
                    }
                    Err(e) if is_transient(&e) => {
                        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
                        if !idempotent {
                            return Err(self.unavailable(
                                op,
                                map,
                                start,
                                format!("{e} (outcome unknown)"),
                            ));
                        }
                        last_err = e.to_string();
                    }
                    Err(e) => {
                        self.checkin(c);
                        return Err(StoreError::Backend {
                            backend: self.backend,
                            op,
                            map: map.to_string(),
                            reason: e.to_string(),
                        });
                    }
                },
                Err(e) if is_transient(&e) || e.kind() == ErrorKind::Io => {
                    self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    last_err = e.to_string();
                }
                Err(e) => {
                    return Err(StoreError::Backend {
                        backend: self.backend,
                        op,
                        map: map.to_string(),
                        reason: e.to_string(),
                    });
                }
            }
            let waited = start.elapsed();
            if waited >= self.config.retry_budget {
                return Err(self.unavailable(op, map, start, last_err));
            }
            std::thread::sleep(backoff.next_delay().min(self.config.retry_budget - waited));
        }
    }

    fn unavailable(
        &self,
        op: &'static str,
        map: &str,
        start: Instant,
        reason: String,
    ) -> StoreError {
        StoreError::Unavailable {
            backend: self.backend,
            op,
            map: map.to_string(),
            waited: start.elapsed(),
            reason,
        }
    }

    /// After a reconnect: flush the outbox, unless a flush is already running (possibly this
    /// very call's caller: the check comes before the outbox is touched, so no self-deadlock).
    pub(crate) fn after_reconnect(&self) {
        if self.flushing.load(Ordering::SeqCst) || self.outbox.is_empty() {
            return;
        }
        let _ = self.flush();
    }

    /// Writes the outbox in order. `Ok(None)` if another flush is already running.
    pub(crate) fn flush(&self) -> Result<Option<usize>, StoreError> {
        if self.flushing.swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        let r = self.outbox.flush(|w| self.put(&w.map, &w.key, &w.value));
        self.flushing.store(false, Ordering::SeqCst);
        r.map(Some)
    }

    pub(crate) fn pending(&self) -> usize {
        self.outbox.len()
    }

    pub(crate) fn put(&self, map: &str, key: &str, value: &str) -> Result<(), StoreError> {
        check_name("map", map)?;
        let channel = self.channel(map);
        let payload = change_payload(key, Some(value));
        self.run("put", map, true, |c| {
            self.scripts
                .put
                .key(map)
                .arg(key)
                .arg(value)
                .arg(&channel)
                .arg(&payload)
                .invoke::<i64>(c)
        })?;
        self.near.invalidate_key(map, key);
        Ok(())
    }
}
