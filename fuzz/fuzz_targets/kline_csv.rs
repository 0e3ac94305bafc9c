//! Kline CSV reader (SPEC §6; crates/data/src/klines.rs) on arbitrary bytes: an error or a
//! result, never a panic; every accepted row has a close that is NaN or a price > 0.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // A leading 0x00 or 0x01 byte picks another interval of the file name (the grid rules
    // differ by interval); anything else is a whole `-1m` file, as the seed corpus is.
    let (name, body) = match data.split_first() {
        Some((0, rest)) => ("FUZZUSDT-1s.csv", rest),
        Some((1, rest)) => ("FUZZUSDT-3d.csv", rest),
        _ => ("FUZZUSDT-1m.csv", data),
    };
    if let Ok(f) = dolphin_data::parse_kline_csv(Path::new(name), body) {
        assert!(!f.rows.is_empty());
        assert!(f.rows.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            f.rows
                .iter()
                .all(|&(_, c)| c.is_nan() || (c.is_finite() && c > 0.0))
        );
    }
});
