//! A trial: one configuration of a sweep (issue 17 item 1). The engine parameters
//! ([`EngineConfig`], seeds B §18.1) and the ACBv6 settings (B §10, §18.2) form one serde tree;
//! a sweep names a parameter by its dotted path into that tree (`engine.fixed_tp_pct`,
//! `acb.params.beta_high`, `acb.threshold`) and overrides it. Unknown paths and values of the
//! wrong type are refused with the path named. A trial's identity is the SHA-256 of its
//! canonical JSON ([`TrialConfig::hash`]), which makes results idempotent and resumable.

use crate::causal_acb::ThresholdMode;
use crate::error::ResearchError;
use dolphin_engine::EngineConfig;
use dolphin_risk::AcbConfig;
use dolphin_runtime::SystemConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// ACBv6 in a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcbSettings {
    /// ACBv6 on (needs the w750 of the day files; boost also needs indicator tables).
    pub enabled: bool,
    /// The w750 p60 threshold: over all loaded dates (SPEC §3, the champion's backtest) or
    /// expanding over the dates seen so far (causal; `docs/RESEARCH.md`).
    pub threshold: ThresholdMode,
    /// Expanding mode: dates with a known w750 needed before beta is switched on.
    pub min_dates: usize,
    /// Sub-day ACB updates (B §16.1, SPEC §8): the boost is recomputed at each BTCUSDT
    /// funding settlement during the day (the newest settlement replaces `funding_btc`) and
    /// reaches the engine through `update_acb_boost`, where the sub-day exit rule may fire.
    pub subday_funding: bool,
    /// ACBv6 thresholds (B §18.2).
    pub params: AcbConfig,
}

impl Default for AcbSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: ThresholdMode::AllDates,
            min_dates: 1,
            subday_funding: false,
            params: AcbConfig::default(),
        }
    }
}

/// One configuration of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialConfig {
    pub engine: EngineConfig,
    #[serde(default)]
    pub acb: AcbSettings,
}

impl TrialConfig {
    /// A trial from a system configuration; ACB off.
    pub fn from_system(cfg: &SystemConfig) -> Self {
        Self {
            engine: cfg.engine.clone(),
            acb: AcbSettings::default(),
        }
    }

    /// Canonical JSON (struct field order, shortest round-trip floats).
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("a trial config serialises")
    }

    /// The first 16 hex digits of SHA-256 of [`Self::canonical_json`].
    pub fn hash(&self) -> String {
        let d = Sha256::digest(self.canonical_json().as_bytes());
        d.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The serde tree with every parameter in it: the canonical JSON plus the engine fields
    /// that [`EngineConfig`] leaves out while they hold their defaults (the TF-spread exit,
    /// TODO-6), so a sweep can name them (`engine.tf_exhaust_ratio`) and the results list
    /// their values, while the canonical JSON and the hash of every earlier trial stay as
    /// they were.
    fn tree(&self) -> Value {
        let mut v = serde_json::to_value(self).expect("a trial config serialises");
        let e = &self.engine;
        if let Some(obj) = v.get_mut("engine").and_then(Value::as_object_mut) {
            for (k, val) in [
                ("tf_enabled", Value::from(e.tf_enabled)),
                ("tf_exhaust_ratio", Value::from(e.tf_exhaust_ratio)),
                ("tf_flip_ratio", Value::from(e.tf_flip_ratio)),
                ("tf_min_bars", Value::from(e.tf_min_bars)),
            ] {
                obj.entry(k).or_insert(val);
            }
        }
        v
    }

    /// The value at a dotted path, if it exists.
    pub fn get(&self, path: &str) -> Option<Value> {
        let mut v = self.tree();
        for seg in path.split('.') {
            v = v.get_mut(seg)?.take();
        }
        Some(v)
    }

    /// A copy with `overrides` applied (dotted paths). Checks every path exists, that the new
    /// value has the old value's JSON type (integers stay integers), and validates the result.
    pub fn with_overrides(&self, overrides: &[(String, Value)]) -> Result<Self, ResearchError> {
        let mut tree = self.tree();
        for (path, value) in overrides {
            set_path(&mut tree, path, value.clone())?;
        }
        let out: TrialConfig =
            serde_json::from_value(tree).map_err(|e| ResearchError::BadValue {
                path: overrides
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                message: e.to_string(),
            })?;
        out.validate()?;
        Ok(out)
    }

    /// Engine and ACB validation.
    pub fn validate(&self) -> Result<(), ResearchError> {
        self.engine
            .validate()
            .map_err(|e| ResearchError::BadValue {
                path: "engine".into(),
                message: e.to_string(),
            })?;
        self.acb
            .params
            .validate()
            .map_err(|e| ResearchError::BadValue {
                path: "acb.params".into(),
                message: e.to_string(),
            })?;
        Ok(())
    }

    /// The system configuration a sweep writes for this trial: never the champion
    /// (`champion: false`), so the frozen-parameter check (S §17.1) never blocks it and it
    /// can never stand in for `configs/blue.yml`.
    pub fn to_system(&self, name: &str) -> SystemConfig {
        SystemConfig {
            name: name.to_string(),
            champion: false,
            engine: self.engine.clone(),
            // bar_seconds (SPEC D1) does not reach the engine (it counts bars); the sweep
            // keeps the default. (Lead: semantic merge fix after `live` added the key.)
            ..SystemConfig::blue()
        }
    }
}

/// Sets `path` in a JSON tree, refusing unknown fields and type changes.
pub fn set_path(tree: &mut Value, path: &str, value: Value) -> Result<(), ResearchError> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(ResearchError::BadValue {
            path: path.into(),
            message: "empty path segment".into(),
        });
    }
    let mut cur = tree;
    for (i, seg) in segs.iter().enumerate() {
        let obj = match cur.as_object_mut() {
            Some(o) => o,
            None => {
                return Err(ResearchError::UnknownPath {
                    path: path.into(),
                    segment: seg.to_string(),
                    known: format!("`{}` is a value, not a group", segs[..i].join(".")),
                });
            }
        };
        if !obj.contains_key(*seg) {
            let known = obj.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(ResearchError::UnknownPath {
                path: path.into(),
                segment: seg.to_string(),
                known,
            });
        }
        cur = obj.get_mut(*seg).expect("checked");
    }
    *cur = coerce(cur, value).map_err(|message| ResearchError::BadValue {
        path: path.into(),
        message,
    })?;
    Ok(())
}

/// The new value in the old value's JSON type.
fn coerce(old: &Value, new: Value) -> Result<Value, String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a group",
    };
    match (old, &new) {
        (Value::Number(o), Value::Number(n)) => {
            if o.is_f64() {
                let f = n.as_f64().ok_or("not a number")?;
                if !f.is_finite() {
                    return Err(format!("{f} is not finite"));
                }
                Ok(Value::from(f))
            } else if let Some(i) = n.as_i64() {
                Ok(Value::from(i))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.is_finite() {
                    Ok(Value::from(f as i64))
                } else {
                    Err(format!("expected an integer, got {f}"))
                }
            }
        }
        (Value::Bool(_), Value::Bool(_))
        | (Value::String(_), Value::String(_))
        | (Value::Array(_), Value::Array(_)) => Ok(new),
        (Value::Object(_), _) => Err("names a group of parameters, not one parameter".into()),
        _ => Err(format!("expected {}, got {}", kind(old), kind(&new))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn blue() -> TrialConfig {
        TrialConfig::from_system(&SystemConfig::blue())
    }

    #[test]
    fn overrides_set_engine_and_acb_fields() {
        let t = blue()
            .with_overrides(&[
                ("engine.fixed_tp_pct".into(), json!(0.012)),
                ("engine.vd_confirm_bars".into(), json!(5.0)),
                ("acb.params.beta_high".into(), json!(0.9)),
                ("acb.threshold".into(), json!("expanding")),
                ("engine.vd_enabled".into(), json!(true)),
            ])
            .unwrap();
        assert_eq!(t.engine.fixed_tp_pct, 0.012);
        assert_eq!(t.engine.vd_confirm_bars, 5);
        assert!(t.engine.vd_enabled);
        assert_eq!(t.acb.params.beta_high, 0.9);
        assert_eq!(t.acb.threshold, ThresholdMode::Expanding);
        assert_eq!(t.get("engine.fixed_tp_pct"), Some(json!(0.012)));
        assert_ne!(t.hash(), blue().hash());
        // The blue trial's hash is stable across runs (canonical JSON).
        assert_eq!(blue().hash(), blue().hash());
        assert_eq!(blue().hash().len(), 16);
    }

    #[test]
    fn unknown_paths_and_bad_types_are_named() {
        let e = blue()
            .with_overrides(&[("engine.fixed_tp".into(), json!(0.01))])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown parameter path `engine.fixed_tp`"),
            "{e}"
        );
        assert!(e.contains("fixed_tp_pct"), "{e}");
        let e = blue()
            .with_overrides(&[("engin.fixed_tp_pct".into(), json!(0.01))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`engin`"), "{e}");
        let e = blue()
            .with_overrides(&[("engine.max_hold_bars".into(), json!(12.5))])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("engine.max_hold_bars") && e.contains("integer"),
            "{e}"
        );
        let e = blue()
            .with_overrides(&[("engine.vd_enabled".into(), json!(1))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a boolean"), "{e}");
        let e = blue()
            .with_overrides(&[("engine".into(), json!(1))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("group"), "{e}");
        let e = blue()
            .with_overrides(&[("engine.fraction".into(), json!(-0.5))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("fraction"), "{e}");
        let e = blue()
            .with_overrides(&[("acb.threshold".into(), json!("sometimes"))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("acb.threshold"), "{e}");
    }

    #[test]
    fn written_configs_are_never_the_champion_and_load_back() {
        let t = blue()
            .with_overrides(&[("engine.fixed_tp_pct".into(), json!(0.011))])
            .unwrap();
        let s = t.to_system("sweep-x");
        assert!(!s.champion);
        let yaml = serde_norway::to_string(&s).unwrap();
        // The champion drift check does not refuse it; it loads as the same engine.
        let back = SystemConfig::from_yaml(&yaml, "x.yml").unwrap();
        assert_eq!(back.engine, t.engine);
        assert!(!back.champion);
    }

    #[test]
    fn tf_fields_are_parameters_but_absent_from_the_hash_while_default() {
        let b = blue();
        assert!(
            !b.canonical_json().contains("tf_"),
            "{}",
            b.canonical_json()
        );
        assert_eq!(b.get("engine.tf_enabled"), Some(json!(false)));
        assert_eq!(b.get("engine.tf_min_bars"), Some(json!(5)));
        let t = b
            .with_overrides(&[
                ("engine.tf_enabled".into(), json!(true)),
                ("engine.tf_exhaust_ratio".into(), json!(0.5)),
                ("engine.tf_min_bars".into(), json!(15)),
            ])
            .unwrap();
        assert!(t.engine.tf_enabled);
        assert_eq!(t.engine.tf_exhaust_ratio, 0.5);
        assert_eq!(t.engine.tf_min_bars, 15);
        assert_eq!(t.engine.tf_flip_ratio, 0.5, "untouched: the default");
        let json = t.canonical_json();
        assert!(
            json.contains("\"tf_enabled\":true,\"tf_exhaust_ratio\":0.5,\"tf_min_bars\":15"),
            "{json}"
        );
        assert_ne!(t.hash(), b.hash());
        // Back at the defaults: the same trial, the same hash as blue.
        let back = t
            .with_overrides(&[
                ("engine.tf_enabled".into(), json!(false)),
                ("engine.tf_exhaust_ratio".into(), json!(0.25)),
                ("engine.tf_min_bars".into(), json!(5)),
            ])
            .unwrap();
        assert_eq!(back.hash(), b.hash());
        // Every engine field is in the tree: as many keys as a config with no default TF value.
        let all = t
            .with_overrides(&[("engine.tf_flip_ratio".into(), json!(2.0))])
            .unwrap();
        let n = |v: Value| v["engine"].as_object().map(|o| o.len());
        assert_eq!(n(b.tree()), n(serde_json::to_value(&all).unwrap()));
        let e = b
            .with_overrides(&[("engine.tf_min_bars".into(), json!(1.5))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("integer"), "{e}");
        let e = b
            .with_overrides(&[("engine.tf_flip_ratio".into(), json!(-1.0))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("tf_flip_ratio"), "{e}");
    }
}
