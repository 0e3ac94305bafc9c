//! The correlation-matrix operators of one window for the Lanczos solver (SPEC §3): the
//! compact upper-triangle matrix (N² flops a product) and the product taken straight through
//! the window's returns (2wN flops, used when w < N/2).

use crate::lanczos::{MatVec, axpy, dot};
use crate::returns::ReturnRing;

/// `y = C x` for the compact correlation matrix stored as its upper triangle (unit diagonal).
pub(super) struct UpperMatVec<'a> {
    pub(super) c: &'a [f64],
    pub(super) n: usize,
}

impl MatVec for UpperMatVec<'_> {
    #[inline(always)]
    fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        let (c, n) = (self.c, self.n);
        y.iter_mut().for_each(|v| *v = 0.0);
        for a in 0..n {
            let row = &c[a * n + a + 1..(a + 1) * n];
            let xa = x[a];
            y[a] += xa + dot(row, &x[a + 1..]);
            axpy(xa, row, &mut y[a + 1..]);
        }
    }
}

/// `y = D (X − 1mᵀ)ᵀ (X − 1mᵀ) D x` straight from the window's returns X (w × N, never centred
/// in place; D = diag(1/‖x_i − m_i‖)): the correlation matvec in 2wN flops, used when
/// w < N/2 (the w×w Gram side has the same nonzero eigenvalues, this is the same product).
pub(super) struct ReturnsMatVec<'a> {
    pub(super) ring: &'a ReturnRing,
    pub(super) t: usize,
    pub(super) rows: usize,
    pub(super) active: &'a [usize],
    pub(super) inv_sd: &'a [f64],
    pub(super) mean: &'a [f64],
    pub(super) u: &'a mut [f64],
    pub(super) acc: &'a mut [f64],
}

impl MatVec for ReturnsMatVec<'_> {
    #[inline(always)]
    fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        let mut mu = 0.0;
        for (a, &i) in self.active.iter().enumerate() {
            self.u[i] = x[a] * self.inv_sd[i];
            mu += self.mean[i] * self.u[i];
        }
        self.acc.iter_mut().for_each(|v| *v = 0.0);
        let mut qsum = 0.0;
        for k in 0..self.rows {
            let row = self.ring.row(self.t - k);
            let q = dot(row, self.u) - mu;
            qsum += q;
            axpy(q, row, self.acc);
        }
        for (a, &i) in self.active.iter().enumerate() {
            y[a] = self.inv_sd[i] * (self.acc[i] - self.mean[i] * qsum);
        }
    }
}
