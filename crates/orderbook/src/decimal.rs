//! Exact fixed-point decimals for Binance price and quantity strings (SPEC §7: "compare
//! prices and quantities as decimals or integer ticks, never as floats").
//!
//! A [`Fixed`] is an `i64` mantissa with a fixed scale of 10⁸ (Binance never sends more than
//! 8 decimals). It holds values up to about 9.2·10¹⁰ exactly; larger strings are rejected.

use std::fmt;

/// Number of decimal places kept by [`Fixed`] (SPEC §7).
pub const FIXED_DECIMALS: u32 = 8;
/// 10^[`FIXED_DECIMALS`].
pub const FIXED_SCALE: i64 = 100_000_000;

/// An exact decimal with scale 10⁸, parsed from a Binance decimal string (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(pub i64);

/// Why a decimal string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty decimal string")]
    Empty,
    #[error("invalid character {0:?} in decimal string")]
    InvalidChar(char),
    #[error("more than {FIXED_DECIMALS} decimal places")]
    TooManyDecimals,
    #[error("value too large for a fixed-point i64 with 8 decimals")]
    Overflow,
    #[error("no digits in decimal string")]
    NoDigits,
}

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);

    /// Parse a plain decimal string `[-]digits[.digits]` exactly (SPEC §7). No exponent, no
    /// spaces, at most 8 decimals (trailing zeros beyond 8 places are accepted).
    pub fn parse(s: &str) -> Result<Fixed, DecimalError> {
        match Self::parse_plain(s.as_bytes()) {
            Some(f) => Ok(f),
            None => Self::parse_checked(s),
        }
    }

    /// Fast path of [`Fixed::parse`] for the common shape `digits[.digits]`: 1–18 integer
    /// digits, at most 8 decimals, no sign. `None` hands the string to the checked parser
    /// (which also produces every error, so results never depend on the path).
    #[inline]
    fn parse_plain(b: &[u8]) -> Option<Fixed> {
        let mut i = 0;
        let mut int: u64 = 0;
        while i < b.len() && i < 18 {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            int = int * 10 + u64::from(d);
            i += 1;
        }
        if i == 0 {
            return None;
        }
        let mut frac: u64 = 0;
        let mut k = 0;
        if i < b.len() {
            if b[i] != b'.' {
                return None;
            }
            i += 1;
            while i < b.len() && k < FIXED_DECIMALS {
                let d = b[i].wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                frac = frac * 10 + u64::from(d);
                i += 1;
                k += 1;
            }
            if i < b.len() {
                return None;
            }
        }
        let m = i64::try_from(int)
            .ok()?
            .checked_mul(FIXED_SCALE)?
            .checked_add((frac * 10_u64.pow(FIXED_DECIMALS - k)) as i64)?;
        Some(Fixed(m))
    }

    fn parse_checked(s: &str) -> Result<Fixed, DecimalError> {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Err(DecimalError::Empty);
        }
        let (neg, digits) = match bytes[0] {
            b'-' => (true, &bytes[1..]),
            _ => (false, bytes),
        };
        let mut int_part: i64 = 0;
        let mut frac: i64 = 0;
        let mut frac_digits: u32 = 0;
        let mut seen_dot = false;
        let mut any_digit = false;
        for &c in digits {
            match c {
                b'0'..=b'9' => {
                    any_digit = true;
                    let d = i64::from(c - b'0');
                    if seen_dot {
                        if frac_digits < FIXED_DECIMALS {
                            frac = frac * 10 + d;
                            frac_digits += 1;
                        } else if d != 0 {
                            return Err(DecimalError::TooManyDecimals);
                        }
                    } else {
                        int_part = int_part
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(d))
                            .ok_or(DecimalError::Overflow)?;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return Err(DecimalError::InvalidChar(char::from(c))),
            }
        }
        if !any_digit {
            return Err(DecimalError::NoDigits);
        }
        let frac_scaled = frac * 10_i64.pow(FIXED_DECIMALS - frac_digits);
        let mantissa = int_part
            .checked_mul(FIXED_SCALE)
            .and_then(|v| v.checked_add(frac_scaled))
            .ok_or(DecimalError::Overflow)?;
        Ok(Fixed(if neg { -mantissa } else { mantissa }))
    }

    /// The value as f64 (for features only; never for comparisons).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / FIXED_SCALE as f64
    }

    /// True when the value is exactly zero (a deleted level, Binance diff depth rule).
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let scale = FIXED_SCALE as u64;
        let frac = a % scale;
        if frac == 0 {
            write!(f, "{sign}{}", a / scale)
        } else {
            let s = format!("{frac:08}");
            write!(f, "{sign}{}.{}", a / scale, s.trim_end_matches('0'))
        }
    }
}

impl std::str::FromStr for Fixed {
    type Err = DecimalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fixed::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_binance_strings_exactly() {
        assert_eq!(Fixed::parse("61800.20"), Ok(Fixed(6_180_020_000_000)));
        assert_eq!(Fixed::parse("0.000"), Ok(Fixed(0)));
        assert_eq!(Fixed::parse("2.507"), Ok(Fixed(250_700_000)));
        assert_eq!(Fixed::parse("0.00000001"), Ok(Fixed(1)));
        assert_eq!(Fixed::parse("-1.5"), Ok(Fixed(-150_000_000)));
        assert_eq!(Fixed::parse("7"), Ok(Fixed(700_000_000)));
        assert_eq!(Fixed::parse("1.000000000"), Ok(Fixed(100_000_000)));
    }

    #[test]
    fn rejects_bad_strings() {
        assert_eq!(Fixed::parse(""), Err(DecimalError::Empty));
        assert_eq!(Fixed::parse("-"), Err(DecimalError::NoDigits));
        assert_eq!(Fixed::parse("."), Err(DecimalError::NoDigits));
        assert_eq!(Fixed::parse("1e5"), Err(DecimalError::InvalidChar('e')));
        assert_eq!(Fixed::parse("1.2.3"), Err(DecimalError::InvalidChar('.')));
        assert_eq!(
            Fixed::parse("0.000000001"),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(
            Fixed::parse("99999999999999999999"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(Fixed::parse("92233720368.6"), Err(DecimalError::Overflow));
    }

    #[test]
    fn display_round_trips() {
        assert_eq!(Fixed::parse("61800.20").unwrap().to_string(), "61800.2");
        assert_eq!(Fixed::parse("-0.5").unwrap().to_string(), "-0.5");
        assert_eq!(Fixed::parse("3").unwrap().to_string(), "3");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = Fixed::parse(&s);
        }

        #[test]
        fn fast_path_agrees_with_checked_parser(s in "[0-9]{0,20}(\\.[0-9]{0,10})?") {
            if let Some(f) = Fixed::parse_plain(s.as_bytes()) {
                prop_assert_eq!(Ok(f), Fixed::parse_checked(&s));
            }
            prop_assert_eq!(Fixed::parse(&s), Fixed::parse_checked(&s));
        }

        #[test]
        fn round_trip(m in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64) {
            let f = Fixed(m);
            prop_assert_eq!(Fixed::parse(&f.to_string()), Ok(f));
        }
    }
}
