//! The values the services write on every bar, as typed store values (`dolphin_store::typed`;
//! docs/SERVICES.md "Speed"): the heartbeat `{ts, phase, service, pid}` (S §10, SPEC §8) and
//! the latest scan `{vel_div, scan_number, timestamp, asset_prices}` (S §10). An embedded store
//! keeps them as they are and the watchdog reads them without any text; their JSON text —
//! byte for byte what the services wrote as text before (the tests compare it with
//! `serde_json`'s) — is rendered for text readers (the API, Redis).

use crate::json_text::{push_f64, push_int};
use dolphin_store::TypedValue;
use std::any::Any;
use std::sync::Arc;

/// A heartbeat (`crate::supervisor::Heartbeat` as the supervisor writes it).
#[derive(Debug, Clone, PartialEq)]
pub struct BeatValue {
    /// Event time, ms; the JSON `ts` is this in seconds as an `f64`.
    pub ts_ms: i64,
    pub phase: &'static str,
    pub service: &'static str,
    pub pid: u32,
}

impl BeatValue {
    /// `ts` as the JSON value reads back (`ts_ms / 1000` as an `f64`).
    pub fn ts(&self) -> f64 {
        self.ts_ms as f64 / 1000.0
    }
}

impl TypedValue for BeatValue {
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"ts\":");
        push_f64(out, self.ts());
        out.push_str(",\"phase\":");
        push_json_str(out, self.phase);
        out.push_str(",\"service\":");
        push_json_str(out, self.service);
        out.push_str(",\"pid\":");
        push_int(out, self.pid);
        out.push('}');
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn TypedValue> {
        Box::new(self.clone())
    }
    fn assign(&mut self, other: &dyn TypedValue) -> bool {
        let Some(o) = other.as_any().downcast_ref::<Self>() else {
            return false;
        };
        self.ts_ms = o.ts_ms;
        self.phase = o.phase;
        self.service = o.service;
        self.pid = o.pid;
        true
    }
}

/// `DOLPHIN_FEATURES["latest_eigen_scan"]` as the trader publishes it: the prices of the row
/// in the day's asset order; only finite positive prices are written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanValue {
    pub vel_div: f64,
    pub scan_number: i64,
    pub timestamp: i64,
    /// The day's asset columns (shared by every scan of the day).
    pub assets: Arc<[String]>,
    pub prices: Vec<f64>,
}

impl ScanValue {
    /// The price of `asset` as the JSON text has it: `None` when the scan has no finite
    /// positive price for it.
    pub fn price(&self, asset: &str) -> Option<f64> {
        self.assets
            .iter()
            .zip(&self.prices)
            .find(|(a, p)| a.as_str() == asset && written(**p))
            .map(|(_, p)| *p)
    }
}

fn written(p: f64) -> bool {
    p.is_finite() && p > 0.0
}

impl TypedValue for ScanValue {
    fn write_json(&self, s: &mut String) {
        s.push_str("{\"vel_div\":");
        push_f64(s, self.vel_div);
        s.push_str(",\"scan_number\":");
        push_int(s, self.scan_number);
        s.push_str(",\"timestamp\":");
        push_int(s, self.timestamp);
        s.push_str(",\"asset_prices\":{");
        let mut first = true;
        for (a, p) in self.assets.iter().zip(&self.prices) {
            if written(*p) {
                if !first {
                    s.push(',');
                }
                first = false;
                s.push('"');
                s.push_str(a);
                s.push_str("\":");
                push_f64(s, *p);
            }
        }
        s.push_str("}}");
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn TypedValue> {
        Box::new(self.clone())
    }
    fn assign(&mut self, other: &dyn TypedValue) -> bool {
        let Some(o) = other.as_any().downcast_ref::<Self>() else {
            return false;
        };
        self.vel_div = o.vel_div;
        self.scan_number = o.scan_number;
        self.timestamp = o.timestamp;
        if !Arc::ptr_eq(&self.assets, &o.assets) {
            self.assets = o.assets.clone();
        }
        self.prices.clear();
        self.prices.extend_from_slice(&o.prices);
        true
    }
}

/// A JSON string (names and phases are short: `serde_json` escapes them).
fn push_json_str(s: &mut String, v: &str) {
    if v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        s.push_str(&serde_json::to_string(v).expect("a str serializes"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dolphin_store::typed::json_of;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn any_price() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            0.0..1e6f64,
            Just(0.0),
            Just(-1.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(3.5e-7),
        ]
    }

    proptest! {
        #[test]
        fn heartbeat_is_what_serde_json_writes(t in 0i64..4_000_000_000_000, pid in any::<u32>(),
                                               phase in "[a-z]{1,8}|.{0,4}") {
            let phase: &'static str = Box::leak(phase.into_boxed_str());
            let v = BeatValue { ts_ms: t, phase, service: "watchdog", pid };
            let hb = crate::supervisor::Heartbeat {
                ts: t as f64 / 1000.0,
                phase: phase.into(),
                service: "watchdog".into(),
                pid,
            };
            let text = json_of(&v);
            prop_assert_eq!(&text, &serde_json::to_string(&hb).unwrap());
            let back: crate::supervisor::Heartbeat = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.ts.to_bits(), v.ts().to_bits());
        }

        #[test]
        fn scan_is_what_serde_json_writes(
            vel_div in any_price(), scan_number in any::<i64>(), timestamp in any::<i64>(),
            prices in proptest::collection::vec(any_price(), 0..6),
        ) {
            let assets: Arc<[String]> =
                (0..prices.len()).map(|i| format!("A{i}USDT")).collect::<Vec<_>>().into();
            let v = ScanValue { vel_div, scan_number, timestamp, assets: assets.clone(), prices: prices.clone() };
            let map: BTreeMap<&str, f64> = assets
                .iter()
                .zip(&prices)
                .filter(|(_, p)| p.is_finite() && **p > 0.0)
                .map(|(a, p)| (a.as_str(), *p))
                .collect();
            // serde_json's own text of the same value (its map keeps insertion order here:
            // the names sort as they are numbered).
            let want = format!(
                "{{\"vel_div\":{},\"scan_number\":{},\"timestamp\":{},\"asset_prices\":{}}}",
                serde_json::to_string(&vel_div).unwrap(),
                scan_number,
                timestamp,
                serde_json::to_string(&map).unwrap()
            );
            let text = json_of(&v);
            prop_assert_eq!(&text, &want);
            for a in assets.iter() {
                // The typed reader answers what the text reader answers.
                let from_text = crate::sensor_parse::scan_price(&text, a).unwrap();
                prop_assert_eq!(v.price(a).map(f64::to_bits), from_text.map(f64::to_bits));
            }
            prop_assert_eq!(crate::sensor_parse::scan_timestamp(&text), Some(Some(timestamp)));
        }
    }

    #[test]
    fn assign_reuses_and_rejects_other_types() {
        let assets: Arc<[String]> = vec!["BTCUSDT".to_string()].into();
        let mut a = ScanValue {
            assets: assets.clone(),
            prices: vec![1.0],
            ..Default::default()
        };
        let b = ScanValue {
            vel_div: -0.5,
            scan_number: 9,
            timestamp: 60_000,
            assets,
            prices: vec![2.5],
        };
        assert!(a.assign(&b));
        assert_eq!(a, b);
        assert_eq!(a.price("BTCUSDT"), Some(2.5));
        assert_eq!(a.price("ETHUSDT"), None);
        let beat = BeatValue {
            ts_ms: 1_500,
            phase: "running",
            service: "acb",
            pid: 7,
        };
        assert!(!a.assign(&beat));
        assert_eq!(a, b);
        assert_eq!(
            json_of(&beat),
            r#"{"ts":1.5,"phase":"running","service":"acb","pid":7}"#
        );
    }
}
