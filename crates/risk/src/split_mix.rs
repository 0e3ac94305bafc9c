//! SplitMix64: the small deterministic generator of the MC-Forewarner (SPEC §3
//! "MC-Forewarner"; docs/MC_FOREWARNER.md "Random numbers").
//!
//! Steele, Lea & Flood (2014): the state advances by the golden-ratio increment and each
//! output is the state passed through a 64-bit finaliser. One generator per Monte-Carlo path,
//! seeded from `(run seed, path index)`, makes every path independent of thread scheduling.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A SplitMix64 stream (MC-Forewarner bootstrap and perturbation draws, SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The SplitMix64 finaliser (a bijective 64-bit mixer).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The stream of path `index` of a run seeded with `seed`: the seed of the path is the
    /// `index + 1`-th output of `SplitMix64::new(seed)`, so paths do not share draws.
    pub fn for_path(seed: u64, index: u64) -> Self {
        Self::new(mix64(
            seed.wrapping_add(GAMMA.wrapping_mul(index.wrapping_add(1))),
        ))
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift; the bias is below 2⁻³² for the
    /// small `n` used here). `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A standard normal deviate by the Box–Muller transform (one of the pair is used, so
    /// every call consumes exactly two uniforms).
    pub fn normal(&mut self) -> f64 {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs_of_splitmix64() {
        // Reference values of SplitMix64 seeded with 1234567 (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(r.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn for_path_is_the_indexed_output_of_the_run_stream() {
        let mut run = SplitMix64::new(42);
        for i in 0..5 {
            let expected = run.next_u64();
            assert_eq!(SplitMix64::for_path(42, i), SplitMix64::new(expected));
        }
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = SplitMix64::new(7);
        let n = 200_000;
        let (mut s, mut s2, mut below_ok) = (0.0, 0.0, true);
        for _ in 0..n {
            let z = r.normal();
            s += z;
            s2 += z * z;
            let k = r.below(6);
            below_ok &= k < 6;
            let u = r.next_f64();
            below_ok &= (0.0..1.0).contains(&u);
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        assert!(below_ok);
    }
}
