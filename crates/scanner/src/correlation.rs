//! The Pearson correlation matrix of one window by the two-pass centred formula (SPEC §3, §6
//! "Scanner": clipped to [−1, 1], diagonal exactly 1), and the instability index (SPEC §3:
//! mean absolute off-diagonal correlation). Generic over [`Real`] so the f64 reference and the
//! high-precision verifier share it.

use crate::real::Real;

/// Correlation matrix (`n × n`, row-major) of `n` series of length `w` stored column after
/// column in `x` (`x[i·w .. (i+1)·w]` is series `i`). Every series must have nonzero variance.
/// Pass 1: means; pass 2: `cov_ij = Σ (x_i − m_i)(x_j − m_j)`, `r_ij = cov_ij / √(cov_ii·cov_jj)`.
pub(crate) fn two_pass_correlation<T: Real>(x: &[T], n: usize, w: usize) -> Vec<T> {
    assert_eq!(x.len(), n * w, "two_pass_correlation: x is not n × w");
    let zero = T::from_f64(0.0);
    let one = T::from_f64(1.0);
    let wt = T::from_f64(w as f64);
    let mut dev = Vec::with_capacity(n * w);
    for i in 0..n {
        let col = &x[i * w..(i + 1) * w];
        let mut s = zero.clone();
        for v in col {
            s = s.add(v);
        }
        let m = s.div(&wt);
        for v in col {
            dev.push(v.sub(&m));
        }
    }
    let mut ss = Vec::with_capacity(n);
    for i in 0..n {
        let d = &dev[i * w..(i + 1) * w];
        let mut s = zero.clone();
        for v in d {
            s = s.add(&v.mul(v));
        }
        ss.push(s);
    }
    let mut c = vec![zero.clone(); n * n];
    let neg_one = one.neg();
    for i in 0..n {
        c[i * n + i] = one.clone();
        for j in 0..i {
            let (di, dj) = (&dev[i * w..(i + 1) * w], &dev[j * w..(j + 1) * w]);
            let mut s = zero.clone();
            for k in 0..w {
                s = s.add(&di[k].mul(&dj[k]));
            }
            let r = s
                .div(&ss[i].mul(&ss[j]).sqrt())
                .max(neg_one.clone())
                .min(one.clone());
            c[i * n + j] = r.clone();
            c[j * n + i] = r;
        }
    }
    c
}

/// Mean absolute off-diagonal entry of the `n × n` correlation matrix `c` (SPEC §3
/// `instability_w`); NaN when `n < 2`.
pub(crate) fn instability<T: Real>(c: &[T], n: usize) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    let mut s = T::from_f64(0.0);
    for i in 0..n {
        for j in 0..i {
            s = s.add(&c[i * n + j].abs());
        }
    }
    s.div(&T::from_f64((n * (n - 1) / 2) as f64)).to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_three_series() {
        // a = (1,2,3,4), b = (2,4,6,8) → r = 1; c = (4,3,2,1) → r(a,c) = −1;
        // d = (1,0,1,0): with a: cov = Σ(a−2.5)(d−0.5) = (−1.5)(.5)+(−.5)(−.5)+(.5)(.5)+(1.5)(−.5) = −1,
        // ss_a = 5, ss_d = 1 → r = −1/√5.
        let x = [
            1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0, 4.0, 3.0, 2.0, 1.0, 1.0, 0.0, 1.0, 0.0,
        ];
        let c = two_pass_correlation(&x, 4, 4);
        assert_eq!(c[0], 1.0);
        assert!((c[1] - 1.0).abs() < 1e-15);
        assert!((c[2] + 1.0).abs() < 1e-15);
        assert!((c[3] + 1.0 / 5f64.sqrt()).abs() < 1e-15);
        assert!(c.iter().all(|v| (-1.0..=1.0).contains(v)));
        // instability = mean of |r| over the 6 pairs: a-b 1, a-c 1, b-c 1, a-d, b-d, c-d = 1/√5 each.
        let want = (3.0 + 3.0 / 5f64.sqrt()) / 6.0;
        assert!((instability(&c, 4) - want).abs() < 1e-15);
        assert!(instability(&[1.0], 1).is_nan());
    }
}
