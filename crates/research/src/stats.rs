//! Small statistics used by the overfitting guards: moments of a return series, the
//! standard normal distribution function and its inverse.

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (ddof 1); NaN with fewer than 2 values.
pub fn std_ddof1(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

/// Per-period Sharpe ratio `mean / std (ddof 1)`, not annualised (SPEC §5 before × √365);
/// `None` with < 2 values or zero std.
pub fn sharpe(x: &[f64]) -> Option<f64> {
    let s = std_ddof1(x);
    (s.is_finite() && s > 0.0).then(|| mean(x) / s)
}

/// SPEC §5: annualised from daily, × √365.
pub fn annualise(daily: f64) -> f64 {
    daily * 365f64.sqrt()
}

/// Compounded return of a series: Π(1 + r) − 1.
pub fn compound(x: &[f64]) -> f64 {
    x.iter().fold(1.0, |a, r| a * (1.0 + r)) - 1.0
}

/// Skewness `m3 / m2^1.5` with population moments (scipy `skew`, bias=True).
pub fn skewness(x: &[f64]) -> f64 {
    let m = mean(x);
    let n = x.len() as f64;
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - m).powi(3)).sum::<f64>() / n;
    m3 / m2.powf(1.5)
}

/// Kurtosis `m4 / m2²` (not excess; 3 for a normal law), population moments.
pub fn kurtosis(x: &[f64]) -> f64 {
    let m = mean(x);
    let n = x.len() as f64;
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / n;
    m4 / (m2 * m2)
}

/// Standard normal distribution function Φ(x) = ½·erfc(−x/√2).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Inverse of Φ for p in (0, 1): Acklam's rational approximation refined by one Halley step
/// on Φ (full double precision); ±∞ at 0 and 1, NaN outside.
pub fn norm_ppf(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let plow = 0.02425;
    let x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step: e = Φ(x) − p, u = e·√(2π)·exp(x²/2).
    let e = norm_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_golden_values() {
        // Python 3 statistics.NormalDist().cdf / inv_cdf.
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((norm_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((norm_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-15);
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-13);
        assert!((norm_ppf(0.99) - 2.326_347_874_040_841).abs() < 1e-13);
        assert!((norm_ppf(0.001) + 3.090_232_306_167_813_6).abs() < 1e-12);
        assert!((norm_ppf(0.5)).abs() < 1e-15);
        for p in [1e-9, 0.01, 0.3, 0.7, 0.999_999] {
            assert!(
                (norm_cdf(norm_ppf(p)) - p).abs() < 1e-14 * p.max(1e-3),
                "{p}"
            );
        }
    }

    #[test]
    fn moments_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        // mean 4; deviations −3 −2 −1 0 6; m2 = 50/5 = 10; m3 = (−27−8−1+0+216)/5 = 36;
        // m4 = (81+16+1+0+1296)/5 = 278.8.
        assert_eq!(mean(&x), 4.0);
        assert!((skewness(&x) - 36.0 / 10f64.powf(1.5)).abs() < 1e-15);
        assert!((kurtosis(&x) - 2.788).abs() < 1e-15);
        // std ddof1 = sqrt(50/4).
        assert!((std_ddof1(&x) - 12.5f64.sqrt()).abs() < 1e-15);
        assert!((sharpe(&x).unwrap() - 4.0 / 12.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(sharpe(&[1.0, 1.0]), None);
        assert_eq!(sharpe(&[1.0]), None);
        assert!((compound(&[0.1, -0.1]) - (1.1 * 0.9 - 1.0)).abs() < 1e-16);
    }
}
