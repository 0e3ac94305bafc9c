//! Top eigenpair of a symmetric positive semi-definite operator by restarted Lanczos with full
//! reorthogonalisation, warm-started from the previous bar's eigenvector (issue 3 part 4;
//! SPEC §3 `lambda_max`). Stops on the residual `‖Ax − θx‖ ≤ tol·θ` (computed from the
//! recurrence, `β_j·|s_j|`); the caller falls back to the dense solver when the matvec budget
//! runs out.

/// A symmetric linear operator `y = A x` (a trait rather than a closure so that it is inlined
/// into the caller's code, including its AVX2 build).
pub(crate) trait MatVec {
    fn apply(&mut self, x: &[f64], y: &mut [f64]);
}

impl<F: FnMut(&[f64], &mut [f64])> MatVec for F {
    #[inline(always)]
    fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        self(x, y)
    }
}

/// Stopping rules of [`Lanczos::top`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SolveParams {
    /// Relative residual tolerance: stop when `‖Ax − θx‖ ≤ tol·θ`.
    pub tol: f64,
    /// Operator applications allowed before giving up (the caller then solves densely).
    pub max_matvecs: usize,
    /// A known lower bound of the top eigenvalue (1 for a correlation matrix).
    pub floor: f64,
    /// The operator's trace when it is PSD and the trace is known (n for a correlation matrix).
    pub trace: Option<f64>,
}

/// Result of one solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TopEigen {
    /// The top Ritz value θ (the Rayleigh quotient of the returned vector).
    pub lambda: f64,
    /// Operator applications used.
    pub matvecs: usize,
    /// Whether the residual test was met (or the Krylov space became invariant).
    pub converged: bool,
}

/// Reusable work space (no allocation per bar once warmed up).
#[derive(Debug, Default, Clone)]
pub(crate) struct Lanczos {
    basis: Vec<f64>,
    w: Vec<f64>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
    s: Vec<f64>,
    tmp: Vec<f64>,
}

/// Relative eigenvalue error accepted through the Kato–Temple bound (see [`Lanczos::top`]).
pub(crate) const EIGEN_REL_TOL: f64 = 1e-14;

/// Lanczos steps before an explicit restart from the current Ritz vector.
const MAX_STEPS: usize = 24;

impl Lanczos {
    /// Finds the top eigenpair of the `n`-dimensional operator `op` (`op(x, y)` sets `y = A x`).
    /// `x` holds the warm start on entry and the unit Ritz vector on exit. `floor` is a known
    /// lower bound of the top eigenvalue (1 for a correlation matrix, whose diagonal is 1): a
    /// Ritz value below it belongs to another eigenvector and is never accepted. `trace` is the
    /// trace of the PSD operator (n for a correlation matrix), if known: then every other
    /// eigenvalue is ≤ trace − λ_max ≤ trace − θ, and by the Kato–Temple bound
    /// `λ_max − θ ≤ r² / (2θ − trace)` whenever `2θ > trace`; the solve also stops when that
    /// bound is ≤ [`EIGEN_REL_TOL`]·θ (a rigorous bound on the eigenvalue error, usually
    /// reached one or two steps before the residual test).
    #[inline(always)]
    pub(crate) fn top<M: MatVec>(
        &mut self,
        n: usize,
        x: &mut [f64],
        op: &mut M,
        params: SolveParams,
    ) -> TopEigen {
        let SolveParams {
            tol,
            max_matvecs,
            floor,
            trace,
        } = params;
        assert_eq!(x.len(), n);
        let m = MAX_STEPS.min(n);
        self.basis.resize(m * n, 0.0);
        self.w.resize(n, 0.0);
        self.tmp.resize(n, 0.0);
        normalize_or_uniform(x);
        let mut matvecs = 0;
        let mut injected = 0usize;
        let accept = floor * (1.0 - 1e-9);
        loop {
            self.alpha.clear();
            self.beta.clear();
            self.basis[..n].copy_from_slice(x);
            let mut theta = f64::NEG_INFINITY;
            // After an injected block, give it a few steps before trusting the residual test.
            let mut check_from = 0;
            let mut j = 0;
            loop {
                let (vj, _) = self.basis[j * n..].split_at(n);
                op.apply(vj, &mut self.w);
                matvecs += 1;
                let a = dot(vj, &self.w);
                self.alpha.push(a);
                // Full reorthogonalisation, twice (classical Gram–Schmidt, "twice is enough").
                for _ in 0..2 {
                    for k in 0..=j {
                        let vk = &self.basis[k * n..(k + 1) * n];
                        let c = dot(vk, &self.w);
                        axpy(-c, vk, &mut self.w);
                    }
                }
                let b = norm(&self.w);
                let prev_theta = theta;
                theta = top_of_tridiagonal(&self.alpha, &self.beta, prev_theta, b_last(&self.beta));
                ritz_coefficients(&self.alpha, &self.beta, theta, &mut self.s, &mut self.tmp);
                let resid = b * self.s[j].abs();
                let scale = theta.abs().max(floor).max(f64::MIN_POSITIVE);
                let invariant = b <= 1e-13 * scale;
                let full = j + 1 == n;
                let above = theta >= accept;
                let kato_temple = match trace {
                    Some(tr) if 2.0 * theta > tr => {
                        resid * resid <= EIGEN_REL_TOL * theta * (2.0 * theta - tr)
                    }
                    _ => false,
                };
                if full
                    || (above && invariant && injected > 0)
                    || (above
                        && !invariant
                        && j >= check_from
                        && (resid <= tol * scale || kato_temple))
                {
                    self.ritz_vector(n, j + 1, x);
                    return TopEigen {
                        lambda: theta,
                        matvecs,
                        converged: true,
                    };
                }
                if matvecs >= max_matvecs {
                    self.ritz_vector(n, j + 1, x);
                    return TopEigen {
                        lambda: theta,
                        matvecs,
                        converged: false,
                    };
                }
                if j + 1 == m {
                    break;
                }
                self.beta.push(if invariant { 0.0 } else { b });
                let next = &mut self.basis[(j + 1) * n..(j + 2) * n];
                if invariant {
                    // Krylov space invariant before the top was certified: continue with a fixed
                    // pseudo-random vector orthogonal to the basis (a new block of T).
                    injected += 1;
                    check_from = j + 4;
                    for (i, v) in next.iter_mut().enumerate() {
                        *v = pseudo_random(i + injected * n);
                    }
                    let (done, rest) = self.basis.split_at_mut((j + 1) * n);
                    let next = &mut rest[..n];
                    for _ in 0..2 {
                        for k in 0..=j {
                            let vk = &done[k * n..(k + 1) * n];
                            let c = dot(vk, next);
                            axpy(-c, vk, next);
                        }
                    }
                    normalize_or_uniform(next);
                } else {
                    let inv = 1.0 / b;
                    for (d, s) in next.iter_mut().zip(self.w.iter()) {
                        *d = s * inv;
                    }
                }
                j += 1;
            }
            // Restart from the Ritz vector.
            self.ritz_vector(n, m, x);
            normalize_or_uniform(x);
        }
    }

    #[inline(always)]
    fn ritz_vector(&self, n: usize, k: usize, x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = 0.0);
        for (c, vk) in self.s[..k].iter().zip(self.basis.chunks_exact(n)) {
            axpy(*c, vk, x);
        }
    }
}

fn b_last(beta: &[f64]) -> f64 {
    beta.last().copied().unwrap_or(0.0)
}

/// Largest eigenvalue of the symmetric tridiagonal with diagonal `alpha` and off-diagonal
/// `beta` (`beta.len() == alpha.len() − 1`), by Newton's method on `det(xI − T)` from above
/// (monotone for the largest root), using the pivot-ratio recurrence so nothing overflows.
/// `prev` is the top eigenvalue of the leading block without the last row (or −∞) and
/// `b` the last off-diagonal: by Weyl, `θ ≤ max(prev, α_last) + b`.
pub(crate) fn top_of_tridiagonal(alpha: &[f64], beta: &[f64], prev: f64, b: f64) -> f64 {
    let k = alpha.len();
    if k == 1 {
        return alpha[0];
    }
    let mut gersh = f64::NEG_INFINITY;
    for i in 0..k {
        let l = if i > 0 { beta[i - 1].abs() } else { 0.0 };
        let r = if i + 1 < k { beta[i].abs() } else { 0.0 };
        gersh = gersh.max(alpha[i] + l + r);
    }
    let weyl = if prev.is_finite() {
        prev.max(alpha[k - 1]) + b.abs()
    } else {
        f64::INFINITY
    };
    let mut x = gersh.min(weyl);
    // Nudge above so that every pivot is positive at the start.
    x += 4.0 * f64::EPSILON * x.abs().max(1e-300);
    let mut lower = if prev.is_finite() {
        prev
    } else {
        f64::NEG_INFINITY
    };
    let mut upper = x;
    for _ in 0..200 {
        // q_i = pivots of LDLᵀ of (xI − T); all positive iff x > λ_max.
        let mut q = x - alpha[0];
        let mut dq = 1.0;
        let mut below = q <= 0.0;
        let mut ratio = if q != 0.0 { dq / q } else { f64::INFINITY };
        for i in 1..k {
            if below {
                break;
            }
            let b2 = beta[i - 1] * beta[i - 1];
            let dq_new = 1.0 + b2 * dq / (q * q);
            let q_new = x - alpha[i] - b2 / q;
            q = q_new;
            dq = dq_new;
            if q <= 0.0 {
                below = true;
            } else {
                ratio += dq / q;
            }
        }
        if below {
            // x is at or below λ_max: bisect between it and the last point above.
            lower = lower.max(x);
            let mid = 0.5 * (lower + upper);
            if mid <= lower || mid >= upper {
                return upper;
            }
            x = mid;
            continue;
        }
        upper = x;
        let step = 1.0 / ratio;
        let next = x - step;
        if step.is_nan() || step <= 2.0 * f64::EPSILON * x.abs() || next <= lower {
            return next.max(lower);
        }
        x = next;
    }
    upper
}

/// Unit eigenvector `s` of the tridiagonal for its top eigenvalue `theta` by two steps of
/// inverse iteration with the shift just above `theta` (so `σI − T` is positive definite and
/// its LDLᵀ needs no pivoting).
fn ritz_coefficients(
    alpha: &[f64],
    beta: &[f64],
    theta: f64,
    s: &mut Vec<f64>,
    tmp: &mut Vec<f64>,
) {
    let k = alpha.len();
    s.clear();
    s.resize(k, 1.0);
    if k == 1 {
        return;
    }
    let mut scale = theta.abs();
    for (a, b) in alpha.iter().zip(beta.iter()) {
        scale = scale.max(a.abs()).max(b.abs());
    }
    let sigma = theta + 1e-12 * scale.max(1e-300);
    tmp.clear();
    tmp.resize(k, 0.0);
    for _ in 0..2 {
        // Forward: d_i pivots of (σI − T) = L D Lᵀ ; solve L y = s, then D Lᵀ s = y.
        let mut d_prev = sigma - alpha[0];
        tmp[0] = d_prev;
        for i in 1..k {
            let l = -beta[i - 1] / d_prev;
            s[i] -= l * s[i - 1];
            d_prev = sigma - alpha[i] - l * (-beta[i - 1]);
            tmp[i] = d_prev;
        }
        s[k - 1] /= tmp[k - 1];
        for i in (0..k - 1).rev() {
            let l = -beta[i] / tmp[i];
            s[i] = s[i] / tmp[i] - l * s[i + 1];
        }
        normalize_or_uniform(s);
    }
}

/// A fixed, well spread pseudo-random sequence in (−0.5, 0.5) (splitmix64 of the index).
pub(crate) fn pseudo_random(i: usize) -> f64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

#[inline(always)]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four lanes in a fixed order: vectorises without reassociation, so the result has the same
    // bits at any vector width.
    let b = &b[..a.len()];
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline(always)]
pub(crate) fn axpy(c: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x.iter()) {
        *yi += c * xi;
    }
}

#[inline(always)]
fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Scales `x` to unit length; an all-zero (or non-finite) `x` becomes the uniform unit vector.
#[inline(always)]
pub(crate) fn normalize_or_uniform(x: &mut [f64]) {
    let nrm = norm(x);
    if nrm > 0.0 && nrm.is_finite() {
        let inv = 1.0 / nrm;
        x.iter_mut().for_each(|v| *v *= inv);
    } else {
        let u = 1.0 / (x.len() as f64).sqrt();
        x.iter_mut().for_each(|v| *v = u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense_eigen::{F64_BISECTION_STEPS, dense_lambda_max};
    use proptest::prelude::*;

    fn matvec(a: &[f64], n: usize) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |x, y| {
            for i in 0..n {
                y[i] = dot(&a[i * n..(i + 1) * n], x);
            }
        }
    }

    #[test]
    fn tridiagonal_top_matches_hand_values() {
        // [[2,1],[1,2]] → 3 ; 1-2-1 Laplacian of size 3 (diag 2, off −1) → 2 + √2.
        assert!((top_of_tridiagonal(&[2.0, 2.0], &[1.0], 2.0, 1.0) - 3.0).abs() < 1e-15);
        let t = top_of_tridiagonal(&[2.0, 2.0, 2.0], &[-1.0, -1.0], f64::NEG_INFINITY, 1.0);
        assert!((t - (2.0 + 2f64.sqrt())).abs() < 1e-14, "{t}");
    }

    #[test]
    fn equicorrelation_from_uniform_and_negative_rho_breakdown() {
        // rho > 0: the uniform start is the top eigenvector, exact at once.
        let n = 12;
        for &rho in &[0.4f64, -0.05] {
            let mut a = vec![rho; n * n];
            for i in 0..n {
                a[i * n + i] = 1.0;
            }
            let mut x = vec![1.0; n];
            let r = Lanczos::default().top(
                n,
                &mut x,
                &mut matvec(&a, n),
                SolveParams {
                    tol: 1e-12,
                    max_matvecs: 500,
                    floor: 1.0,
                    trace: None,
                },
            );
            let want = if rho > 0.0 {
                1.0 + (n as f64 - 1.0) * rho
            } else {
                1.0 - rho
            };
            assert!(r.converged);
            assert!(
                (r.lambda - want).abs() < 1e-12,
                "rho {rho}: {} vs {want}",
                r.lambda
            );
        }
    }

    proptest! {
        #[test]
        fn matches_dense_on_random_correlation_like_matrices(
            vals in proptest::collection::vec(-1.0f64..1.0, 20 * 8),
            n in 2usize..20,
        ) {
            // C = normalised Gram matrix of random factor loadings (a valid correlation matrix).
            let k = 8;
            let mut c = vec![0.0; n * n];
            let rows: Vec<&[f64]> = (0..n).map(|i| &vals[i * k..(i + 1) * k]).collect();
            for i in 0..n { for j in 0..n { c[i * n + j] = dot(rows[i], rows[j]); } }
            let d: Vec<f64> = (0..n).map(|i| c[i * n + i].sqrt()).collect();
            prop_assume!(d.iter().all(|v| *v > 1e-3));
            for i in 0..n { for j in 0..n { c[i * n + j] /= d[i] * d[j]; } }
            let mut dense = c.clone();
            let want = dense_lambda_max(&mut dense, n, F64_BISECTION_STEPS);
            let mut x: Vec<f64> = (0..n).map(pseudo_random).collect();
            let r = Lanczos::default().top(n, &mut x, &mut matvec(&c, n), SolveParams { tol: 1e-12, max_matvecs: 10_000, floor: 1.0, trace: Some(n as f64) });
            prop_assert!(r.converged);
            prop_assert!((r.lambda - want).abs() <= 1e-11 * want, "{} vs {}", r.lambda, want);
        }
    }
}
