//! Generated day frames for benchmarks and scale tests (48 and 400 assets): geometric random
//! walks with a common market factor and a mean-reverting `vel_div` that crosses the entry
//! threshold now and then. Deterministic for a seed.

use crate::rng::Mt19937;
use dolphin_core::{DayFrame, DayRow, UtcDate};

fn normal(rng: &mut Mt19937) -> f64 {
    // Box–Muller on two uniform draws.
    let u1 = rng.random().max(1e-300);
    let u2 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Asset names `BTCUSDT` then `A0001USDT`, `A0002USDT`, … (BTCUSDT is the volatility reference).
pub fn synthetic_assets(n_assets: usize) -> Vec<String> {
    let mut v = vec!["BTCUSDT".to_string()];
    v.extend((1..n_assets).map(|i| format!("A{i:04}USDT")));
    v
}

/// `days` consecutive day frames of `rows` bars each, starting at `start`.
pub fn synthetic_days(
    start: UtcDate,
    days: usize,
    rows: usize,
    n_assets: usize,
    seed: u32,
) -> Vec<DayFrame> {
    let mut rng = Mt19937::new(seed);
    let assets = synthetic_assets(n_assets);
    let mut price: Vec<f64> = (0..n_assets).map(|i| 10.0 + i as f64).collect();
    let mut vd = 0.0f64;
    let mut date = start;
    let mut scan = 0i64;
    let step_ms = 86_400_000 / rows as i64;
    let mut out = Vec::with_capacity(days);
    for _ in 0..days {
        let mut f = DayFrame::empty(date, assets.clone());
        let t0 = date.start_ms();
        for r in 0..rows {
            vd = 0.97 * vd + 0.006 * normal(&mut rng);
            let market = 0.0008 * normal(&mut rng);
            for p in price.iter_mut() {
                *p *= (market + 0.0006 * normal(&mut rng)).exp();
            }
            let row = DayRow::new(t0 + r as i64 * step_ms, scan, &price)
                .vel_div(vd)
                .velocities([vd * 0.5; 4])
                .instability(vd * 0.5, vd * 0.5);
            f.push_row(&row).expect("one price per asset");
            scan += 1;
        }
        out.push(f);
        date = date.succ();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let d = "2025-01-01".parse().unwrap();
        let a = synthetic_days(d, 2, 100, 5, 7);
        let b = synthetic_days(d, 2, 100, 5, 7);
        assert_eq!(a, b);
        assert_eq!(a[1].date.to_string(), "2025-01-02");
        for f in &a {
            f.check_shape().unwrap();
            assert!(f.prices.iter().all(|p| p.is_finite() && *p > 0.0));
        }
        assert!(
            a[0].vel_div.iter().any(|&v| v < -0.02),
            "the signal fires sometimes"
        );
    }
}
