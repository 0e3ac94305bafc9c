//! The JSON text of the values the services write on every bar (SPEC §8: heartbeats every
//! 10 s of event time, the watchdog every 60 s — with 1-minute bars both fall on every bar):
//! the posture-trace line `{"ts_ms", <SensorReadings>}` and the numbers of the heartbeat and
//! the latest scan (crate::typed_values).
//!
//! Written by hand into reused buffers, byte for byte what `serde_json` writes for the same
//! values (the tests below compare the two over random values): a generic map serializer
//! escapes every key and walks a state machine per field, which cost more than the engine's
//! whole step for every bar. Numbers use the formatters `serde_json` itself uses (`zmij` for
//! floats, `itoa` for integers).

use dolphin_engine::McStatus;
use dolphin_risk::SensorReadings;

/// A JSON number as `serde_json` writes an `f64` (shortest round-trip digits), or `null`
/// for NaN and ±∞.
#[inline]
pub fn push_f64(s: &mut String, v: f64) {
    if v.is_finite() {
        s.push_str(zmij::Buffer::new().format_finite(v));
    } else {
        s.push_str("null");
    }
}

/// An integer as `serde_json` writes it.
#[inline]
pub fn push_int<I: itoa::Integer>(s: &mut String, v: I) {
    s.push_str(itoa::Buffer::new().format(v));
}

/// `mc_status` as serialized (`#[serde(rename_all = "UPPERCASE")]`).
fn mc_status_text(m: McStatus) -> &'static str {
    match m {
        McStatus::Ok => "\"OK\"",
        McStatus::Orange => "\"ORANGE\"",
        McStatus::Red => "\"RED\"",
    }
}

fn push_bool(s: &mut String, b: bool) {
    s.push_str(if b { "true" } else { "false" });
}

/// The text of the last `f64` written through it: a number that did not change (a sensor that
/// stays put from one evaluation to the next) is not formatted again.
#[derive(Debug, Clone, Default)]
pub struct CachedF64 {
    bits: u64,
    text: String,
}

impl CachedF64 {
    /// Appends `v` as [`push_f64`] writes it.
    #[inline]
    pub fn push(&mut self, s: &mut String, v: f64) {
        if self.text.is_empty() || self.bits != v.to_bits() {
            self.bits = v.to_bits();
            self.text.clear();
            push_f64(&mut self.text, v);
        }
        s.push_str(&self.text);
    }
}

/// The number texts of the last posture-trace line ([`trace_line`]), one per float field.
#[derive(Debug, Clone, Default)]
pub struct TraceNumbers {
    age: CachedF64,
    staleness: CachedF64,
    depth: CachedF64,
    fill: CachedF64,
    since: CachedF64,
    drawdown: CachedF64,
    /// The readings of the last line (bit for bit) and its text after `ts_ms`.
    last: Option<SensorReadings>,
    tail: String,
}

/// The same readings bit for bit (`-0.0` and `0.0` differ in text; NaN is never the same).
fn same_bits(a: &SensorReadings, b: &SensorReadings) -> bool {
    let f = |x: f64, y: f64| x.to_bits() == y.to_bits() && !x.is_nan();
    a.hz_nodes == b.hz_nodes
        && f(a.heartbeat_age_s, b.heartbeat_age_s)
        && a.mc_status == b.mc_status
        && f(a.staleness_hours, b.staleness_hours)
        && a.ob_stale == b.ob_stale
        && f(a.depth_quality, b.depth_quality)
        && f(a.fill_prob, b.fill_prob)
        && a.dvol_spike == b.dvol_spike
        && match (a.t_since_spike_min, b.t_since_spike_min) {
            (None, None) => true,
            (Some(x), Some(y)) => f(x, y),
            _ => false,
        }
        && f(a.drawdown, b.drawdown)
}

/// One posture-trace line (without the newline): the text of
/// `serde_json::to_string(&TraceLine { ts_ms, readings })`; `n` keeps the numbers' texts from
/// one line to the next.
pub fn trace_line(s: &mut String, ts_ms: i64, r: &SensorReadings, n: &mut TraceNumbers) {
    s.push_str("{\"ts_ms\":");
    push_int(s, ts_ms);
    // Readings that did not change since the last line (most minutes without a position)
    // keep their text.
    if !n.last.is_some_and(|l| same_bits(&l, r)) {
        let mut tail = std::mem::take(&mut n.tail);
        tail.clear();
        trace_tail(&mut tail, r, n);
        n.tail = tail;
        n.last = Some(*r);
    }
    s.push_str(&n.tail);
}

/// The text of `r` after `ts_ms`.
fn trace_tail(s: &mut String, r: &SensorReadings, n: &mut TraceNumbers) {
    s.push_str(",\"hz_nodes\":");
    push_int(s, r.hz_nodes);
    s.push_str(",\"heartbeat_age_s\":");
    n.age.push(s, r.heartbeat_age_s);
    s.push_str(",\"mc_status\":");
    s.push_str(mc_status_text(r.mc_status));
    s.push_str(",\"staleness_hours\":");
    n.staleness.push(s, r.staleness_hours);
    s.push_str(",\"ob_stale\":");
    push_bool(s, r.ob_stale);
    s.push_str(",\"depth_quality\":");
    n.depth.push(s, r.depth_quality);
    s.push_str(",\"fill_prob\":");
    n.fill.push(s, r.fill_prob);
    s.push_str(",\"dvol_spike\":");
    push_bool(s, r.dvol_spike);
    s.push_str(",\"t_since_spike_min\":");
    match r.t_since_spike_min {
        Some(v) => n.since.push(s, v),
        None => s.push_str("null"),
    }
    s.push_str(",\"drawdown\":");
    n.drawdown.push(s, r.drawdown);
    s.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::TraceLine;
    use proptest::prelude::*;

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e7..1e7f64,
            0.0..1.0f64,
            Just(0.0),
            Just(-0.0),
            Just(1e9),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e16),
            Just(1.5e-7),
        ]
    }

    fn any_mc() -> impl Strategy<Value = McStatus> {
        prop_oneof![
            Just(McStatus::Ok),
            Just(McStatus::Orange),
            Just(McStatus::Red)
        ]
    }

    proptest! {
        #[test]
        fn trace_line_is_what_serde_json_writes(
            ts_ms in any::<i64>(), hz in any::<u32>(), age in any_f64(), mc in any_mc(),
            stale in any_f64(), ob in any::<bool>(), dq in any_f64(), fp in any_f64(),
            spike in any::<bool>(), since in proptest::option::of(any_f64()), dd in any_f64(),
        ) {
            let readings = SensorReadings {
                hz_nodes: hz, heartbeat_age_s: age, mc_status: mc, staleness_hours: stale,
                ob_stale: ob, depth_quality: dq, fill_prob: fp, dvol_spike: spike,
                t_since_spike_min: since, drawdown: dd,
            };
            let want = serde_json::to_string(&TraceLine { ts_ms, readings }).unwrap();
            // A fresh cache, a cache holding the same numbers, one holding other numbers.
            let mut n = TraceNumbers::default();
            for _ in 0..2 {
                let mut s = String::new();
                trace_line(&mut s, ts_ms, &readings, &mut n);
                prop_assert_eq!(&s, &want);
            }
            let mut n = TraceNumbers::default();
            let other = SensorReadings { heartbeat_age_s: 1.5, staleness_hours: 2.5, depth_quality: 0.25,
                fill_prob: 0.75, t_since_spike_min: Some(3.0), drawdown: 0.125, ..readings };
            trace_line(&mut String::new(), ts_ms, &other, &mut n);
            let mut s = String::new();
            trace_line(&mut s, ts_ms, &readings, &mut n);
            prop_assert_eq!(&s, &want);
        }

        #[test]
        fn numbers_are_what_serde_json_writes(v in any_f64(), i in any::<i64>()) {
            let mut s = String::new();
            push_f64(&mut s, v);
            prop_assert_eq!(&s, &serde_json::to_string(&v).unwrap());
            if v.is_finite() {
                prop_assert_eq!(serde_json::from_str::<f64>(&s).unwrap().to_bits(), v.to_bits());
            }
            let mut s = String::new();
            push_int(&mut s, i);
            prop_assert_eq!(s, serde_json::to_string(&i).unwrap());
        }
    }

    #[test]
    fn worked_examples() {
        let mut s = String::new();
        trace_line(
            &mut s,
            1_746_316_800_000,
            &SensorReadings::default(),
            &mut TraceNumbers::default(),
        );
        assert_eq!(
            s,
            r#"{"ts_ms":1746316800000,"hz_nodes":1,"heartbeat_age_s":0.0,"mc_status":"OK","staleness_hours":0.0,"ob_stale":false,"depth_quality":1.0,"fill_prob":1.0,"dvol_spike":false,"t_since_spike_min":null,"drawdown":0.0}"#
        );
    }
}
