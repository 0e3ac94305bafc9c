//! Shard routing of the feature store (B §15.1, S §16): `sum of the symbol's bytes % 10`,
//! map `DOLPHIN_FEATURES_SHARD_XX`. Stable across processes and languages.

/// Number of feature shards (B §15.1 `SHARD_COUNT`).
pub const SHARD_COUNT: usize = 10;

/// The ten shard map names, `DOLPHIN_FEATURES_SHARD_00` … `_09` (S §10).
pub const SHARD_MAPS: [&str; SHARD_COUNT] = [
    "DOLPHIN_FEATURES_SHARD_00",
    "DOLPHIN_FEATURES_SHARD_01",
    "DOLPHIN_FEATURES_SHARD_02",
    "DOLPHIN_FEATURES_SHARD_03",
    "DOLPHIN_FEATURES_SHARD_04",
    "DOLPHIN_FEATURES_SHARD_05",
    "DOLPHIN_FEATURES_SHARD_06",
    "DOLPHIN_FEATURES_SHARD_07",
    "DOLPHIN_FEATURES_SHARD_08",
    "DOLPHIN_FEATURES_SHARD_09",
];

/// Shard index of a symbol: `sum(ord(c) for c in symbol) % 10` (B §15.1). Python's `ord`
/// sums code points; for the ASCII symbols of Binance that is the sum of the UTF-8 bytes, and
/// for any other symbol this sums code points too, so both sides agree.
pub fn shard_of(symbol: &str) -> usize {
    let sum: u64 = symbol.chars().map(|c| u64::from(c as u32)).sum();
    (sum % SHARD_COUNT as u64) as usize
}

/// The shard map name of a symbol (B §15.1 `f"DOLPHIN_FEATURES_SHARD_{shard:02d}"`).
pub fn shard_map(symbol: &str) -> &'static str {
    SHARD_MAPS[shard_of(symbol)]
}

/// The key of one feature of one symbol inside its shard map: `feature_SYMBOL`
/// (B §15.2, e.g. `vel_div_BTCUSDT`).
pub fn feature_key(symbol: &str, feature: &str) -> String {
    format!("{feature}_{symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_shards() {
        // B=66 T=84 C=67 U=85 S=83 D=68 T=84 → 537 → shard 7.
        assert_eq!(shard_of("BTCUSDT"), 7);
        assert_eq!(shard_map("BTCUSDT"), "DOLPHIN_FEATURES_SHARD_07");
        // E=69 T=84 H=72 + USDT(85+83+68+84=320) → 545 → 5.
        assert_eq!(shard_of("ETHUSDT"), 5);
        assert_eq!(shard_of(""), 0);
        assert_eq!(feature_key("BTCUSDT", "vel_div"), "vel_div_BTCUSDT");
    }

    proptest! {
        #[test]
        fn ascii_shard_is_byte_sum(s in "[A-Z0-9]{1,20}") {
            let by_bytes = s.bytes().map(u64::from).sum::<u64>() % 10;
            prop_assert_eq!(shard_of(&s) as u64, by_bytes);
            let suffix = format!("{by_bytes:02}");
            prop_assert!(shard_map(&s).ends_with(&suffix));
        }
    }
}
