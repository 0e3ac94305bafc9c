//! The incremental windowed sums of one window (SPEC §3; issue 3 part 4): add the newest row
//! and drop the leaving one each bar, rebuild every sum from the stored returns every
//! `rebuild_every` bars, and recompute a single asset's row when it enters or its shift drifts.

use super::WindowState;
use crate::lanczos::axpy;
use crate::returns::ReturnRing;

impl WindowState {
    #[inline(always)]
    pub(super) fn add_newest(&mut self, ring: &ReturnRing, t: usize) {
        let n = self.n;
        let (xn, okn) = (ring.row(t), ring.row_ok(t));
        for i in 0..n {
            self.ynew[i] = if okn[i] { xn[i] - self.shift[i] } else { 0.0 };
        }
        if t >= self.w {
            let (xo, oko) = (ring.row(t - self.w), ring.row_ok(t - self.w));
            for i in 0..n {
                self.yold[i] = if oko[i] { xo[i] - self.shift[i] } else { 0.0 };
            }
        } else {
            self.yold.iter_mut().for_each(|v| *v = 0.0);
        }
        for i in 0..n {
            let (a, b) = (self.ynew[i], self.yold[i]);
            self.sum[i] = self.sum[i] + a - b;
            self.sumsq[i] = self.sumsq[i] + a * a - b * b;
        }
        if self.keep_cross {
            // Upper triangle only (j ≥ i): nothing reads the lower one.
            for i in 0..n {
                let (a, b) = (self.ynew[i], self.yold[i]);
                if a == 0.0 && b == 0.0 {
                    continue;
                }
                let row = &mut self.cross[i * n + i..(i + 1) * n];
                rank2_update(row, a, &self.ynew[i..], b, &self.yold[i..]);
            }
        }
    }

    /// Recomputes shifts and all sums from the stored returns of the window.
    #[inline(always)]
    pub(super) fn rebuild(&mut self, ring: &ReturnRing, t: usize) {
        self.stats.rebuilds += 1;
        let n = self.n;
        let rows = self.rows_at(t);
        for i in 0..n {
            let (mut s, mut cnt) = (0.0, 0usize);
            for k in 0..rows {
                if ring.row_ok(t - k)[i] {
                    s += ring.row(t - k)[i];
                    cnt += 1;
                }
            }
            self.shift[i] = if cnt > 0 { s / cnt as f64 } else { 0.0 };
        }
        self.sum.iter_mut().for_each(|v| *v = 0.0);
        self.sumsq.iter_mut().for_each(|v| *v = 0.0);
        self.cross.iter_mut().for_each(|v| *v = 0.0);
        for k in (0..rows).rev() {
            let (x, ok) = (ring.row(t - k), ring.row_ok(t - k));
            for i in 0..n {
                let y = if ok[i] { x[i] - self.shift[i] } else { 0.0 };
                self.ynew[i] = y;
                self.sum[i] += y;
                self.sumsq[i] += y * y;
            }
            if self.keep_cross {
                for i in 0..n {
                    let a = self.ynew[i];
                    if a == 0.0 {
                        continue;
                    }
                    let row = &mut self.cross[i * n + i..(i + 1) * n];
                    axpy(a, &self.ynew[i..], row);
                }
            }
        }
    }

    /// Recomputes asset `i`'s shift (its exact window mean), sums and cross row.
    #[inline(always)]
    pub(super) fn refresh_row(&mut self, ring: &ReturnRing, t: usize, i: usize) {
        self.stats.row_refreshes += 1;
        let n = self.n;
        let rows = self.rows_at(t);
        let mut s = 0.0;
        for k in (0..rows).rev() {
            s += ring.row(t - k)[i];
        }
        let c = s / rows as f64;
        self.shift[i] = c;
        let (mut s1, mut s2) = (0.0, 0.0);
        self.acc.iter_mut().for_each(|v| *v = 0.0);
        for k in (0..rows).rev() {
            let (x, ok) = (ring.row(t - k), ring.row_ok(t - k));
            let yi = if ok[i] { x[i] - c } else { 0.0 };
            s1 += yi;
            s2 += yi * yi;
            if self.keep_cross && yi != 0.0 {
                for j in 0..n {
                    let yj = if ok[j] { x[j] - self.shift[j] } else { 0.0 };
                    self.acc[j] += yi * yj;
                }
            }
        }
        self.sum[i] = s1;
        self.sumsq[i] = s2;
        if self.keep_cross {
            for j in 0..n {
                let at = if j >= i { i * n + j } else { j * n + i };
                self.cross[at] = self.acc[j];
            }
            self.cross[i * n + i] = s2;
        }
    }
}

/// `row[j] += a·ynew[j] − b·yold[j]` (the add-newest / drop-oldest update of the cross-products).
#[inline(always)]
fn rank2_update(row: &mut [f64], a: f64, ynew: &[f64], b: f64, yold: &[f64]) {
    for ((p, an), bo) in row.iter_mut().zip(ynew.iter()).zip(yold.iter()) {
        *p += a * an - b * bo;
    }
}
