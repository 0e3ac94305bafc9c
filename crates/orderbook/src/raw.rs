//! The serde field table of the message parser: every field any supported message may carry,
//! with decimal strings read straight into [`Fixed`] (data/README.md "depth/"; SPEC §7). Shared
//! by the serde path of [`crate::message`] and the strict scanner (`scan`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::decimal::Fixed;
use crate::event::Level;

/// A decimal string parsed straight into [`Fixed`].
pub(crate) struct Dec(pub(crate) Fixed);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dec, E> {
                Fixed::parse(v)
                    .map(Dec)
                    .map_err(|e| E::custom(format_args!("bad decimal {v:?}: {e}")))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Level;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [price, quantity] pair of decimal strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Level, A::Error> {
                let price: Dec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let qty: Dec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                if qty.0.0 < 0 || price.0.0 < 0 {
                    return Err(de::Error::custom("negative price or quantity"));
                }
                Ok(Level {
                    price: price.0,
                    qty: qty.0,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

/// `b`/`a` are level arrays in `depthUpdate` but price strings in `bookTicker`.
pub(crate) enum SideField {
    Price(Fixed),
    Levels(Vec<Level>),
}

impl<'de> Deserialize<'de> for SideField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SideField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string or an array of levels")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SideField, E> {
                Fixed::parse(v)
                    .map(SideField::Price)
                    .map_err(|e| E::custom(format_args!("bad decimal {v:?}: {e}")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SideField, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16));
                while let Some(l) = seq.next_element::<Level>()? {
                    out.push(l);
                }
                Ok(SideField::Levels(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every field any supported message may carry; unknown fields are skipped.
#[derive(Deserialize, Default)]
pub(crate) struct Raw<'a> {
    #[serde(borrow, default)]
    pub(crate) data: Option<Box<Raw<'a>>>,
    #[serde(borrow, default)]
    pub(crate) e: Option<&'a str>,
    #[serde(rename = "E", default)]
    pub(crate) big_e: Option<i64>,
    #[serde(rename = "T", default)]
    pub(crate) big_t: Option<i64>,
    #[serde(borrow, default)]
    pub(crate) s: Option<&'a str>,
    #[serde(rename = "U", default)]
    pub(crate) big_u: Option<u64>,
    #[serde(default)]
    pub(crate) u: Option<u64>,
    #[serde(default)]
    pub(crate) pu: Option<u64>,
    #[serde(default)]
    pub(crate) b: Option<SideField>,
    #[serde(default)]
    pub(crate) a: Option<SideField>,
    #[serde(rename = "B", default)]
    pub(crate) big_b: Option<Dec>,
    #[serde(rename = "A", default)]
    pub(crate) big_a: Option<Dec>,
    #[serde(default)]
    pub(crate) t: Option<u64>,
    #[serde(default)]
    pub(crate) p: Option<Dec>,
    #[serde(default)]
    pub(crate) q: Option<Dec>,
    #[serde(default)]
    pub(crate) m: Option<bool>,
    #[serde(rename = "lastUpdateId", default)]
    pub(crate) last_update_id: Option<u64>,
    #[serde(default)]
    pub(crate) bids: Option<Vec<Level>>,
    #[serde(default)]
    pub(crate) asks: Option<Vec<Level>>,
}
