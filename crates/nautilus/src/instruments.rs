//! The instruments of a replay: one Binance USDT-margined perpetual `XXXUSDT-PERP.BINANCE` per
//! asset of the data (S §12.1, issue 7 item 2), with precisions chosen from the asset's prices.

use crate::config::OrderRoute;
use nautilus_core::UnixNanos;
use nautilus_model::data::{BarSpecification, BarType};
use nautilus_model::enums::{AggregationSource, BarAggregation, PriceType};
use nautilus_model::identifiers::{InstrumentId, Symbol};
use nautilus_model::instruments::{CryptoPerpetual, InstrumentAny};
use nautilus_model::types::{Currency, Price, Quantity};

/// The simulated venue of the replay (S §12.1 `Venue("BINANCE")`).
pub const VENUE: &str = "BINANCE";

/// Significant digits kept in prices.
const PRICE_DIGITS: i32 = 7;

/// Decimal places of prices for an asset trading near `price`: 7 significant digits, within
/// Nautilus's 0..=9.
pub fn price_precision(price: f64) -> u8 {
    let mag = price.abs().log10().floor() as i32;
    (PRICE_DIGITS - 1 - mag).clamp(0, 9) as u8
}

/// Decimal places of quantities for an asset trading near `price`: a 10 000 USDT order keeps
/// about 7 significant digits (`floor(log10 price) + 3`, within 0..=8).
pub fn size_precision(price: f64) -> u8 {
    let mag = price.abs().log10().floor() as i32;
    (mag + 3).clamp(0, 8) as u8
}

/// The base currency of a Binance USDT pair: `BTCUSDT` → `BTC` (else the whole symbol).
pub fn base_currency(asset: &str) -> &str {
    asset
        .strip_suffix("USDT")
        .filter(|b| !b.is_empty())
        .unwrap_or(asset)
}

/// The instrument id of an asset: `BTCUSDT` → `BTCUSDT-PERP.BINANCE`.
pub fn instrument_id(asset: &str) -> InstrumentId {
    InstrumentId::from(format!("{asset}-PERP.{VENUE}").as_str())
}

/// The external 1-minute last-price bar type of an asset (S §12.3 with the data's interval):
/// `BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL`.
pub fn bar_type(asset: &str) -> BarType {
    BarType::new(
        instrument_id(asset),
        BarSpecification::new(1, BarAggregation::Minute, PriceType::Last),
        AggregationSource::External,
    )
}

/// One asset's instrument and how its prices and quantities are written.
#[derive(Debug, Clone)]
pub struct AssetInstrument {
    pub asset: String,
    pub instrument: InstrumentAny,
    pub bar_type: BarType,
    pub price_precision: u8,
    pub size_precision: u8,
}

impl AssetInstrument {
    /// The perpetual of `asset` whose precisions fit `typical_price` (a valid price of the
    /// data). Margin and fees are left at zero: the engine accounts for both (S §8), the venue
    /// only has to hold the same positions.
    pub fn new(asset: &str, typical_price: f64) -> Self {
        let pp = price_precision(typical_price);
        let sp = size_precision(typical_price);
        let id = instrument_id(asset);
        let usdt = Currency::USDT();
        let perp = CryptoPerpetual::new(
            id,
            Symbol::from(asset),
            Currency::get_or_create_crypto(base_currency(asset)),
            usdt,
            usdt,
            false,
            pp,
            sp,
            Price::new(10f64.powi(-i32::from(pp)), pp),
            Quantity::new(10f64.powi(-i32::from(sp)), sp),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            UnixNanos::default(),
            UnixNanos::default(),
        );
        Self {
            asset: asset.to_string(),
            instrument: InstrumentAny::CryptoPerpetual(perp),
            bar_type: bar_type(asset),
            price_precision: pp,
            size_precision: sp,
        }
    }

    /// Where the actor sends this asset's orders.
    pub fn route(&self) -> OrderRoute {
        OrderRoute {
            instrument_id: instrument_id(&self.asset),
            size_precision: self.size_precision,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_keep_seven_significant_digits() {
        assert_eq!(price_precision(104_523.1), 1);
        assert_eq!(price_precision(2_512.37), 3);
        assert_eq!(price_precision(1.0), 6);
        assert_eq!(price_precision(0.5), 7);
        assert_eq!(price_precision(0.000_012_34), 9);
        assert_eq!(size_precision(104_523.1), 8);
        assert_eq!(size_precision(2_512.37), 6);
        assert_eq!(size_precision(0.5), 2);
        assert_eq!(size_precision(0.000_012_34), 0);
    }

    #[test]
    fn names_follow_binance_perpetuals() {
        assert_eq!(base_currency("BTCUSDT"), "BTC");
        assert_eq!(base_currency("1000PEPEUSDT"), "1000PEPE");
        assert_eq!(base_currency("USDT"), "USDT");
        assert_eq!(instrument_id("ETHUSDT").to_string(), "ETHUSDT-PERP.BINANCE");
        assert_eq!(
            bar_type("ETHUSDT").to_string(),
            "ETHUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
        );
        let a = AssetInstrument::new("ETHUSDT", 2512.37);
        assert_eq!((a.price_precision, a.size_precision), (3, 6));
        assert_eq!(a.route().instrument_id.to_string(), "ETHUSDT-PERP.BINANCE");
    }
}
