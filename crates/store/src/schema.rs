//! The map names, keys and JSON values of S §10 (Hazelcast IMap schema), kept exactly so that
//! other tools reading the maps keep working (SPEC §3 "Store"). Unknown fields are kept in
//! `extra` so that a read-modify-write never loses a writer's additions.

use crate::error::StoreError;
use crate::memory::SystemMemory;
use dolphin_core::Posture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Map of the survival-stack posture (S §10, B §14.4); key [`KEY_LATEST`].
pub const DOLPHIN_SAFETY: &str = "DOLPHIN_SAFETY";
/// Map of ACB boost and the live eigen scan (S §10).
pub const DOLPHIN_FEATURES: &str = "DOLPHIN_FEATURES";
/// Per-date results of the blue (SHORT) system, key `YYYY-MM-DD` (S §10, B §14.5).
pub const DOLPHIN_PNL_BLUE: &str = "DOLPHIN_PNL_BLUE";
/// Per-date results of the green (LONG) system, key `YYYY-MM-DD` (B §2).
pub const DOLPHIN_PNL_GREEN: &str = "DOLPHIN_PNL_GREEN";
/// Capital continuity of the blue system (S §10, S §17.6).
pub const DOLPHIN_STATE_BLUE: &str = "DOLPHIN_STATE_BLUE";
/// Heartbeats of flows and services (S §10).
pub const DOLPHIN_HEARTBEAT: &str = "DOLPHIN_HEARTBEAT";

/// Key `latest` (DOLPHIN_SAFETY, DOLPHIN_STATE_BLUE).
pub const KEY_LATEST: &str = "latest";
/// Key `acb_boost` in DOLPHIN_FEATURES (B §16.1).
pub const KEY_ACB_BOOST: &str = "acb_boost";
/// Key `latest_eigen_scan` in DOLPHIN_FEATURES (S §10).
pub const KEY_LATEST_EIGEN_SCAN: &str = "latest_eigen_scan";
/// Key `latest_nautilus` in DOLPHIN_STATE_BLUE (S §10).
pub const KEY_LATEST_NAUTILUS: &str = "latest_nautilus";
/// Key of the Nautilus flow's heartbeat in DOLPHIN_HEARTBEAT (S §10).
pub const KEY_NAUTILUS_FLOW_HEARTBEAT: &str = "nautilus_flow_heartbeat";
/// Name of the posture compare-and-set cell (B §14.4 CP AtomicReference `DOLPHIN_SAFETY`).
pub const POSTURE_CELL: &str = DOLPHIN_SAFETY;

/// Extra JSON fields kept as they were.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// `DOLPHIN_SAFETY["latest"]`: `{posture, Rm, ...}` (S §10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyValue {
    pub posture: Posture,
    #[serde(rename = "Rm")]
    pub rm: f64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DOLPHIN_FEATURES["acb_boost"]`: `{boost, beta}` (S §10, B §16.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcbBoostValue {
    pub boost: f64,
    pub beta: f64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DOLPHIN_FEATURES["latest_eigen_scan"]`: `{vel_div, scan_number, asset_prices, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenScanValue {
    /// NaN (scanner warm-up) is written as JSON `null` and read back as NaN.
    #[serde(with = "nan_as_null")]
    pub vel_div: f64,
    pub scan_number: i64,
    pub asset_prices: BTreeMap<String, f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Serde for an `f64` that may be undefined: non-finite ↔ JSON `null` (JSON has no NaN).
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite value as a number, anything else as `null`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// `DOLPHIN_PNL_BLUE/GREEN["YYYY-MM-DD"]`: `{date, pnl, capital, boost, beta, mc_status,
/// trades}` (B §14.5), plus `stale_state` when set (S §5.3 ⑧).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyResultValue {
    pub date: String,
    pub pnl: f64,
    pub capital: f64,
    pub boost: f64,
    pub beta: f64,
    pub mc_status: String,
    pub trades: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_state: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DOLPHIN_STATE_BLUE["latest"]`: `{capital, date, pnl, ...}` (S §10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateValue {
    pub capital: f64,
    pub date: String,
    pub pnl: f64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DOLPHIN_STATE_BLUE["latest_nautilus"]`: `{capital, param_hash, ...}` (S §10, §17.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NautilusStateValue {
    pub capital: f64,
    pub param_hash: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `DOLPHIN_HEARTBEAT[...]`: `{ts, phase, ...}` (S §10); `ts` in Unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatValue {
    pub ts: f64,
    pub phase: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Encodes `value` as JSON for `map[key]`.
pub fn to_json<T: Serialize>(map: &str, key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        map: map.to_string(),
        key: key.to_string(),
        type_name: std::any::type_name::<T>(),
        source,
    })
}

/// Decodes the JSON stored at `map[key]`; an error names the map, the key and the path of the
/// field that could not be read (issue 14: a store value is an input like any other).
pub fn from_json<T: DeserializeOwned>(map: &str, key: &str, json: &str) -> Result<T, StoreError> {
    let decode_error = |field: String, source| StoreError::Decode {
        map: map.to_string(),
        key: key.to_string(),
        field,
        type_name: std::any::type_name::<T>(),
        source,
    };
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| decode_error(e.path().to_string(), e.into_inner()))?;
    // Trailing characters after the value, as `serde_json::from_str` checks.
    de.end().map_err(|e| decode_error(".".into(), e))?;
    Ok(value)
}

/// Writes a typed value as JSON (S §10 values).
pub fn put_json<M: SystemMemory + ?Sized, T: Serialize>(
    mem: &M,
    map: &str,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    mem.put(map, key, &to_json(map, key, value)?)
}

/// Reads a typed value; `None` when absent.
pub fn get_json<M: SystemMemory + ?Sized, T: DeserializeOwned>(
    mem: &M,
    map: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    mem.get(map, key)?
        .map(|s| from_json(map, key, &s))
        .transpose()
}

/// Reads the posture as B §14.4 prescribes: the CAS cell first (linearizable), the
/// `DOLPHIN_SAFETY["latest"]` map entry as fallback; `None` if neither is set.
pub fn read_safety<M: SystemMemory + ?Sized>(mem: &M) -> Result<Option<SafetyValue>, StoreError> {
    if let Some(s) = mem.cell_get(POSTURE_CELL)? {
        return from_json(POSTURE_CELL, "<cell>", &s).map(Some);
    }
    get_json(mem, DOLPHIN_SAFETY, KEY_LATEST)
}

/// The JSON text of a posture value, as [`to_json`] writes it. The watchdog writes one most
/// minutes of event time; without extra fields the text is put together directly instead of
/// through a flattening map serializer.
pub fn safety_json(v: &SafetyValue) -> Result<String, StoreError> {
    let mut s = String::with_capacity(48);
    safety_json_into(&mut s, v)?;
    Ok(s)
}

/// [`safety_json`] into `s` (cleared first; its buffer is reused).
pub fn safety_json_into(s: &mut String, v: &SafetyValue) -> Result<(), StoreError> {
    if !v.extra.is_empty() {
        s.clear();
        s.push_str(&to_json(DOLPHIN_SAFETY, KEY_LATEST, v)?);
        return Ok(());
    }
    posture_json_into(s, v.posture, v.rm);
    Ok(())
}

/// The text of a [`SafetyValue`] without extra fields, from its two fields (no value to
/// build and drop: the watchdog writes one most minutes) into `s` (cleared first).
pub fn posture_json_into(s: &mut String, posture: Posture, rm: f64) {
    s.clear();
    let posture = match posture {
        Posture::Apex => "APEX",
        Posture::Stalker => "STALKER",
        Posture::Turtle => "TURTLE",
        Posture::Hibernate => "HIBERNATE",
    };
    s.push_str("{\"posture\":\"");
    s.push_str(posture);
    s.push_str("\",\"Rm\":");
    if rm.is_finite() {
        // The formatter serde_json itself uses for an f64.
        s.push_str(zmij::Buffer::new().format_finite(rm));
    } else {
        s.push_str("null");
    }
    s.push('}');
}

/// Publishes a new posture (B §16.3): compare-and-set on the cell against `expected` (the
/// value the watchdog last read), then mirrors it to `DOLPHIN_SAFETY["latest"]` for readers of
/// the map. Returns `false` (and writes nothing) when another writer changed the cell first.
pub fn write_safety<M: SystemMemory + ?Sized>(
    mem: &M,
    expected: Option<&SafetyValue>,
    new: &SafetyValue,
) -> Result<bool, StoreError> {
    let exp = expected.map(safety_json).transpose()?;
    write_safety_json(mem, exp.as_deref(), &safety_json(new)?)
}

/// [`write_safety`] with both values already as text: `expected` is the cell's text as last
/// read (`None` = absent).
pub fn write_safety_json<M: SystemMemory + ?Sized>(
    mem: &M,
    expected: Option<&str>,
    json: &str,
) -> Result<bool, StoreError> {
    if !mem.compare_and_set(POSTURE_CELL, expected, json)? {
        return Ok(false);
    }
    mem.put(DOLPHIN_SAFETY, KEY_LATEST, json)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_json_is_what_serde_json_writes() {
        for posture in [
            Posture::Apex,
            Posture::Stalker,
            Posture::Turtle,
            Posture::Hibernate,
        ] {
            for rm in [0.0, 1.0, 0.8765432109876543, 1e-7, f64::NAN] {
                let v = SafetyValue {
                    posture,
                    rm,
                    extra: Extra::new(),
                };
                assert_eq!(safety_json(&v).unwrap(), serde_json::to_string(&v).unwrap());
                let mut with_extra = v.clone();
                with_extra
                    .extra
                    .insert("source".into(), serde_json::json!("watchdog"));
                assert_eq!(
                    safety_json(&with_extra).unwrap(),
                    serde_json::to_string(&with_extra).unwrap()
                );
            }
        }
        let v = SafetyValue {
            posture: Posture::Turtle,
            rm: 0.5,
            extra: Extra::new(),
        };
        assert_eq!(safety_json(&v).unwrap(), r#"{"posture":"TURTLE","Rm":0.5}"#);
    }

    #[test]
    fn eigen_scan_vel_div_nan_is_null() {
        let v = EigenScanValue {
            vel_div: f64::NAN,
            scan_number: 7,
            asset_prices: BTreeMap::from([("BTCUSDT".to_string(), 61800.2)]),
            extra: Extra::new(),
        };
        let j = serde_json::to_string(&v).unwrap();
        assert_eq!(
            j,
            r#"{"vel_div":null,"scan_number":7,"asset_prices":{"BTCUSDT":61800.2}}"#
        );
        let back: EigenScanValue = serde_json::from_str(&j).unwrap();
        assert!(back.vel_div.is_nan());
        let f: EigenScanValue =
            serde_json::from_str(r#"{"vel_div":-0.0231,"scan_number":8,"asset_prices":{}}"#)
                .unwrap();
        assert_eq!(f.vel_div, -0.0231);
        assert!(
            serde_json::from_str::<EigenScanValue>(
                r#"{"vel_div":"x","scan_number":1,"asset_prices":{}}"#
            )
            .is_err()
        );
    }

    /// Issue 14 item 1, store values: every S §10 value that cannot be read is an error
    /// naming the map, the key and the field (reader: `get_json`, `read_safety`).
    #[test]
    fn corrupt_values_name_map_key_and_field() {
        use crate::EmbeddedMemory;
        let mem = EmbeddedMemory::new();
        let err = |map: &str, key: &str, json: &str| -> String {
            mem.put(map, key, json).unwrap();
            let e = match map {
                DOLPHIN_SAFETY => get_json::<_, SafetyValue>(&mem, map, key).map(|_| ()),
                DOLPHIN_FEATURES if key == KEY_ACB_BOOST => {
                    get_json::<_, AcbBoostValue>(&mem, map, key).map(|_| ())
                }
                DOLPHIN_FEATURES => get_json::<_, EigenScanValue>(&mem, map, key).map(|_| ()),
                DOLPHIN_PNL_BLUE => get_json::<_, DailyResultValue>(&mem, map, key).map(|_| ()),
                DOLPHIN_STATE_BLUE if key == KEY_LATEST => {
                    get_json::<_, StateValue>(&mem, map, key).map(|_| ())
                }
                DOLPHIN_STATE_BLUE => get_json::<_, NautilusStateValue>(&mem, map, key).map(|_| ()),
                _ => get_json::<_, HeartbeatValue>(&mem, map, key).map(|_| ()),
            };
            let e = e.unwrap_err();
            assert!(matches!(e, StoreError::Decode { .. }), "{e:?}");
            e.to_string()
        };
        let cases: [(&str, &str, &str, &str); 10] = [
            (
                DOLPHIN_SAFETY,
                KEY_LATEST,
                r#"{"posture":"SLEEPY","Rm":1}"#,
                "field `posture`",
            ),
            (
                DOLPHIN_SAFETY,
                KEY_LATEST,
                r#"{"posture":"APEX"}"#,
                "missing field `Rm`",
            ),
            (
                DOLPHIN_FEATURES,
                KEY_ACB_BOOST,
                r#"{"boost":"1.2","beta":0.5}"#,
                "field `boost`",
            ),
            (
                DOLPHIN_FEATURES,
                KEY_LATEST_EIGEN_SCAN,
                r#"{"vel_div":-0.02,"scan_number":3,"asset_prices":{"BTCUSDT":"x"}}"#,
                "field `asset_prices.BTCUSDT`",
            ),
            (
                DOLPHIN_FEATURES,
                KEY_LATEST_EIGEN_SCAN,
                r#"{"vel_div":-0.02,"scan_number":3.5,"asset_prices":{}}"#,
                "field `scan_number`",
            ),
            (
                DOLPHIN_PNL_BLUE,
                "2026-01-02",
                r#"{"date":"2026-01-02","pnl":1,"capital":2,"boost":1,"beta":0,"mc_status":"OK","trades":-1}"#,
                "field `trades`",
            ),
            (
                DOLPHIN_STATE_BLUE,
                KEY_LATEST,
                r#"{"capital":1,"date":"d","pnl":1} x"#,
                "trailing",
            ),
            (
                DOLPHIN_STATE_BLUE,
                KEY_LATEST_NAUTILUS,
                r#"{"capital":1,"param_hash":7}"#,
                "field `param_hash`",
            ),
            (DOLPHIN_HEARTBEAT, "trader", "", "EOF"),
            (
                DOLPHIN_HEARTBEAT,
                "trader",
                r#"{"ts":1.5,"phase":"run""#,
                "EOF",
            ),
        ];
        for (map, key, json, what) in cases {
            let msg = err(map, key, json);
            assert!(
                msg.contains(&format!("map `{map}` key `{key}`")) && msg.contains(what),
                "{json}: {msg}"
            );
        }
        // The posture cell is read the same way (B §14.4).
        mem.compare_and_set(POSTURE_CELL, None, r#"{"posture":"APEX","Rm":"high"}"#)
            .unwrap();
        let msg = read_safety(&mem).unwrap_err().to_string();
        assert!(
            msg.contains("map `DOLPHIN_SAFETY` key `<cell>` field `Rm`"),
            "{msg}"
        );
    }

    #[test]
    fn values_keep_python_field_names() {
        let s: SafetyValue =
            serde_json::from_str(r#"{"posture":"STALKER","Rm":0.8,"sensors":[1,2]}"#).unwrap();
        assert_eq!(s.posture, Posture::Stalker);
        assert_eq!(s.rm, 0.8);
        assert_eq!(s.extra["sensors"], serde_json::json!([1, 2]));
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"posture":"STALKER","Rm":0.8,"sensors":[1,2]})
        );

        let a: AcbBoostValue = serde_json::from_str(r#"{"boost":1.35,"beta":0.8}"#).unwrap();
        assert_eq!((a.boost, a.beta), (1.35, 0.8));

        let r = DailyResultValue {
            date: "2026-01-02".into(),
            pnl: 12.5,
            capital: 25_012.5,
            boost: 1.0,
            beta: 0.2,
            mc_status: "OK".into(),
            trades: 3,
            stale_state: None,
            extra: Extra::new(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"date":"2026-01-02","pnl":12.5,"capital":25012.5,"boost":1.0,"beta":0.2,"mc_status":"OK","trades":3}"#
        );
        let bad = from_json::<AcbBoostValue>(DOLPHIN_FEATURES, KEY_ACB_BOOST, r#"{"boost":1}"#);
        let msg = bad.unwrap_err().to_string();
        assert!(
            msg.contains("DOLPHIN_FEATURES") && msg.contains("acb_boost") && msg.contains("beta"),
            "{msg}"
        );
    }
}
