//! Property tests of the order sizes sent to Nautilus: `notional / entry_price` at the
//! instrument's size precision stays within half a size increment and 0.1 % of the engine's
//! quantity for any order of at least 10 USDT.

use dolphin_nautilus::instruments::{price_precision, size_precision};
use dolphin_nautilus::order_quantity;
use nautilus_model::types::Price;
use nautilus_model::types::quantity::QUANTITY_MAX;
use proptest::prelude::*;

proptest! {
    #[test]
    fn quantity_is_the_engine_quantity_rounded(
        notional in 10.0f64..2_000_000.0,
        price_exp in -5.0f64..5.3,
    ) {
        let price = 10f64.powf(price_exp);
        let sp = size_precision(price);
        let exact = notional / price;
        if exact > QUANTITY_MAX {
            // Nautilus's standard-precision quantities end at ~1.8e10 units (a real limit:
            // Binance lists such assets as 1000x contracts).
            prop_assert!(order_quantity(notional, price, sp).unwrap_err().to_string().contains("not in range"));
            return Ok(());
        }
        let q = order_quantity(notional, price, sp).unwrap();
        prop_assert!(q.precision == sp);
        prop_assert!((q.as_f64() - exact).abs() <= 0.5 * 10f64.powi(-i32::from(sp)) * 1.000_001);
        prop_assert!((q.as_f64() / exact - 1.0).abs() < 1e-3);
    }

    #[test]
    fn prices_keep_six_significant_digits(price_exp in -3.0f64..5.3) {
        let price = 10f64.powf(price_exp);
        let p = Price::new(price, price_precision(price));
        prop_assert!((p.as_f64() / price - 1.0).abs() < 5e-6);
    }
}

#[test]
fn zero_or_bad_quantities_are_refused_with_the_reason() {
    let e = order_quantity(0.0, 100.0, 3).unwrap_err().to_string();
    assert!(e.contains("not positive"), "{e}");
    let e = order_quantity(1.0, 100_000.0, 2).unwrap_err().to_string();
    assert!(e.contains("rounds to zero"), "{e}");
    let e = order_quantity(1.0, f64::NAN, 2).unwrap_err().to_string();
    assert!(e.contains("not positive"), "{e}");
}
