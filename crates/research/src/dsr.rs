//! The deflated Sharpe ratio (Bailey & López de Prado, "The Deflated Sharpe Ratio:
//! Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio
//! Management 40(5), 2014), for the best configuration of a sweep.
//!
//! * Probabilistic Sharpe ratio against a benchmark SR*:
//!   `PSR(SR*) = Φ( (SR^ − SR*)·√(T − 1) / √(1 − γ3·SR^ + (γ4 − 1)/4·SR^²) )`,
//!   SR^ the per-period (non-annualised) Sharpe of the selected strategy over T returns, γ3
//!   its skewness, γ4 its kurtosis (3 for normal returns).
//! * Expected maximum Sharpe of N independent trials with variance V of their Sharpe
//!   estimates: `SR0 = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))`, γ the
//!   Euler–Mascheroni constant.
//! * `DSR = PSR(SR0)`: the probability that the true Sharpe of the selected configuration is
//!   above what the best of N unskilled trials would show.
//!
//! Decisions (`docs/RESEARCH.md`): N = the number of configurations of the sweep with a defined
//! Sharpe (the trials are not independent — neighbouring grid points are correlated — so this
//! N makes the deflation conservative); V = the sample variance (ddof 1) of their per-period
//! Sharpe ratios; returns are daily (`pnl / capital at day start`, SPEC §5).

use crate::stats::{kurtosis, norm_cdf, norm_ppf, sharpe, skewness};
use serde::Serialize;

/// Euler–Mascheroni constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// PSR(SR*) for a per-period Sharpe `sr` over `t` returns with skewness `skew` and kurtosis
/// `kurt` (not excess).
pub fn probabilistic_sharpe(sr: f64, sr_star: f64, t: usize, skew: f64, kurt: f64) -> f64 {
    let den = (1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr).sqrt();
    norm_cdf((sr - sr_star) * ((t as f64) - 1.0).sqrt() / den)
}

/// SR0: the expected maximum per-period Sharpe of `n` trials whose Sharpe estimates have
/// variance `var` (0 for n ≤ 1).
pub fn expected_max_sharpe(n: usize, var: f64) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    var.sqrt()
        * ((1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / n)
            + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// The deflated Sharpe ratio of a sweep's selected configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeflatedSharpe {
    /// Trials with a defined Sharpe.
    pub trials: usize,
    /// Variance (ddof 1) of their per-period Sharpe ratios.
    pub sharpe_variance: f64,
    /// SR0, per period.
    pub expected_max_sharpe: f64,
    /// The selected configuration's per-period Sharpe, skewness, kurtosis, returns.
    pub sharpe: f64,
    pub skewness: f64,
    pub kurtosis: f64,
    pub observations: usize,
    /// PSR against 0.
    pub psr0: f64,
    /// DSR = PSR(SR0).
    pub dsr: f64,
}

/// DSR for `selected` (its per-period returns) among trials with per-period Sharpe ratios
/// `all_sharpes` (undefined ones already dropped). `None` when the selected returns have no
/// Sharpe or fewer than 2 trials are given.
pub fn deflated_sharpe(selected: &[f64], all_sharpes: &[f64]) -> Option<DeflatedSharpe> {
    let sr = sharpe(selected)?;
    let n = all_sharpes.len();
    let var = crate::stats::std_ddof1(all_sharpes).powi(2);
    if n < 2 || !var.is_finite() {
        return None;
    }
    let (skew, kurt) = (skewness(selected), kurtosis(selected));
    let sr0 = expected_max_sharpe(n, var);
    Some(DeflatedSharpe {
        trials: n,
        sharpe_variance: var,
        expected_max_sharpe: sr0,
        sharpe: sr,
        skewness: skew,
        kurtosis: kurt,
        observations: selected.len(),
        psr0: probabilistic_sharpe(sr, 0.0, selected.len(), skew, kurt),
        dsr: probabilistic_sharpe(sr, sr0, selected.len(), skew, kurt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand from the paper's formulas; Φ and Φ⁻¹ values from Python's
    /// `statistics.NormalDist`. N = 10 trials, V = 0.01, SR^ = 0.3 per day, T = 44,
    /// γ3 = −0.5, γ4 = 4:
    /// Φ⁻¹(0.9) = 1.2815515655446008; Φ⁻¹(1 − 1/(10e)) = 1.7892417645816279;
    /// SR0 = 0.1·(0.42278433509846713·1.28155… + 0.5772156649015329·1.78924…) = 0.157459830134575;
    /// denominator √(1 + 0.5·0.3 + 0.75·0.09) = √1.2175 = 1.1034038245356954;
    /// z = (0.3 − 0.15746)·√43 / 1.10340 = 0.8471045508016101; DSR = Φ(z) = 0.8015315756036945;
    /// PSR(0) = Φ(0.3·√43/1.10340) = 0.9626967074580239.
    #[test]
    fn golden_dsr_worked_by_hand() {
        let sr0 = expected_max_sharpe(10, 0.01);
        assert!((sr0 - 0.157_459_830_134_575).abs() < 1e-14, "{sr0}");
        let dsr = probabilistic_sharpe(0.3, sr0, 44, -0.5, 4.0);
        assert!((dsr - 0.801_531_575_603_694_5).abs() < 1e-13, "{dsr}");
        let psr = probabilistic_sharpe(0.3, 0.0, 44, -0.5, 4.0);
        assert!((psr - 0.962_696_707_458_023_9).abs() < 1e-13, "{psr}");
        // One trial: no deflation.
        assert_eq!(expected_max_sharpe(1, 0.5), 0.0);
        // More trials deflate more.
        assert!(expected_max_sharpe(1000, 0.01) > expected_max_sharpe(10, 0.01));
    }

    #[test]
    fn deflated_sharpe_of_a_series() {
        let sel = [0.01, -0.005, 0.02, 0.0, 0.015, -0.01, 0.005];
        let d = deflated_sharpe(&sel, &[0.1, 0.2, 0.3, 0.4]).unwrap();
        assert_eq!(d.trials, 4);
        assert!((d.sharpe_variance - 0.016_666_666_666_666_666).abs() < 1e-15);
        assert_eq!(d.observations, 7);
        let sr = sharpe(&sel).unwrap();
        let expect = probabilistic_sharpe(
            sr,
            expected_max_sharpe(4, d.sharpe_variance),
            7,
            skewness(&sel),
            kurtosis(&sel),
        );
        assert_eq!(d.dsr, expect);
        assert!(d.dsr < d.psr0);
        assert!(deflated_sharpe(&sel, &[0.1]).is_none());
        assert!(deflated_sharpe(&[0.0, 0.0], &[0.1, 0.2]).is_none());
    }
}
