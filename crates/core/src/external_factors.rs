//! External macro factors of one UTC date, the inputs of ACBv6 scale 1 (seeds B §10.2,
//! SPEC §3). A factor with no data is `None` ("absent, not zero").

use crate::UtcDate;
use serde::{Deserialize, Serialize};

/// The four external factors for one date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExternalFactors {
    pub date: UtcDate,
    /// BTCUSDT perpetual funding rate, fraction of notional per interval.
    pub funding_btc: Option<f64>,
    /// Deribit BTC DVOL (annualised implied volatility, percent points).
    pub dvol_btc: Option<f64>,
    /// Crypto Fear & Greed index, 0–100.
    pub fng: Option<f64>,
    /// Taker buy ratio (buy volume / sell volume).
    pub taker: Option<f64>,
}

impl ExternalFactors {
    /// A date with no factor data.
    pub fn absent(date: UtcDate) -> Self {
        Self {
            date,
            funding_btc: None,
            dvol_btc: None,
            fng: None,
            taker: None,
        }
    }
}
