//! Fault injection of the local exchange (issue 12 item 1): what a live client must survive.
//!
//! A fault list is comma-separated; times are seconds of **event time after the replay
//! start** (SPEC §8: one clock), so a run at any speed meets the same faults at the same
//! place in the data:
//!
//! | spec | effect |
//! |---|---|
//! | `disconnect@T` | every websocket connection is dropped (TCP closed, no close frame) at T |
//! | `gap@T` / `gap@T:SYMBOL` | the first depth update (of SYMBOL) at or after T is not sent: a sequence gap (`pu` ≠ previous `u`) |
//! | `stall@T+D` | from T for D seconds nothing is sent on any websocket (connections stay open; the messages are lost) |
//! | `rest-slow=MS` | every REST answer is delayed by MS milliseconds of wall time |
//! | `rest-fail=N` | the first N `/fapi/v1/depth` requests answer 503 (Binance `-1001`) |
//! | `rest-429=N` / `rest-418=N` | the first N `/fapi/v1/depth` requests answer 429 / 418 with `Retry-After` |
//! | `retry-after=S` | the `Retry-After` seconds of those answers (default 1) |

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ExchangeError;

/// One timed fault on the websocket streams.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamFault {
    Disconnect { at_ms: i64 },
    Gap { at_ms: i64, symbol: Option<String> },
    Stall { at_ms: i64, for_ms: i64 },
}

impl StreamFault {
    /// Event-time offset (ms after the replay start) at which the fault begins.
    pub fn at_ms(&self) -> i64 {
        match self {
            StreamFault::Disconnect { at_ms }
            | StreamFault::Gap { at_ms, .. }
            | StreamFault::Stall { at_ms, .. } => *at_ms,
        }
    }
}

/// The whole fault plan.
#[derive(Debug, Default)]
pub struct Faults {
    pub stream: Vec<StreamFault>,
    pub rest_slow_ms: u64,
    pub rest_fail: u64,
    pub rest_429: u64,
    pub rest_418: u64,
    pub retry_after_s: u64,
    /// Depth requests seen so far (decides which ones fail).
    depth_requests: AtomicU64,
}

/// What a `/fapi/v1/depth` request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestVerdict {
    Serve,
    Fail503,
    RateLimited429,
    Banned418,
}

fn seconds(s: &str, spec: &str) -> Result<i64, ExchangeError> {
    let v: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|_| ExchangeError::Faults {
            spec: spec.to_string(),
            reason: format!("{s:?} is not a number of seconds"),
        })?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(ExchangeError::Faults {
            spec: spec.to_string(),
            reason: format!("{s:?} must be ≥ 0"),
        });
    }
    Ok((v * 1000.0).round() as i64)
}

fn count(s: &str, spec: &str) -> Result<u64, ExchangeError> {
    s.trim_end_matches("ms")
        .parse()
        .map_err(|_| ExchangeError::Faults {
            spec: spec.to_string(),
            reason: format!("{s:?} is not a non-negative integer"),
        })
}

impl Faults {
    /// Parse a fault list (see the module docs); empty means no faults.
    pub fn parse(text: &str) -> Result<Faults, ExchangeError> {
        let mut f = Faults {
            retry_after_s: 1,
            ..Faults::default()
        };
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let err = |reason: &str| ExchangeError::Faults {
                spec: item.to_string(),
                reason: reason.to_string(),
            };
            if let Some((k, v)) = item.split_once('=') {
                let n = count(v, item)?;
                match k {
                    "rest-slow" => f.rest_slow_ms = n,
                    "rest-fail" => f.rest_fail = n,
                    "rest-429" => f.rest_429 = n,
                    "rest-418" => f.rest_418 = n,
                    "retry-after" => f.retry_after_s = n,
                    _ => return Err(err("unknown REST fault")),
                }
            } else if let Some((k, v)) = item.split_once('@') {
                match k {
                    "disconnect" => f.stream.push(StreamFault::Disconnect {
                        at_ms: seconds(v, item)?,
                    }),
                    "gap" => {
                        let (t, sym) = match v.split_once(':') {
                            Some((t, s)) => (t, Some(s.to_ascii_uppercase())),
                            None => (v, None),
                        };
                        f.stream.push(StreamFault::Gap {
                            at_ms: seconds(t, item)?,
                            symbol: sym,
                        });
                    }
                    "stall" => {
                        let (t, d) = v
                            .split_once('+')
                            .ok_or_else(|| err("stall needs @T+D (start + duration)"))?;
                        f.stream.push(StreamFault::Stall {
                            at_ms: seconds(t, item)?,
                            for_ms: seconds(d, item)?,
                        });
                    }
                    _ => return Err(err("unknown stream fault")),
                }
            } else {
                return Err(err("expected KIND@TIME or KIND=VALUE"));
            }
        }
        f.stream.sort_by_key(StreamFault::at_ms);
        Ok(f)
    }

    /// Decide the fate of the next depth request: the first `rest_429` are rate limited, then
    /// `rest_418` banned, then `rest_fail` fail; the rest are served.
    pub fn next_depth_request(&self) -> RestVerdict {
        let n = self.depth_requests.fetch_add(1, Ordering::SeqCst);
        let mut edge = self.rest_429;
        if n < edge {
            return RestVerdict::RateLimited429;
        }
        edge += self.rest_418;
        if n < edge {
            return RestVerdict::Banned418;
        }
        edge += self.rest_fail;
        if n < edge {
            return RestVerdict::Fail503;
        }
        RestVerdict::Serve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_orders_by_time() {
        let f = Faults::parse(
            "stall@30+5, disconnect@12.5s,gap@20:btcusdt,gap@21,rest-slow=250,rest-429=2,rest-418=1,rest-fail=1,retry-after=3",
        )
        .unwrap();
        assert_eq!(
            f.stream,
            vec![
                StreamFault::Disconnect { at_ms: 12_500 },
                StreamFault::Gap {
                    at_ms: 20_000,
                    symbol: Some("BTCUSDT".into())
                },
                StreamFault::Gap {
                    at_ms: 21_000,
                    symbol: None
                },
                StreamFault::Stall {
                    at_ms: 30_000,
                    for_ms: 5_000
                },
            ]
        );
        assert_eq!((f.rest_slow_ms, f.retry_after_s), (250, 3));
        let v: Vec<_> = (0..6).map(|_| f.next_depth_request()).collect();
        assert_eq!(
            v,
            vec![
                RestVerdict::RateLimited429,
                RestVerdict::RateLimited429,
                RestVerdict::Banned418,
                RestVerdict::Fail503,
                RestVerdict::Serve,
                RestVerdict::Serve
            ]
        );
    }

    #[test]
    fn bad_specs_are_named() {
        for (spec, needle) in [
            ("explode@3", "unknown stream fault"),
            ("stall@3", "stall needs"),
            ("gap@x", "not a number"),
            ("rest-429=-1", "non-negative"),
            ("nonsense", "expected KIND@TIME"),
        ] {
            let e = Faults::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(spec), "{spec}: {e}");
        }
        assert!(Faults::parse("").unwrap().stream.is_empty());
    }
}
