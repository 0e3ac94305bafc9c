//! The asset registry and its price histories (seeds B §13.1 `price_histories`, SPEC D10 and
//! §5 "IRP"): every asset the engine has seen gets a global id in order of first appearance;
//! each day maps its column order onto those ids. A history keeps only finite positive prices;
//! when it grows past `price_history_max` it is cut to the last `price_history_keep`.

use dolphin_core::{UtcDate, is_valid_price};
use std::collections::HashMap;

/// An asset name appeared twice in one day's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateAsset(pub String);

/// Global asset ids, names, the excluded flag and the price histories.
#[derive(Debug, Clone, Default)]
pub struct AssetRegistry {
    names: Vec<String>,
    ids: HashMap<String, usize>,
    excluded: Vec<bool>,
    histories: Vec<Vec<f64>>,
}

/// One day's columns: day column → global id, and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayColumns {
    /// Day column → global asset id.
    pub cols: Vec<usize>,
    /// Global asset id → day column (for the ids known when the day began).
    pub col_of: Vec<Option<usize>>,
}

impl DayColumns {
    /// The day column of asset `id`, `None` when the asset is not in today's data.
    #[inline]
    pub fn col(&self, id: usize) -> Option<usize> {
        self.col_of.get(id).copied().flatten()
    }
}

impl AssetRegistry {
    /// Registers the day's asset columns (new names get the next ids; `excluded` names are
    /// never IRP candidates) and maps them.
    pub fn map_day(
        &mut self,
        assets: &[String],
        excluded: &[String],
    ) -> Result<DayColumns, DuplicateAsset> {
        let mut cols = Vec::with_capacity(assets.len());
        for a in assets {
            let id = self.id_or_insert(a, excluded);
            if cols.contains(&id) {
                return Err(DuplicateAsset(a.clone()));
            }
            cols.push(id);
        }
        let mut col_of = vec![None; self.names.len()];
        for (c, &id) in cols.iter().enumerate() {
            col_of[id] = Some(c);
        }
        Ok(DayColumns { cols, col_of })
    }

    fn id_or_insert(&mut self, asset: &str, excluded: &[String]) -> usize {
        if let Some(&id) = self.ids.get(asset) {
            return id;
        }
        let id = self.names.len();
        self.names.push(asset.to_string());
        self.ids.insert(asset.to_string(), id);
        self.excluded.push(excluded.iter().any(|e| e == asset));
        self.histories.push(Vec::new());
        id
    }

    /// Appends one bar's prices (day column order) to the histories (SPEC D10): only finite
    /// positive prices; a history longer than `max` keeps its last `keep` values.
    pub fn push_prices(&mut self, cols: &[usize], prices: &[f64], max: usize, keep: usize) {
        for (&p, &id) in prices.iter().zip(cols) {
            if is_valid_price(p) {
                let h = &mut self.histories[id];
                h.push(p);
                if h.len() > max {
                    h.drain(..h.len() - keep);
                }
            }
        }
    }

    /// Number of assets seen.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// The name of asset `id`.
    #[inline]
    pub fn name(&self, id: usize) -> &str {
        &self.names[id]
    }
    /// The id of a named asset.
    pub fn id(&self, asset: &str) -> Option<usize> {
        self.ids.get(asset).copied()
    }
    /// Whether asset `id` is excluded from IRP (stablecoins).
    #[inline]
    pub fn is_excluded(&self, id: usize) -> bool {
        self.excluded[id]
    }
    /// The price history of asset `id`.
    #[inline]
    pub fn history(&self, id: usize) -> &[f64] {
        &self.histories[id]
    }
    /// The last price of asset `id`, if it ever had one.
    #[inline]
    pub fn last_price(&self, id: usize) -> Option<f64> {
        self.histories[id].last().copied()
    }

    /// Names and histories in id order (the engine snapshot).
    pub(crate) fn parts(&self) -> (&[String], &[Vec<f64>]) {
        (&self.names, &self.histories)
    }

    /// Rebuilds a registry from names and histories in id order (the engine snapshot).
    pub(crate) fn from_parts(
        names: Vec<String>,
        histories: Vec<Vec<f64>>,
        excluded: &[String],
    ) -> Result<Self, DuplicateAsset> {
        let mut r = Self::default();
        for (name, h) in names.into_iter().zip(histories) {
            if r.ids.contains_key(&name) {
                return Err(DuplicateAsset(name));
            }
            r.id_or_insert(&name, excluded);
            *r.histories.last_mut().expect("just inserted") = h;
        }
        Ok(r)
    }
}

/// The date an asset registry error happened on, for [`crate::EngineError`].
pub(crate) fn duplicate_error(date: UtcDate, e: DuplicateAsset) -> crate::EngineError {
    crate::EngineError::DuplicateAsset { date, asset: e.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ids_in_order_of_first_appearance_and_day_mapping() {
        let mut r = AssetRegistry::default();
        let d1 = r
            .map_day(&names(&["BTC", "ETH", "USDC"]), &names(&["USDC"]))
            .unwrap();
        assert_eq!(d1.cols, vec![0, 1, 2]);
        // Day 2: another order, a new asset, ETH gone.
        let d2 = r.map_day(&names(&["SOL", "BTC"]), &[]).unwrap();
        assert_eq!(d2.cols, vec![3, 0]);
        assert_eq!(d2.col(0), Some(1));
        assert_eq!(d2.col(1), None);
        assert_eq!(d2.col(3), Some(0));
        assert!(r.is_excluded(2) && !r.is_excluded(0));
        assert_eq!((r.id("SOL"), r.name(3)), (Some(3), "SOL"));
        assert_eq!(
            r.map_day(&names(&["BTC", "BTC"]), &[]),
            Err(DuplicateAsset("BTC".into()))
        );
    }

    #[test]
    fn histories_keep_valid_prices_and_cut_500_to_200() {
        // SPEC D10: append; when longer than 500 keep the last 200; only finite prices > 0.
        let mut r = AssetRegistry::default();
        let d = r.map_day(&names(&["A", "B"]), &[]).unwrap();
        r.push_prices(&d.cols, &[1.0, f64::NAN], 500, 200);
        r.push_prices(&d.cols, &[0.0, -1.0], 500, 200);
        assert_eq!(r.history(0), &[1.0]);
        assert!(r.history(1).is_empty() && r.last_price(1).is_none());
        for i in 2..=500 {
            r.push_prices(&d.cols, &[f64::from(i), 1.0], 500, 200);
        }
        assert_eq!(r.history(0).len(), 500);
        r.push_prices(&d.cols, &[501.0, 1.0], 500, 200);
        assert_eq!(r.history(0).len(), 200);
        assert_eq!(r.history(0)[0], 302.0);
        assert_eq!(r.last_price(0), Some(501.0));
    }
}
