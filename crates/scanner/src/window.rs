//! One correlation window of the scanner, maintained incrementally (SPEC §3; issue 3 part 4).
//!
//! Invariant, for the rows `t−w+1..t` of the window and a per-asset shift `c_i` (the window
//! mean at its last refresh): with `y_ai = r_ai − c_i` (0 for a missing return)
//! `sum_i = Σ_a y_ai`, `sumsq_i = Σ_a y_ai²` and, when kept, `cross_ij = Σ_a y_ai y_aj`.
//! Each bar adds the newest row and subtracts the leaving one; every `rebuild_every` bars all
//! sums are recomputed from the stored returns, and an asset whose shift has drifted from its
//! mean (or that just entered) has its row recomputed, so the centred sums
//! `cov_ij = cross_ij − sum_i·sum_j / w` agree with the two-pass formula to ~1e-15 relative.

use crate::correlation::two_pass_correlation;
use crate::dense_eigen::{F64_BISECTION_STEPS, dense_lambda_max};
use crate::lanczos::{Lanczos, axpy, dot, pseudo_random};
use crate::returns::ReturnRing;

/// Matvec budget of the Lanczos solver before falling back to the dense solver.
const MAX_MATVECS: usize = 120;
/// Size of the fixed perturbation added to the warm start (relative to a unit vector).
const WARM_JITTER: f64 = 1e-3;
/// Recompute an asset's row when `sum² / w > DRIFT · sumsq` (loses < 3 digits to cancellation).
const DRIFT: f64 = 1e-3;

/// What one window produced for one bar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowOutput {
    pub lambda_hat: f64,
    pub velocity: f64,
    pub instability: f64,
    pub n_assets: usize,
}

/// Per-window work counters (exposed through [`crate::ScanStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Operator applications of the iterative solver.
    pub matvecs: u64,
    /// Bars on which the iterative solver did not converge and the dense solver answered.
    pub dense_fallbacks: u64,
    /// Full rebuilds of the windowed sums.
    pub rebuilds: u64,
    /// Single-asset row recomputations (asset entered, or its shift drifted).
    pub row_refreshes: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct WindowState {
    w: usize,
    n: usize,
    rebuild_every: usize,
    want_instability: bool,
    keep_cross: bool,
    dense_matvec: bool,
    shift: Vec<f64>,
    sum: Vec<f64>,
    sumsq: Vec<f64>,
    cross: Vec<f64>,
    since_rebuild: usize,
    active: Vec<usize>,
    was_active: Vec<bool>,
    prev_set_len: usize,
    prev_lambda_hat: f64,
    eigvec: Vec<f64>,
    // scratch
    ynew: Vec<f64>,
    yold: Vec<f64>,
    inv_sd: Vec<f64>,
    mean: Vec<f64>,
    corr: Vec<f64>,
    x: Vec<f64>,
    u: Vec<f64>,
    acc: Vec<f64>,
    pub stats: WindowStats,
}

impl WindowState {
    /// `want_instability`: the window's instability is an output (first two windows).
    pub fn new(n: usize, w: usize, rebuild_every: usize, want_instability: bool) -> Self {
        // Keep the N×N cross-products when instability needs every pair, or when a matvec with
        // the N×N matrix (N² flops) is no dearer than one through the w×N returns (2wN).
        let keep_cross = want_instability || n <= 2 * w;
        let dense_matvec = keep_cross && n <= 2 * w;
        WindowState {
            w,
            n,
            rebuild_every,
            want_instability,
            keep_cross,
            dense_matvec,
            shift: vec![0.0; n],
            sum: vec![0.0; n],
            sumsq: vec![0.0; n],
            cross: if keep_cross {
                vec![0.0; n * n]
            } else {
                Vec::new()
            },
            since_rebuild: 0,
            active: Vec::with_capacity(n),
            was_active: vec![false; n],
            prev_set_len: 0,
            prev_lambda_hat: f64::NAN,
            eigvec: vec![0.0; n],
            ynew: vec![0.0; n],
            yold: vec![0.0; n],
            inv_sd: vec![0.0; n],
            mean: vec![0.0; n],
            corr: Vec::new(),
            x: Vec::new(),
            u: vec![0.0; n],
            acc: vec![0.0; n],
            stats: WindowStats::default(),
        }
    }

    /// Number of rows of the window that exist at row `t` (rows before 0 do not).
    fn rows_at(&self, t: usize) -> usize {
        self.w.min(t + 1)
    }

    /// Advances the window to the newest row of `ring` and computes its outputs.
    pub fn step(&mut self, ring: &ReturnRing, lanczos: &mut Lanczos, tol: f64) -> WindowOutput {
        let t = ring.rows - 1;
        self.add_newest(ring, t);
        self.since_rebuild += 1;
        if self.since_rebuild >= self.rebuild_every {
            self.rebuild(ring, t);
            self.since_rebuild = 0;
        }
        // Membership (SPEC §6): w finite returns, not all identical.
        self.active.clear();
        for i in 0..self.n {
            if ring.in_window(i, self.w) {
                self.active.push(i);
            }
        }
        let same_set = self.active.len() == self.prev_set_len
            && self.active.iter().all(|&i| self.was_active[i]);
        let out = self.solve(ring, t, lanczos, tol);
        // Remember this bar's set.
        self.was_active.iter_mut().for_each(|b| *b = false);
        for &i in &self.active {
            self.was_active[i] = true;
        }
        self.prev_set_len = self.active.len();
        let velocity = if same_set {
            out.0 - self.prev_lambda_hat
        } else {
            f64::NAN
        };
        self.prev_lambda_hat = out.0;
        WindowOutput {
            lambda_hat: out.0,
            velocity,
            instability: out.1,
            n_assets: self.active.len(),
        }
    }

    fn add_newest(&mut self, ring: &ReturnRing, t: usize) {
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
            for i in 0..n {
                let (a, b) = (self.ynew[i], self.yold[i]);
                if a == 0.0 && b == 0.0 {
                    continue;
                }
                let row = &mut self.cross[i * n..(i + 1) * n];
                for ((p, an), bo) in row.iter_mut().zip(self.ynew.iter()).zip(self.yold.iter()) {
                    *p += a * an - b * bo;
                }
            }
        }
    }

    /// Recomputes shifts and all sums from the stored returns of the window.
    fn rebuild(&mut self, ring: &ReturnRing, t: usize) {
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
                    let row = &mut self.cross[i * n..(i + 1) * n];
                    axpy(a, &self.ynew, row);
                }
            }
        }
    }

    /// Recomputes asset `i`'s shift (its exact window mean), sums and cross row.
    fn refresh_row(&mut self, ring: &ReturnRing, t: usize, i: usize) {
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
                self.cross[i * n + j] = self.acc[j];
                self.cross[j * n + i] = self.acc[j];
            }
            self.cross[i * n + i] = s2;
        }
    }

    /// Returns `(lambda_hat, instability)` for the current active set.
    fn solve(
        &mut self,
        ring: &ReturnRing,
        t: usize,
        lanczos: &mut Lanczos,
        tol: f64,
    ) -> (f64, f64) {
        let nw = self.active.len();
        if nw < 2 {
            return (f64::NAN, f64::NAN);
        }
        let w = self.w as f64;
        // Entering assets get fresh rows; drifted shifts are re-centred.
        for k in 0..nw {
            let i = self.active[k];
            let entering = !self.was_active[i];
            let m = self.sum[i] / w;
            let needs = entering
                || !(self.sumsq[i] - self.sum[i] * m > 0.0)
                || self.sum[i] * m > DRIFT * self.sumsq[i];
            if needs {
                self.refresh_row(ring, t, i);
            }
            let m = self.sum[i] / w;
            let ss = self.sumsq[i] - self.sum[i] * m;
            self.inv_sd[i] = 1.0 / ss.sqrt();
            self.mean[i] = self.shift[i] + m;
        }
        // Correlations (clipped, unit diagonal) and instability from the cross-products.
        let mut instab = f64::NAN;
        if self.keep_cross {
            if self.dense_matvec {
                self.corr.resize(nw * nw, 0.0);
            }
            let n = self.n;
            let mut total = 0.0;
            for a in 0..nw {
                let i = self.active[a];
                let (si, di) = (self.sum[i] / w, self.inv_sd[i]);
                let row = &self.cross[i * n..(i + 1) * n];
                if self.dense_matvec {
                    self.corr[a * nw + a] = 1.0;
                }
                for b in a + 1..nw {
                    let j = self.active[b];
                    let cov = row[j] - si * self.sum[j];
                    let r = (cov * di * self.inv_sd[j]).clamp(-1.0, 1.0);
                    total += r.abs();
                    if self.dense_matvec {
                        self.corr[a * nw + b] = r;
                        self.corr[b * nw + a] = r;
                    }
                }
            }
            if self.want_instability {
                instab = total / ((nw * (nw - 1) / 2) as f64);
            }
        }
        // Warm start: last bar's eigenvector; an entering asset starts at the uniform weight.
        self.x.clear();
        let u0 = 1.0 / (nw as f64).sqrt();
        // A fixed small perturbation keeps every eigenvector in the Krylov space even when the
        // top two eigenvalues swap and the old vector is (nearly) orthogonal to the new top.
        for (a, &i) in self.active.iter().enumerate() {
            let base = if self.was_active[i] {
                self.eigvec[i]
            } else {
                u0
            };
            self.x
                .push(base + WARM_JITTER * u0 * (1.0 + pseudo_random(a)));
        }
        let res = if self.dense_matvec {
            let c = &self.corr;
            lanczos.top(
                nw,
                &mut self.x,
                |x, y| {
                    for (a, ya) in y.iter_mut().enumerate() {
                        *ya = dot(&c[a * nw..(a + 1) * nw], x);
                    }
                },
                tol,
                MAX_MATVECS,
                1.0,
            )
        } else {
            let (active, inv_sd, mean, u, acc) = (
                &self.active,
                &self.inv_sd,
                &self.mean,
                &mut self.u,
                &mut self.acc,
            );
            let rows = self.w;
            lanczos.top(
                nw,
                &mut self.x,
                |x, y| {
                    // y = D (X − 1mᵀ)ᵀ (X − 1mᵀ) D x over the window rows, X never centred in place.
                    let mut mu = 0.0;
                    for (a, &i) in active.iter().enumerate() {
                        u[i] = x[a] * inv_sd[i];
                        mu += mean[i] * u[i];
                    }
                    acc.iter_mut().for_each(|v| *v = 0.0);
                    let mut qsum = 0.0;
                    for k in 0..rows {
                        let row = ring.row(t - k);
                        let q = dot(row, u) - mu;
                        qsum += q;
                        axpy(q, row, acc);
                    }
                    for (a, &i) in active.iter().enumerate() {
                        y[a] = inv_sd[i] * (acc[i] - mean[i] * qsum);
                    }
                },
                tol,
                MAX_MATVECS,
                1.0,
            )
        };
        self.stats.matvecs += res.matvecs as u64;
        if !self.dense_matvec {
            for &i in &self.active {
                self.u[i] = 0.0;
            }
        }
        for (a, &i) in self.active.iter().enumerate() {
            self.eigvec[i] = self.x[a];
        }
        let lambda = if res.converged {
            res.lambda
        } else {
            self.stats.dense_fallbacks += 1;
            let mut c = if self.dense_matvec {
                self.corr.clone()
            } else {
                self.window_correlation(ring, t)
            };
            dense_lambda_max(&mut c, nw, F64_BISECTION_STEPS)
        };
        (lambda / nw as f64, instab)
    }

    /// The compact correlation matrix of the active assets by the two-pass formula.
    fn window_correlation(&self, ring: &ReturnRing, t: usize) -> Vec<f64> {
        let nw = self.active.len();
        let mut cols = Vec::with_capacity(nw * self.w);
        for &i in &self.active {
            for k in (0..self.w).rev() {
                cols.push(ring.row(t - k)[i]);
            }
        }
        two_pass_correlation(&cols, nw, self.w)
    }
}
