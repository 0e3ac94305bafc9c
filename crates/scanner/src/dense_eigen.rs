//! Dense symmetric eigenvalue solver for `lambda_max` (SPEC §3 "lambda_max(C_w)"): Householder
//! reduction to tridiagonal form, then bisection on Sturm counts for the largest eigenvalue.
//! Written once over [`Real`] so the same code is the f64 baseline / fallback and the
//! high-precision verifier. Bisection is backward stable: the result is the largest eigenvalue
//! of a matrix within a few ulps (of the working precision) of the input.

use crate::real::Real;

/// Reduces the symmetric `n × n` row-major matrix `a` (destroyed) to tridiagonal form
/// `T = Qᵀ A Q`; returns `(diagonal, off_diagonal)` with `off_diagonal.len() == n − 1`.
pub(crate) fn tridiagonalize<T: Real>(a: &mut [T], n: usize) -> (Vec<T>, Vec<T>) {
    assert_eq!(a.len(), n * n, "tridiagonalize: matrix is not n × n");
    let zero = T::from_f64(0.0);
    let mut d = Vec::with_capacity(n);
    let mut e = Vec::with_capacity(n.saturating_sub(1));
    let mut v = vec![zero.clone(); n];
    let mut p = vec![zero.clone(); n];
    for k in 0..n.saturating_sub(2) {
        d.push(a[k * n + k].clone());
        let m0 = k + 1; // the reflector acts on rows/columns m0..n
        // Column k below the diagonal, scaled by its largest entry so that squares neither
        // underflow nor overflow (the reflector only depends on the direction of v).
        let mut scale = zero.clone();
        for i in m0..n {
            scale = scale.max(a[i * n + k].abs());
        }
        if scale.is_zero() {
            e.push(zero.clone());
            continue;
        }
        let mut norm2 = zero.clone();
        for i in m0..n {
            v[i] = a[i * n + k].div(&scale);
            norm2 = norm2.add(&v[i].mul(&v[i]));
        }
        let norm = norm2.sqrt();
        let x0 = v[m0].clone();
        // alpha = -sign(x0)·‖x‖ avoids cancellation in v0 = x0 − alpha.
        let alpha = if x0.is_negative() {
            norm.clone()
        } else {
            norm.neg()
        };
        v[m0] = x0.sub(&alpha);
        // vᵀv = ‖x‖² − 2·alpha·x0 + alpha² = 2(‖x‖² − alpha·x0) ≥ 2‖x‖² ≥ 2 (scaled x).
        let vtv = norm2.sub(&alpha.mul(&x0)).add(&norm2.sub(&alpha.mul(&x0)));
        let alpha = alpha.mul(&scale);
        let beta = T::from_f64(2.0).div(&vtv);
        // p = beta · B v with B the trailing block.
        for i in m0..n {
            let mut s = zero.clone();
            for j in m0..n {
                s = s.add(&a[i * n + j].mul(&v[j]));
            }
            p[i] = beta.mul(&s);
        }
        // K = beta · (vᵀp) / 2 ;  q = p − K v ; B ← B − v qᵀ − q vᵀ
        let mut vp = zero.clone();
        for i in m0..n {
            vp = vp.add(&v[i].mul(&p[i]));
        }
        let kk = beta.mul(&vp).div(&T::from_f64(2.0));
        for i in m0..n {
            p[i] = p[i].sub(&kk.mul(&v[i]));
        }
        for i in m0..n {
            for j in m0..=i {
                let upd = a[i * n + j].sub(&v[i].mul(&p[j])).sub(&p[i].mul(&v[j]));
                a[i * n + j] = upd.clone();
                a[j * n + i] = upd;
            }
        }
        e.push(alpha);
    }
    if n >= 2 {
        d.push(a[(n - 2) * n + (n - 2)].clone());
        d.push(a[(n - 1) * n + (n - 1)].clone());
        e.push(a[(n - 1) * n + (n - 2)].clone());
    } else if n == 1 {
        d.push(a[0].clone());
    }
    (d, e)
}

/// Number of eigenvalues of the tridiagonal `(d, e)` strictly below `x` (Sturm count from the
/// pivots of the LDLᵀ factorisation of `T − xI`; Sylvester's law of inertia).
pub(crate) fn sturm_count<T: Real>(d: &[T], e: &[T], x: &T) -> usize {
    let mut count = 0;
    let mut q = d[0].sub(x);
    if q.is_zero() {
        q = T::tiny().neg();
    }
    if q.is_negative() {
        count += 1;
    }
    for i in 1..d.len() {
        let e2 = e[i - 1].mul(&e[i - 1]);
        q = d[i].sub(x).sub(&e2.div(&q));
        if q.is_zero() {
            q = T::tiny().neg();
        }
        if q.is_negative() {
            count += 1;
        }
    }
    count
}

/// Largest eigenvalue of the symmetric tridiagonal `(d, e)` by bisection on Sturm counts,
/// starting from the Gershgorin interval, for `steps` halvings (or until the bracket stops
/// shrinking in the working precision).
pub(crate) fn tridiagonal_lambda_max<T: Real>(d: &[T], e: &[T], steps: usize) -> T {
    let n = d.len();
    assert!(n >= 1, "tridiagonal_lambda_max of an empty matrix");
    let zero = T::from_f64(0.0);
    let mut lo: Option<T> = None;
    let mut hi: Option<T> = None;
    for i in 0..n {
        let left = if i > 0 { e[i - 1].abs() } else { zero.clone() };
        let right = if i + 1 < n { e[i].abs() } else { zero.clone() };
        let r = left.add(&right);
        let a = d[i].sub(&r);
        let b = d[i].add(&r);
        lo = Some(match lo {
            None => a,
            Some(l) => l.min(a),
        });
        hi = Some(match hi {
            None => b,
            Some(h) => h.max(b),
        });
    }
    let mut lo = lo.expect("n ≥ 1");
    let mut hi = hi.expect("n ≥ 1");
    let half = T::from_f64(0.5);
    for _ in 0..steps {
        let mid = lo.add(&hi).mul(&half);
        if mid.cmp(&lo) != std::cmp::Ordering::Greater || mid.cmp(&hi) != std::cmp::Ordering::Less {
            break;
        }
        if sturm_count(d, e, &mid) == n {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo.add(&hi).mul(&half)
}

/// Largest eigenvalue of the symmetric `n × n` row-major matrix `a` (destroyed).
pub(crate) fn dense_lambda_max<T: Real>(a: &mut [T], n: usize, steps: usize) -> T {
    let (d, e) = tridiagonalize(a, n);
    tridiagonal_lambda_max(&d, &e, steps)
}

/// Bisection steps that exhaust f64 (the loop also stops when the bracket cannot shrink).
pub(crate) const F64_BISECTION_STEPS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::Hp;
    use proptest::prelude::*;

    fn equicorrelation(n: usize, rho: f64) -> Vec<f64> {
        let mut a = vec![rho; n * n];
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        a
    }

    #[test]
    fn all_equal_correlation_has_lambda_max_one_plus_n_minus_one_rho() {
        for &(n, rho) in &[(2usize, 0.3f64), (5, 0.5), (16, 0.25), (48, 0.7), (7, -0.1)] {
            let mut a = equicorrelation(n, rho);
            let got = dense_lambda_max(&mut a, n, F64_BISECTION_STEPS);
            // For rho < 0 the top eigenvalue is 1 − rho (multiplicity n − 1).
            let want = if rho >= 0.0 {
                1.0 + (n as f64 - 1.0) * rho
            } else {
                1.0 - rho
            };
            assert!(
                (got - want).abs() < 1e-13 * want,
                "n={n} rho={rho}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn identity_has_lambda_max_one() {
        let mut a = equicorrelation(10, 0.0);
        assert!((dense_lambda_max(&mut a, 10, F64_BISECTION_STEPS) - 1.0).abs() < 1e-15);
        let mut one = vec![1.0];
        assert_eq!(dense_lambda_max(&mut one, 1, F64_BISECTION_STEPS), 1.0);
    }

    #[test]
    fn hand_worked_two_by_two_and_three_by_three() {
        // [[2,1],[1,2]] → 3 ; [[2,-1,0],[-1,2,-1],[0,-1,2]] → 2 + √2.
        let mut a = vec![2.0, 1.0, 1.0, 2.0];
        assert!((dense_lambda_max(&mut a, 2, F64_BISECTION_STEPS) - 3.0).abs() < 1e-15);
        let mut b = vec![2.0, -1.0, 0.0, -1.0, 2.0, -1.0, 0.0, -1.0, 2.0];
        let got = dense_lambda_max(&mut b, 3, F64_BISECTION_STEPS);
        assert!((got - (2.0 + 2f64.sqrt())).abs() < 1e-14, "{got}");
    }

    #[test]
    fn tiny_off_diagonal_columns_do_not_underflow_into_nan() {
        // Block diagonal (3×3 all-0.5 block, λ = 2; 2×2 identity) coupled by entries ~1e-160,
        // whose squares underflow f64: the result must still be 2, not NaN.
        let n = 5;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = if i == j {
                    1.0
                } else if i < 3 && j < 3 {
                    0.5
                } else {
                    1e-160 * (1.0 + (i + j) as f64)
                };
            }
        }
        a[3 * n + 4] = 1e-200;
        a[4 * n + 3] = 1e-200;
        let got = dense_lambda_max(&mut a, n, F64_BISECTION_STEPS);
        assert!((got - 2.0).abs() < 1e-14, "{got}");
    }

    #[test]
    fn high_precision_equicorrelation_is_exact_to_far_beyond_f64() {
        let n = 6;
        let rho = Hp::from_f64(0.375);
        let one = Hp::from_f64(1.0);
        let mut a: Vec<Hp> = (0..n * n)
            .map(|k| {
                if k % (n + 1) == 0 {
                    one.clone()
                } else {
                    rho.clone()
                }
            })
            .collect();
        let got = dense_lambda_max(&mut a, n, 400);
        let want = Hp::from_f64(1.0 + 5.0 * 0.375);
        let err = got.sub(&want).abs().to_f64();
        assert!(err < 1e-70, "err {err:e}");
    }

    proptest! {
        /// The top eigenvalue bounds every Rayleigh quotient and the trace bound holds.
        #[test]
        fn lambda_max_dominates_rayleigh_quotients(vals in proptest::collection::vec(-1.0f64..1.0, 36), x in proptest::collection::vec(-1.0f64..1.0, 6)) {
            let n = 6;
            let mut a = vec![0.0; n * n];
            for i in 0..n { for j in 0..=i { let v = vals[i * n + j]; a[i * n + j] = v; a[j * n + i] = v; } }
            let orig = a.clone();
            let lmax = dense_lambda_max(&mut a, n, F64_BISECTION_STEPS);
            let xx: f64 = x.iter().map(|v| v * v).sum();
            prop_assume!(xx > 1e-6);
            let mut q = 0.0;
            for i in 0..n { for j in 0..n { q += x[i] * orig[i * n + j] * x[j]; } }
            prop_assert!(q / xx <= lmax + 1e-12);
            // lambda_max ≥ max diagonal entry
            let dmax = (0..n).map(|i| orig[i * n + i]).fold(f64::MIN, f64::max);
            prop_assert!(lmax >= dmax - 1e-12);
        }
    }
}
