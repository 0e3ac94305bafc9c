//! A service run under its timeout (S §11: every attempt under a timeout).

use crate::error::ServiceError;
use crate::service::{BoxFuture, BusEvent};
use std::time::Duration;

/// Awaits a service's run under its timeout (`tokio::time::timeout` semantics: a run that is
/// ready when polled is never a timeout). Most runs finish at their first poll: they get no
/// timer; one that does not is awaited up to the deadline taken before that poll.
pub(super) async fn run_with_timeout(
    mut fut: BoxFuture<'_, Result<Vec<BusEvent>, ServiceError>>,
    name: &'static str,
    timeout_ms: u64,
) -> Result<Vec<BusEvent>, ServiceError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(r) = first {
        return r;
    }
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(ServiceError::Timeout {
            service: name.into(),
            ms: timeout_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_runs_pass_and_stuck_runs_time_out() {
        let ready = run_with_timeout(
            Box::pin(async { Ok(vec![BusEvent::PositionChanged]) }),
            "x",
            10,
        )
        .await;
        assert_eq!(ready.unwrap(), vec![BusEvent::PositionChanged]);
        // Pending at the first poll, done within the deadline.
        let later = run_with_timeout(
            Box::pin(async {
                tokio::task::yield_now().await;
                Ok(Vec::new())
            }),
            "x",
            5_000,
        )
        .await;
        assert!(later.unwrap().is_empty());
        let started = std::time::Instant::now();
        let stuck = run_with_timeout(Box::pin(std::future::pending()), "stuck", 30).await;
        assert!(
            matches!(&stuck, Err(ServiceError::Timeout { service, ms: 30 }) if service == "stuck"),
            "{stuck:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
