//! The data of a replay: one external 1-minute bar per asset with a valid price per day-file
//! row, the driving asset's bar last in each row so that it reaches the actor after every
//! asset's price has reached the simulated venue (S §12.1, §12.3; issue 7 item 2).

use crate::error::NautilusError;
use crate::instruments::AssetInstrument;
use dolphin_core::{DayFrame, date_of_ms, is_valid_price};
use nautilus_core::UnixNanos;
use nautilus_model::data::{Bar, Data};
use nautilus_model::types::{Price, Quantity};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Volume written into every bar: large, so that the venue's top of book never limits a fill.
pub const BAR_VOLUME: f64 = 1e9;

/// The asset whose bars drive the actor: `preferred` (the volatility reference asset) when it
/// has a valid price somewhere, else the first asset that has one.
pub fn driver_asset(
    frames: &[(PathBuf, DayFrame)],
    universe: &[String],
    preferred: &str,
) -> Option<String> {
    let has_price = |asset: &str| {
        frames.iter().any(|(_, f)| {
            f.asset_index(asset)
                .is_some_and(|a| (0..f.len()).any(|r| is_valid_price(f.row_prices(r)[a])))
        })
    };
    std::iter::once(preferred)
        .chain(universe.iter().map(String::as_str))
        .find(|a| universe.iter().any(|u| u == a) && has_price(a))
        .map(str::to_string)
}

/// The first valid price of every asset, in first-appearance order of the days.
pub fn first_prices(frames: &[(PathBuf, DayFrame)]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for (_, f) in frames {
        for (a, name) in f.assets.iter().enumerate() {
            if out.iter().any(|(n, _)| n == name) {
                continue;
            }
            if let Some(p) = (0..f.len())
                .map(|r| f.row_prices(r)[a])
                .find(|&p| is_valid_price(p))
            {
                out.push((name.clone(), p));
            }
        }
    }
    out
}

/// Builds the replay's bars: per row, every non-driver asset with a valid price, then the
/// driver (its last valid price carried forward when the row has none, so that every row
/// reaches the actor). Checks that each row's timestamp lies on its file's date.
pub fn replay_bars(
    frames: &[(PathBuf, DayFrame)],
    instruments: &BTreeMap<String, AssetInstrument>,
    driver: &str,
) -> Result<Vec<Data>, NautilusError> {
    let drv = instruments.get(driver).ok_or(NautilusError::NoPrices)?;
    let mut carry = first_prices(frames)
        .into_iter()
        .find(|(a, _)| a == driver)
        .map(|(_, p)| p)
        .ok_or(NautilusError::NoPrices)?;
    let total: usize = frames
        .iter()
        .map(|(_, f)| f.len() * (f.n_assets() + 1))
        .sum();
    let mut out = Vec::with_capacity(total);
    for (path, f) in frames {
        let cols: Vec<Option<&AssetInstrument>> =
            f.assets.iter().map(|a| instruments.get(a)).collect();
        let drv_col = f.asset_index(driver);
        for r in 0..f.len() {
            let ts_ms = f.timestamp[r];
            if ts_ms < 0 {
                return Err(NautilusError::NegativeTimestamp {
                    file: path.clone(),
                    row: r,
                    timestamp_ms: ts_ms,
                });
            }
            if date_of_ms(ts_ms) != f.date {
                return Err(NautilusError::RowOutsideDay {
                    file: path.clone(),
                    row: r,
                    timestamp_ms: ts_ms,
                    date: f.date,
                });
            }
            let ts = UnixNanos::from(ts_ms as u64 * 1_000_000);
            let prices = f.row_prices(r);
            for (c, inst) in cols.iter().enumerate() {
                let Some(inst) = inst else { continue };
                if Some(c) == drv_col || !is_valid_price(prices[c]) {
                    continue;
                }
                out.push(Data::Bar(flat_bar(inst, prices[c], ts)));
            }
            if let Some(p) = drv_col.map(|c| prices[c]).filter(|&p| is_valid_price(p)) {
                carry = p;
            }
            out.push(Data::Bar(flat_bar(drv, carry, ts)));
        }
    }
    Ok(out)
}

/// A bar with open = high = low = close = `price` (the day file holds one close per row).
fn flat_bar(inst: &AssetInstrument, price: f64, ts: UnixNanos) -> Bar {
    let p = Price::new(price, inst.price_precision);
    Bar::new(
        inst.bar_type,
        p,
        p,
        p,
        p,
        Quantity::new(BAR_VOLUME, inst.size_precision),
        ts,
        ts,
    )
}
