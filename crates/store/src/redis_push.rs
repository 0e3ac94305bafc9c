//! Push connections of the Redis backend (RESP3): change events from the change channels
//! (`PSUBSCRIBE <prefix>*`) and near-cache invalidations from server-assisted client tracking
//! (`CLIENT TRACKING ON BCAST`), each on a dedicated thread that reconnects with backoff.
//!
//! Single node: one connection does both. Cluster: one tracking connection per master (a
//! master only reports its own keys) and one subscriber on any reachable master (a classic
//! `PUBLISH` reaches every node of a cluster).

use crate::backoff::Backoff;
use crate::error::StoreError;
use crate::memory::ChangeEvent;
use crate::redis_conn::{ChangeMsg, Inner};
use redis::{ProtocolVersion, PushKind, Value};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How often a push thread wakes to notice that its store was dropped.
const POLL: Duration = Duration::from_millis(200);

struct Role {
    /// Nodes to try, in order; the first that answers is used.
    candidates: Vec<redis::ConnectionInfo>,
    track: bool,
    subscribe: bool,
}

/// Masters of the cluster as (host, port), from `CLUSTER SLOTS`.
fn masters(v: &Value) -> Vec<(String, u16)> {
    let mut out: Vec<(String, u16)> = Vec::new();
    let Value::Array(ranges) = v else {
        return out;
    };
    for r in ranges {
        let Value::Array(items) = r else { continue };
        let Some(Value::Array(node)) = items.get(2) else {
            continue;
        };
        let host = match node.first() {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::SimpleString(s)) => s.clone(),
            _ => continue,
        };
        let Some(Value::Int(port)) = node.get(1) else {
            continue;
        };
        let hp = (host, *port as u16);
        if !out.contains(&hp) {
            out.push(hp);
        }
    }
    out.sort();
    out
}

/// Starts the push threads and waits (up to the connect budget) until they are connected.
pub(crate) fn start(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let cfg = &inner.config;
    let roles = if cfg.cluster {
        let slots: Value = inner.run("cluster_slots", "-", true, |c| {
            redis::cmd("CLUSTER").arg("SLOTS").query(c)
        })?;
        let nodes = masters(&slots)
            .into_iter()
            .map(|(h, p)| cfg.node_info(&h, p, ProtocolVersion::RESP3))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(StoreError::Backend {
                backend: "redis-cluster",
                op: "cluster_slots",
                map: "-".into(),
                reason: "no master found in CLUSTER SLOTS".into(),
            });
        }
        let mut roles: Vec<Role> = nodes
            .iter()
            .map(|n| Role {
                candidates: vec![n.clone()],
                track: true,
                subscribe: false,
            })
            .collect();
        roles.push(Role {
            candidates: nodes,
            track: false,
            subscribe: true,
        });
        roles
    } else {
        vec![Role {
            candidates: vec![cfg.connection_info(&cfg.urls[0], ProtocolVersion::RESP3)?],
            track: true,
            subscribe: true,
        }]
    };
    let tracking = roles.iter().filter(|r| r.track).count();
    inner.tracking_nodes.store(tracking, Ordering::SeqCst);
    let (ready_tx, ready_rx) = mpsc::channel();
    let n = roles.len();
    for (i, role) in roles.into_iter().enumerate() {
        let weak = Arc::downgrade(inner);
        let ready = ready_tx.clone();
        std::thread::Builder::new()
            .name(format!("redis-push-{i}"))
            .spawn(move || push_loop(weak, role, ready))
            .map_err(|e| StoreError::Backend {
                backend: "redis",
                op: "spawn push thread",
                map: "-".into(),
                reason: e.to_string(),
            })?;
    }
    let deadline = Instant::now() + cfg.retry_budget;
    for _ in 0..n {
        let left = deadline.saturating_duration_since(Instant::now());
        if ready_rx.recv_timeout(left).is_err() {
            break; // threads keep trying; events and the near cache start when they connect
        }
    }
    Ok(())
}

fn open(role: &Role, prefix: &str, idx: usize) -> redis::RedisResult<redis::Connection> {
    let info = role.candidates[idx % role.candidates.len()].clone();
    let client = redis::Client::open(info)?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    con.set_read_timeout(Some(Duration::from_secs(2)))?;
    if role.track {
        redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .arg("BCAST")
            .query::<()>(&mut con)?;
    }
    if role.subscribe {
        con.psubscribe_resp3(format!("{prefix}*"))?;
        // Wait for the subscription to be confirmed before reporting ready.
        loop {
            if let Value::Push {
                kind: PushKind::PSubscribe,
                ..
            } = con.recv_response()?
            {
                break;
            }
        }
    }
    con.set_read_timeout(Some(POLL))?;
    Ok(con)
}

fn push_loop(weak: Weak<Inner>, role: Role, ready: mpsc::Sender<()>) {
    let Some(prefix) = weak.upgrade().map(|i| i.config.channel_prefix.clone()) else {
        return;
    };
    let mut backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(500));
    let mut attempt = 0usize;
    let mut first = true;
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        let mut con = match open(&role, &prefix, attempt) {
            Ok(c) => c,
            Err(_) => {
                attempt += 1;
                std::thread::sleep(backoff.next_delay());
                continue;
            }
        };
        backoff.reset();
        {
            let Some(inner) = weak.upgrade() else { return };
            // Whatever was cached before this connection is unverified: drop it.
            inner.near.clear_all();
            if role.track {
                inner.tracking_live.fetch_add(1, Ordering::SeqCst);
            }
            if !first && inner.pending() > 0 {
                let w = Arc::downgrade(&inner);
                std::thread::spawn(move || {
                    if let Some(i) = w.upgrade() {
                        i.after_reconnect();
                    }
                });
            }
        }
        if first {
            let _ = ready.send(());
            first = false;
        }
        loop {
            match con.recv_response() {
                Ok(Value::Push { kind, data }) => {
                    let Some(inner) = weak.upgrade() else { return };
                    if !handle_push(&inner, &prefix, kind, data) {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) if e.is_timeout() => {
                    if weak.strong_count() == 0 {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if let Some(inner) = weak.upgrade() {
            if role.track {
                inner.tracking_live.fetch_sub(1, Ordering::SeqCst);
            }
            inner.near.clear_all();
        }
        attempt += 1;
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Handles one push; `false` when the connection is gone.
fn handle_push(inner: &Inner, prefix: &str, kind: PushKind, data: Vec<Value>) -> bool {
    match kind {
        PushKind::PMessage => {
            let (Some(channel), Some(payload)) =
                (data.get(1).and_then(text), data.get(2).and_then(text))
            else {
                return true;
            };
            let Some(map) = channel.strip_prefix(prefix) else {
                return true;
            };
            let Ok(msg) = serde_json::from_str::<ChangeMsg>(&payload) else {
                return true;
            };
            inner.near.invalidate_key(map, &msg.k);
            if inner.dispatcher.has_listeners(map, &msg.k) {
                inner.dispatcher.emit(ChangeEvent {
                    map: map.to_string(),
                    key: msg.k,
                    value: msg.v,
                });
            }
            true
        }
        PushKind::Invalidate => {
            match data.first() {
                Some(Value::Array(keys)) => {
                    for k in keys.iter().filter_map(text) {
                        inner.near.invalidate_map(&k);
                    }
                }
                _ => inner.near.clear_all(), // FLUSHALL / FLUSHDB
            }
            true
        }
        PushKind::Disconnection => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_slots() {
        let node = |h: &str, p: i64| {
            Value::Array(vec![
                Value::BulkString(h.as_bytes().to_vec()),
                Value::Int(p),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let v = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("127.0.0.1", 7001),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(10922),
                node("127.0.0.1", 7000),
            ]),
            Value::Array(vec![
                Value::Int(10923),
                Value::Int(16383),
                node("127.0.0.1", 7001),
            ]),
        ]);
        assert_eq!(
            masters(&v),
            vec![
                ("127.0.0.1".to_string(), 7000),
                ("127.0.0.1".to_string(), 7001)
            ]
        );
    }
}
