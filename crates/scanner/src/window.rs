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
use crate::lanczos::{Lanczos, MatVec, SolveParams, axpy, dot, pseudo_random};
use crate::returns::ReturnRing;

/// Matvec budget of the Lanczos solver before falling back to the dense solver.
const MAX_MATVECS: usize = 120;
/// Size of the fixed perturbation added to the warm start (relative to a unit vector).
const WARM_JITTER: f64 = 1e-3;
/// Recompute an asset's row when `sum² / w > DRIFT · sumsq`, i.e. when the centred sum of
/// squares `sumsq − sum²/w` has fallen below `(1 − DRIFT)·sumsq`: cancellation then costs
/// less than one bit of the cross-products' precision.
const DRIFT: f64 = 0.5;

/// What one window produced for one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    cs: Vec<f64>,
    cd: Vec<f64>,
    rowbuf: Vec<f64>,
    rowtmp: Vec<f64>,
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
            cs: Vec::with_capacity(n),
            cd: Vec::with_capacity(n),
            rowbuf: Vec::with_capacity(n),
            rowtmp: Vec::with_capacity(n),
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

    /// Advances the window to the newest row of `ring` and computes its outputs. Runs the same
    /// code compiled for AVX2 where the CPU has it: element-wise IEEE operations and the fixed
    /// summation orders give identical bits at any vector width (no FMA contraction).
    pub fn step(&mut self, ring: &ReturnRing, lanczos: &mut Lanczos, tol: f64) -> WindowOutput {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.step_avx2(ring, lanczos, tol) };
            }
        }
        self.step_impl(ring, lanczos, tol)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn step_avx2(&mut self, ring: &ReturnRing, lanczos: &mut Lanczos, tol: f64) -> WindowOutput {
        self.step_impl(ring, lanczos, tol)
    }

    #[inline(always)]
    fn step_impl(&mut self, ring: &ReturnRing, lanczos: &mut Lanczos, tol: f64) -> WindowOutput {
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

    #[inline(always)]
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
                    let row = &mut self.cross[i * n + i..(i + 1) * n];
                    axpy(a, &self.ynew[i..], row);
                }
            }
        }
    }

    /// Recomputes asset `i`'s shift (its exact window mean), sums and cross row.
    #[inline(always)]
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
                let at = if j >= i { i * n + j } else { j * n + i };
                self.cross[at] = self.acc[j];
            }
            self.cross[i * n + i] = s2;
        }
    }

    /// Returns `(lambda_hat, instability)` for the current active set.
    #[inline(always)]
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
            let centred = self.sumsq[i] - self.sum[i] * m;
            let needs = entering
                || centred.is_nan()
                || centred <= 0.0
                || self.sum[i] * m > DRIFT * self.sumsq[i];
            if needs {
                self.refresh_row(ring, t, i);
            }
            let m = self.sum[i] / w;
            let ss = self.sumsq[i] - self.sum[i] * m;
            self.inv_sd[i] = 1.0 / ss.sqrt();
            self.mean[i] = self.shift[i] + m;
        }
        // Correlations (clipped, unit diagonal; upper triangle of the compact matrix) and
        // instability from the cross-products.
        let mut instab = f64::NAN;
        if self.keep_cross {
            let n = self.n;
            if self.dense_matvec {
                self.corr.resize(nw * nw, 0.0);
            }
            self.cs.clear();
            self.cd.clear();
            for &i in &self.active {
                self.cs.push(self.sum[i]);
                self.cd.push(self.inv_sd[i]);
            }
            self.rowbuf.resize(nw, 0.0);
            self.rowtmp.resize(nw, 0.0);
            let all = nw == n;
            let mut total = 0.0;
            for a in 0..nw {
                let i = self.active[a];
                let len = nw - a - 1;
                if !all {
                    for (k, &j) in self.active[a + 1..].iter().enumerate() {
                        self.rowbuf[k] = self.cross[i * n + j];
                    }
                }
                let prow: &[f64] = if all {
                    &self.cross[i * n + a + 1..(i + 1) * n]
                } else {
                    &self.rowbuf[..len]
                };
                let out: &mut [f64] = if self.dense_matvec {
                    self.corr[a * nw + a] = 1.0;
                    &mut self.corr[a * nw + a + 1..(a + 1) * nw]
                } else {
                    &mut self.rowtmp[..len]
                };
                correlation_row(
                    out,
                    prow,
                    self.cs[a] / w,
                    self.cd[a],
                    &self.cs[a + 1..],
                    &self.cd[a + 1..],
                );
                total += sum_abs(out);
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
        // A correlation matrix has λ_max ≥ 1 (unit diagonal) and trace N_w.
        let params = SolveParams {
            tol,
            max_matvecs: MAX_MATVECS,
            floor: 1.0,
            trace: Some(nw as f64),
        };
        let res = if self.dense_matvec {
            let mut op = UpperMatVec {
                c: &self.corr,
                n: nw,
            };
            lanczos.top(nw, &mut self.x, &mut op, params)
        } else {
            let mut op = ReturnsMatVec {
                ring,
                t,
                rows: self.w,
                active: &self.active,
                inv_sd: &self.inv_sd,
                mean: &self.mean,
                u: &mut self.u,
                acc: &mut self.acc,
            };
            lanczos.top(nw, &mut self.x, &mut op, params)
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
            if self.w < nw {
                // Rank ≤ w: the w × w Gram matrix of the standardised returns has the same
                // nonzero eigenvalues, at w²·N + w³ flops instead of N³.
                let mut g = self.window_gram(ring, t);
                dense_lambda_max(&mut g, self.w, F64_BISECTION_STEPS)
            } else {
                let mut c = if self.dense_matvec {
                    let mut full = self.corr.clone();
                    for a in 0..nw {
                        for b in 0..a {
                            full[a * nw + b] = full[b * nw + a];
                        }
                    }
                    full
                } else {
                    self.window_correlation(ring, t)
                };
                dense_lambda_max(&mut c, nw, F64_BISECTION_STEPS)
            }
        };
        (lambda / nw as f64, instab)
    }

    /// `Z Zᵀ` (w × w, row-major) for `Z = (X − 1mᵀ) D`, the window's returns of the active
    /// assets centred and scaled to unit norm: `ZᵀZ` is the correlation matrix (unclipped),
    /// so both have the same nonzero eigenvalues.
    #[inline(always)]
    fn window_gram(&self, ring: &ReturnRing, t: usize) -> Vec<f64> {
        let (w, nw) = (self.w, self.active.len());
        let mut z = Vec::with_capacity(w * nw);
        for k in 0..w {
            let row = ring.row(t - k);
            for &i in &self.active {
                z.push((row[i] - self.mean[i]) * self.inv_sd[i]);
            }
        }
        let mut g = vec![0.0; w * w];
        for a in 0..w {
            for b in 0..=a {
                let v = dot(&z[a * nw..(a + 1) * nw], &z[b * nw..(b + 1) * nw]);
                g[a * w + b] = v;
                g[b * w + a] = v;
            }
        }
        g
    }

    /// The compact correlation matrix of the active assets by the two-pass formula.
    #[inline(always)]
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

/// `row[j] += a·ynew[j] − b·yold[j]` (the add-newest / drop-oldest update of the cross-products).
#[inline(always)]
fn rank2_update(row: &mut [f64], a: f64, ynew: &[f64], b: f64, yold: &[f64]) {
    for ((p, an), bo) in row.iter_mut().zip(ynew.iter()).zip(yold.iter()) {
        *p += a * an - b * bo;
    }
}

/// One row of correlations: `out[k] = clamp((p[k] − si·s[k])·di·d[k], −1, 1)`.
#[inline(always)]
fn correlation_row(out: &mut [f64], p: &[f64], si: f64, di: f64, s: &[f64], d: &[f64]) {
    for (((o, pk), sk), dk) in out.iter_mut().zip(p.iter()).zip(s.iter()).zip(d.iter()) {
        *o = ((pk - si * sk) * di * dk).clamp(-1.0, 1.0);
    }
}

/// `Σ |x_k|` with four fixed partial sums (vectorisable, reproducible).
#[inline(always)]
fn sum_abs(x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let c = x.chunks_exact(4);
    let r = c.remainder();
    for v in c {
        acc[0] += v[0].abs();
        acc[1] += v[1].abs();
        acc[2] += v[2].abs();
        acc[3] += v[3].abs();
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for v in r {
        s += v.abs();
    }
    s
}

/// `y = C x` for the compact correlation matrix stored as its upper triangle (unit diagonal).
struct UpperMatVec<'a> {
    c: &'a [f64],
    n: usize,
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
struct ReturnsMatVec<'a> {
    ring: &'a ReturnRing,
    t: usize,
    rows: usize,
    active: &'a [usize],
    inv_sd: &'a [f64],
    mean: &'a [f64],
    u: &'a mut [f64],
    acc: &'a mut [f64],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 build (when the CPU has it) and the baseline build give the same bits.
    #[test]
    fn vector_width_does_not_change_bits() {
        let n = 37;
        let mut ring = ReturnRing::new(n, 61);
        let mut a = WindowState::new(n, 12, 12, true);
        let mut b = WindowState::new(n, 12, 12, true);
        let mut c = WindowState::new(n, 60, 25, false);
        let mut d = WindowState::new(n, 60, 25, false);
        let (mut la, mut lb) = (Lanczos::default(), Lanczos::default());
        let mut p: Vec<f64> = (0..n).map(|i| 50.0 + i as f64).collect();
        for t in 0..300usize {
            let f = pseudo_random(t * 1000) * 0.004;
            for (i, v) in p.iter_mut().enumerate() {
                *v *= (f * (0.5 + (i % 5) as f64 * 0.2) + pseudo_random(t * 1000 + i + 1) * 0.002)
                    .exp();
            }
            let mut bar = p.clone();
            if t % 50 < 5 {
                bar[t % n] = f64::NAN;
            }
            ring.push(&bar);
            for (x, y) in [(&mut a, &mut b), (&mut c, &mut d)] {
                let ox = x.step(&ring, &mut la, 1e-10);
                let oy = y.step_impl(&ring, &mut lb, 1e-10);
                assert_eq!(ox.lambda_hat.to_bits(), oy.lambda_hat.to_bits(), "bar {t}");
                assert_eq!(
                    ox.instability.to_bits(),
                    oy.instability.to_bits(),
                    "bar {t}"
                );
                assert_eq!(ox.velocity.to_bits(), oy.velocity.to_bits(), "bar {t}");
            }
        }
        assert!(a.stats.matvecs > 0 && c.stats.matvecs > 0);
    }
}
