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

/// A generated market with the events of real Binance data (issue 15): see [`realistic_panel`].
pub struct RealisticPanel {
    pub n: usize,
    /// Open times (ms) of the rows; minutes where no asset traded (a market-wide outage) are
    /// absent, as in a panel built from real kline files (SPEC §6: no invented grid).
    pub open_times: Vec<i64>,
    /// Row-major `open_times.len() × n` closes on each asset's tick grid; NaN = no candle.
    pub closes: Vec<f64>,
    /// Decimals of each asset's tick (the price is a multiple of 10^−decimals).
    pub decimals: Vec<u32>,
    /// Whether the asset is a stablecoin (price near 1, mostly unchanged bar to bar).
    pub stable: Vec<bool>,
    /// Per row: 1 when the market is in the stressed regime.
    pub stressed: Vec<u8>,
}

/// Start of the generated panels' first row: 2025-01-01 00:00 UTC.
pub const REALISTIC_T0_MS: i64 = 1_735_689_600_000;

/// A realistic `n`-asset panel of `bars` minutes (issue 15), fixed by `seed`:
/// - one-factor market `r_it = β_i f_t + σ_i e_it`, β in [0.2, 1.8], σ log-uniform in
///   [0.6e-3, 3e-3]; the factor switches between a **calm** regime (factor vol 0.35e-3: the top
///   eigenvalue is poorly separated from the noise bulk) and a **stressed** one (factor vol
///   3e-3, idiosyncratic vol × 1.5), calm spells 200–900 bars, stressed 60–300;
/// - prices on a tick grid of ~5 significant digits (zero returns happen);
/// - about 1 asset in 100 is a stablecoin (price 1 ± ticks of 1e-4, mostly unchanged: it drops
///   out of windows where all its returns are identical);
/// - 10 % of the assets are **listed late** (first candle at a random row in the first 80 %),
///   5 % are **delisted early** (last candle in the last 70 %);
/// - **isolated missing candles**: each asset-minute is missing with probability 5e-5;
/// - one market-wide outage of 3 minutes (no row at all) when `bars` ≥ 1000.
///
/// `clean = true` gives the same market without listings, delistings, missing candles,
/// outages or stablecoins (every asset trades every minute).
pub fn realistic_panel(n: usize, bars: usize, seed: u64, clean: bool) -> RealisticPanel {
    let mut rng = Rng::new(seed ^ 0xD01F_1415);
    let mut beta = Vec::with_capacity(n);
    let mut sigma = Vec::with_capacity(n);
    let mut logp = Vec::with_capacity(n);
    let mut decimals = Vec::with_capacity(n);
    let mut stable = Vec::with_capacity(n);
    for i in 0..n {
        let is_stable = !clean && n >= 16 && i % 97 == 13;
        stable.push(is_stable);
        if is_stable {
            beta.push(0.0);
            sigma.push(4e-5);
            logp.push(0.0);
            decimals.push(4);
            continue;
        }
        beta.push(0.2 + 1.6 * rng.uniform());
        sigma.push((0.6e-3f64.ln() + rng.uniform() * (3e-3f64 / 0.6e-3).ln()).exp());
        let p0 = (0.01f64.ln() + rng.uniform() * (50_000f64 / 0.01).ln()).exp();
        logp.push(p0.ln());
        decimals.push((4 - p0.log10().floor() as i32).clamp(0, 8) as u32);
    }
    // Listing and delisting rows (inclusive first / last row with a candle).
    let mut first = vec![0usize; n];
    let mut last = vec![bars.saturating_sub(1); n];
    if !clean {
        for i in 0..n {
            if stable[i] {
                continue;
            }
            let u = rng.uniform();
            if u < 0.10 {
                first[i] = (rng.uniform() * 0.8 * bars as f64) as usize;
            } else if u < 0.15 {
                last[i] = ((0.3 + 0.7 * rng.uniform()) * bars as f64) as usize;
            }
        }
    }
    let outage = if !clean && bars >= 1000 {
        Some(bars / 3)
    } else {
        None
    };
    let mut open_times = Vec::with_capacity(bars);
    let mut closes = Vec::with_capacity(bars * n);
    let mut stressed = Vec::with_capacity(bars);
    let (mut is_stressed, mut spell_left) = (false, 200 + (rng.uniform() * 700.0) as usize);
    for t in 0..bars {
        if spell_left == 0 {
            is_stressed = !is_stressed;
            spell_left = if is_stressed {
                60 + (rng.uniform() * 240.0) as usize
            } else {
                200 + (rng.uniform() * 700.0) as usize
            };
        }
        spell_left -= 1;
        let (fvol, ivol) = if is_stressed {
            (3e-3, 1.5)
        } else {
            (0.35e-3, 1.0)
        };
        let f = fvol * rng.normal();
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            let e = rng.normal();
            let miss = rng.uniform();
            if t > 0 {
                logp[i] += if stable[i] {
                    // Mean-reverting peg.
                    -0.05 * logp[i] + sigma[i] * e
                } else {
                    beta[i] * f + ivol * sigma[i] * e
                };
            }
            let scale = 10f64.powi(decimals[i] as i32);
            let p = (logp[i].exp() * scale).round().max(1.0) / scale;
            let listed = t >= first[i] && t <= last[i];
            let missing = !clean && miss < 5e-5;
            row.push(if listed && !missing { p } else { f64::NAN });
        }
        let in_outage = outage.is_some_and(|o| t >= o && t < o + 3);
        if in_outage || row.iter().all(|v| v.is_nan()) {
            continue;
        }
        open_times.push(REALISTIC_T0_MS + 60_000 * t as i64);
        closes.extend_from_slice(&row);
        stressed.push(is_stressed as u8);
    }
    RealisticPanel {
        n,
        open_times,
        closes,
        decimals,
        stable,
        stressed,
    }
}

/// Writes `p` as Binance kline CSVs into `dir`: one `S<iii>USDT-<interval>.csv[.gz]` per asset
/// with the twelve Binance columns and a header, a line per candle (none where the close is
/// NaN), open times re-spaced to `step_ms`. Closes are printed with the asset's tick decimals,
/// so a reader parses back exactly the panel's f64 closes. Returns the number of candles.
pub fn write_klines(
    p: &RealisticPanel,
    dir: &std::path::Path,
    interval: &str,
    step_ms: i64,
    gz: bool,
    seed: u64,
) -> std::io::Result<usize> {
    use std::io::{BufWriter, Write};
    std::fs::create_dir_all(dir)?;
    let (n, rows) = (p.n, p.open_times.len());
    let mut rng = Rng::new(seed.wrapping_add(99));
    let mut candles = 0usize;
    for i in 0..n {
        let name = format!("S{i:03}USDT-{interval}.csv{}", if gz { ".gz" } else { "" });
        let file = std::fs::File::create(dir.join(&name))?;
        let mut w: Box<dyn Write> = if gz {
            Box::new(BufWriter::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            )))
        } else {
            Box::new(BufWriter::new(file))
        };
        writeln!(
            w,
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
        )?;
        let d = p.decimals[i] as usize;
        let tick = 10f64.powi(-(d as i32));
        let mut prev = f64::NAN;
        for r in 0..rows {
            let c = p.closes[r * n + i];
            if c.is_nan() {
                prev = f64::NAN;
                continue;
            }
            let open = if prev.is_nan() { c } else { prev };
            let wick = (rng.uniform() * 3.0).floor() * tick;
            let (hi, lo) = (open.max(c) + wick, (open.min(c) - wick).max(tick));
            let vol = (rng.uniform() * 1000.0 + 1.0).round();
            let t = REALISTIC_T0_MS + (p.open_times[r] - REALISTIC_T0_MS) / 60_000 * step_ms;
            let count = 1 + (rng.uniform() * 500.0) as u64;
            let quote = vol * c;
            writeln!(
                w,
                "{t},{open:.d$},{hi:.d$},{lo:.d$},{c:.d$},{vol:.1},{},{quote:.4},{count},{:.1},{:.4},0",
                t + step_ms - 1,
                vol * 0.5,
                quote * 0.5,
            )?;
            prev = c;
            candles += 1;
        }
        w.flush()?;
    }
    Ok(candles)
}
