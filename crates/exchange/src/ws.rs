//! Websocket market streams of the local exchange (Binance USD-M "websocket market streams"):
//! combined streams `/stream?streams=a/b/c` (messages wrapped `{"stream":..,"data":..}`),
//! raw streams `/ws/<stream>` and `/ws` (bare `data`), and the live subscription methods
//! `SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` (`{"method":..,"params":[..],"id":..}`
//! answered `{"result":..,"id":..}`).
//!
//! Stream names: `<symbol>@depth@0ms` (as recorded), `@depth@100ms`, `@depth@250ms`,
//! `@depth@500ms`, `@depth` (= 250 ms), `@bookTicker`, `@trade`, `@aggTrade`, `@markPrice`,
//! `@markPrice@1s`, `@kline_1m`. A client that falls more than the broadcast buffer behind is
//! disconnected, as Binance does with slow consumers.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::replay::Broadcast;
use crate::server::Shared;

/// The broadcast key of a stream name and whether it is served; `depth` means 250 ms.
pub fn stream_key(name: &str) -> Option<String> {
    let name = name.trim();
    let (sym, kind) = name.split_once('@')?;
    if sym.is_empty() || !sym.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let sym = sym.to_ascii_lowercase();
    let kind = match kind {
        "depth" => "depth@250ms",
        "depth@0ms" | "depth@100ms" | "depth@250ms" | "depth@500ms" | "bookTicker" | "trade"
        | "aggTrade" | "markPrice" | "markPrice@1s" | "kline_1m" => kind,
        _ => return None,
    };
    Some(format!("{sym}@{kind}"))
}

/// `/stream?streams=...`.
pub async fn combined(
    ws: WebSocketUpgrade,
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let names: Vec<String> = q
        .get("streams")
        .map(|v| v.split('/').map(str::to_string).collect())
        .unwrap_or_default();
    ws.on_upgrade(move |socket| connection(socket, s, names, true))
}

/// `/ws` (subscriptions by method only).
pub async fn raw(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, s, Vec::new(), false))
}

/// `/ws/<stream>`.
pub async fn raw_one(
    ws: WebSocketUpgrade,
    State(s): State<Arc<Shared>>,
    Path(stream): Path<String>,
) -> Response {
    ws.on_upgrade(move |socket| connection(socket, s, vec![stream], false))
}

/// Subscriptions of one connection: broadcast key → the name the client used. The keys are
/// counted in [`Shared::subscribers`] while the connection lives.
struct Subs {
    map: BTreeMap<String, String>,
    shared: Option<Arc<Shared>>,
}

impl Subs {
    fn new(shared: Option<Arc<Shared>>) -> Self {
        Subs {
            map: BTreeMap::new(),
            shared,
        }
    }

    fn add(&mut self, names: &[String]) -> Result<(), String> {
        for n in names {
            let k =
                stream_key(n).ok_or_else(|| format!("Invalid request: unknown stream {n:?}"))?;
            if let Some(s) = &self.shared
                && !self.map.contains_key(&k)
            {
                s.follow(&k, true);
            }
            self.map.insert(k, n.trim().to_string());
        }
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        if self.map.remove(key).is_some()
            && let Some(s) = &self.shared
        {
            s.follow(key, false);
        }
    }
}

impl Drop for Subs {
    fn drop(&mut self) {
        if let Some(s) = &self.shared {
            for k in self.map.keys() {
                s.follow(k, false);
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct Request {
    method: String,
    #[serde(default)]
    params: Vec<serde_json::Value>,
    id: serde_json::Value,
}

fn answer(subs: &mut Subs, text: &str) -> String {
    let req: Request = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            return serde_json::json!({"error": {"code": 3, "msg": format!("Invalid JSON: {e}")}, "id": null})
                .to_string();
        }
    };
    let names: Vec<String> = req
        .params
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    match req.method.as_str() {
        "SUBSCRIBE" => match subs.add(&names) {
            Ok(()) => serde_json::json!({"result": null, "id": req.id}).to_string(),
            Err(msg) => serde_json::json!({"error": {"code": 2, "msg": msg}, "id": req.id}).to_string(),
        },
        "UNSUBSCRIBE" => {
            for n in &names {
                if let Some(k) = stream_key(n) {
                    subs.remove(&k);
                }
            }
            serde_json::json!({"result": null, "id": req.id}).to_string()
        }
        "LIST_SUBSCRIPTIONS" => {
            let list: Vec<&String> = subs.map.values().collect();
            serde_json::json!({"result": list, "id": req.id}).to_string()
        }
        m => serde_json::json!({"error": {"code": 1, "msg": format!("Invalid request: unknown method {m:?}")}, "id": req.id})
            .to_string(),
    }
}

fn render(subs: &Subs, combined: bool, b: &Broadcast) -> Option<String> {
    let Broadcast::Msg(w) = b else { return None };
    let name = subs.map.get(&*w.stream)?;
    Some(if combined {
        let mut s = String::with_capacity(w.data.len() + name.len() + 24);
        s.push_str("{\"stream\":\"");
        s.push_str(name);
        s.push_str("\",\"data\":");
        s.push_str(&w.data);
        s.push('}');
        s
    } else {
        w.data.to_string()
    })
}

async fn connection(socket: WebSocket, s: Arc<Shared>, names: Vec<String>, combined: bool) {
    s.stats.connections.fetch_add(1, Ordering::Relaxed);
    let mut rx = s.tx.subscribe();
    let mut subs = Subs::new(Some(s.clone()));
    let (mut sink, mut stream) = socket.split();
    if let Err(msg) = subs.add(&names) {
        let body = serde_json::json!({"error": {"code": 2, "msg": msg}, "id": null}).to_string();
        let _ = sink.send(Message::Text(body.into())).await;
        let _ = sink.close().await;
        return;
    }
    if !subs.map.is_empty() {
        s.maybe_start();
    }
    loop {
        tokio::select! {
            m = rx.recv() => {
                let first = match m {
                    Ok(Broadcast::Disconnect) => return,
                    Ok(b) => b,
                    Err(RecvError::Lagged(n)) => {
                        s.stats.lagged_clients.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(missed = n, "exchange: slow websocket client disconnected");
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                let mut batch = vec![first];
                // Write what is queued in one flush.
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(b) => batch.push(b),
                        Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                        Err(TryRecvError::Lagged(n)) => {
                            s.stats.lagged_clients.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(missed = n, "exchange: slow websocket client disconnected");
                            return;
                        }
                    }
                }
                let mut n = 0u64;
                for b in &batch {
                    if matches!(b, Broadcast::Disconnect) {
                        let _ = sink.flush().await;
                        return;
                    }
                    if let Some(text) = render(&subs, combined, b) {
                        if sink.feed(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                        n += 1;
                    }
                }
                if n > 0 {
                    s.stats.sent.fetch_add(n, Ordering::Relaxed);
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
            }
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let reply = answer(&mut subs, t.as_str());
                    if !subs.map.is_empty() {
                        s.maybe_start();
                    }
                    if sink.send(Message::Text(reply.into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = s.shutdown.cancelled() => {
                let _ = sink.close().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names() {
        assert_eq!(
            stream_key("btcusdt@depth@0ms").unwrap(),
            "btcusdt@depth@0ms"
        );
        assert_eq!(stream_key("BTCUSDT@depth").unwrap(), "btcusdt@depth@250ms");
        assert_eq!(stream_key("ethusdt@kline_1m").unwrap(), "ethusdt@kline_1m");
        assert!(stream_key("btcusdt@depth@7ms").is_none());
        assert!(stream_key("btcusdt").is_none());
        assert!(stream_key("@trade").is_none());
    }

    #[test]
    fn subscription_methods() {
        let mut subs = Subs::new(None);
        let r = answer(
            &mut subs,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!((v["id"].as_i64(), v["result"].is_null()), (Some(1), true));
        let r = answer(&mut subs, r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#);
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(
            v["result"],
            serde_json::json!(["btcusdt@aggTrade", "btcusdt@depth"])
        );
        let r = answer(
            &mut subs,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@nope"],"id":3}"#,
        );
        assert!(r.contains("unknown stream"), "{r}");
        let r = answer(
            &mut subs,
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":4}"#,
        );
        assert!(r.contains("\"result\":null"));
        assert_eq!(subs.map.len(), 1);
        assert!(answer(&mut subs, "{bad").contains("Invalid JSON"));
    }
}
