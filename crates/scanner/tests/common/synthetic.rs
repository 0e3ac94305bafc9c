//! Test/bench helper: random-walk prices with a common factor (so correlations look like a
//! market's), from a fixed-seed generator.

/// xorshift64* generator with Box–Muller normals.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Row-major `bars × n` closes: log price of asset i moves by `beta_i·f_t + e_it` with a
/// common factor f (vol 1e-3) and idiosyncratic noise (vol 1e-3), betas in [0.3, 1.5], and
/// a regime switch of the factor volatility every 500 bars.
pub fn factor_random_walk(n: usize, bars: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let betas: Vec<f64> = (0..n).map(|_| 0.3 + 1.2 * rng.uniform()).collect();
    let mut logp: Vec<f64> = (0..n)
        .map(|_| (10.0 + 1000.0 * rng.uniform()).ln())
        .collect();
    let mut out = Vec::with_capacity(n * bars);
    for t in 0..bars {
        let fvol = if (t / 500) % 2 == 0 { 1e-3 } else { 2.5e-3 };
        let f = fvol * rng.normal();
        for i in 0..n {
            if t > 0 {
                logp[i] += betas[i] * f + 1e-3 * rng.normal();
            }
            out.push(logp[i].exp());
        }
    }
    out
}
