//! A minimal real-number abstraction so that the dense path (two-pass correlation, Householder
//! tridiagonalisation, Sturm bisection) is written once and runs both in `f64` (test and
//! benchmark baseline) and in 320-bit binary floating point (the verify mode of SPEC §3:
//! "a high-precision mode checks the f64 results on demand"; seeds B §3.2 used 512-bit).

use dashu_base::SquareRoot;
use dashu_float::FBig;
use dashu_float::round::mode::HalfEven;
use std::cmp::Ordering;
use std::fmt::Debug;

/// Significand bits of the high-precision type used by [`crate::verify_bar`] (≥ 256, SPEC §3).
pub const HP_BITS: usize = 320;

/// The operations the dense routines need. Methods take references so that the big-float
/// implementation does not copy its limbs needlessly.
pub(crate) trait Real: Clone + Debug {
    fn from_f64(x: f64) -> Self;
    fn to_f64(&self) -> f64;
    fn add(&self, o: &Self) -> Self;
    fn sub(&self, o: &Self) -> Self;
    fn mul(&self, o: &Self) -> Self;
    fn div(&self, o: &Self) -> Self;
    fn sqrt(&self) -> Self;
    fn ln(&self) -> Self;
    fn abs(&self) -> Self;
    fn neg(&self) -> Self;
    fn cmp(&self, o: &Self) -> Ordering;
    fn is_zero(&self) -> bool;
    fn is_negative(&self) -> bool;
    /// A positive number far below the precision of any value of interest, used to step off
    /// an exact zero pivot in a Sturm count.
    fn tiny() -> Self;
    fn max(self, o: Self) -> Self {
        if self.cmp(&o) == Ordering::Less {
            o
        } else {
            self
        }
    }
    fn min(self, o: Self) -> Self {
        if o.cmp(&self) == Ordering::Less {
            o
        } else {
            self
        }
    }
}

impl Real for f64 {
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(&self) -> f64 {
        *self
    }
    #[inline]
    fn add(&self, o: &Self) -> Self {
        self + o
    }
    #[inline]
    fn sub(&self, o: &Self) -> Self {
        self - o
    }
    #[inline]
    fn mul(&self, o: &Self) -> Self {
        self * o
    }
    #[inline]
    fn div(&self, o: &Self) -> Self {
        self / o
    }
    #[inline]
    fn sqrt(&self) -> Self {
        f64::sqrt(*self)
    }
    #[inline]
    fn ln(&self) -> Self {
        f64::ln(*self)
    }
    #[inline]
    fn abs(&self) -> Self {
        f64::abs(*self)
    }
    #[inline]
    fn neg(&self) -> Self {
        -self
    }
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        self.total_cmp(o)
    }
    #[inline]
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
    #[inline]
    fn is_negative(&self) -> bool {
        *self < 0.0
    }
    #[inline]
    fn tiny() -> Self {
        1e-290
    }
}

/// A binary big float with [`HP_BITS`] significand bits, rounding half to even.
#[derive(Clone, Debug)]
pub(crate) struct Hp(FBig<HalfEven, 2>);

impl Hp {
    fn wrap(x: FBig<HalfEven, 2>) -> Self {
        Hp(x.with_precision(HP_BITS).value())
    }
}

impl Real for Hp {
    fn from_f64(x: f64) -> Self {
        // Exact: every finite f64 is a binary float with a 53-bit significand.
        let f =
            FBig::<HalfEven, 2>::try_from(x).expect("Hp::from_f64 called with a non-finite value");
        Hp::wrap(f)
    }
    fn to_f64(&self) -> f64 {
        self.0.to_f64().value()
    }
    fn add(&self, o: &Self) -> Self {
        Hp(&self.0 + &o.0)
    }
    fn sub(&self, o: &Self) -> Self {
        Hp(&self.0 - &o.0)
    }
    fn mul(&self, o: &Self) -> Self {
        Hp(&self.0 * &o.0)
    }
    fn div(&self, o: &Self) -> Self {
        Hp(&self.0 / &o.0)
    }
    fn sqrt(&self) -> Self {
        Hp(self.0.sqrt())
    }
    fn ln(&self) -> Self {
        Hp(self.0.ln())
    }
    fn abs(&self) -> Self {
        if self.is_negative() {
            self.neg()
        } else {
            self.clone()
        }
    }
    fn neg(&self) -> Self {
        Hp(-self.0.clone())
    }
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.cmp(&o.0)
    }
    fn is_zero(&self) -> bool {
        self.0.repr().is_zero()
    }
    fn is_negative(&self) -> bool {
        self.0.sign() == dashu_base::Sign::Negative && !self.is_zero()
    }
    fn tiny() -> Self {
        // 2^-1000 (exact in f64): far below 2^-320 relative to any correlation entry (all ≤ 1).
        Hp::from_f64(2f64.powi(-1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hp_round_trips_f64_and_is_more_precise() {
        let a = Hp::from_f64(0.1);
        assert_eq!(a.to_f64(), 0.1);
        // (1 + 2^-100) - 1 = 2^-100 exactly in 320-bit arithmetic, 0 in f64.
        let one = Hp::from_f64(1.0);
        let eps = Hp::from_f64(2f64.powi(-100));
        assert_eq!(one.add(&eps).sub(&one).to_f64(), 2f64.powi(-100));
        let r2 = Hp::from_f64(2.0).sqrt();
        assert!(r2.mul(&r2).sub(&Hp::from_f64(2.0)).to_f64().abs() < 1e-90);
        assert!((Hp::from_f64(std::f64::consts::E).ln().to_f64() - 1.0).abs() < 1e-15);
        assert_eq!(Hp::tiny().to_f64(), 2f64.powi(-1000));
        assert!(Hp::from_f64(-3.0).is_negative());
        assert_eq!(Hp::from_f64(-3.0).abs().to_f64(), 3.0);
        assert!(!Hp::from_f64(0.0).is_negative());
    }
}
