//! Live updates by Server-Sent Events (`GET /api/v1/events`): an `update` event with the
//! current status, position, health and recent trades on connect and whenever the snapshot
//! changes; keep-alive comments in between. The stream ends when the server stops.

use crate::routes::AppState;
use crate::snapshot::Snapshot;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

fn event(s: &Snapshot) -> Event {
    Event::default()
        .event("update")
        .id(s.version.to_string())
        .data(String::from_utf8_lossy(&s.bodies.update))
}

pub async fn events(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.snapshot.clone();
    let stop = s.stopping.clone();
    let st = stream::unfold((rx, stop, true), |(mut rx, mut stop, first)| async move {
        if first {
            let snap: Arc<Snapshot> = rx.borrow_and_update().clone();
            return Some((Ok(event(&snap)), (rx, stop, false)));
        }
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            r = rx.changed() => {
                r.ok()?;
                let snap: Arc<Snapshot> = rx.borrow_and_update().clone();
                Some((Ok(event(&snap)), (rx, stop, false)))
            }
            _ = stop.changed() => None,
        }
    });
    Sse::new(st).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}
