//! The per-bar solve of one window (SPEC §3, §6 "Scanner"; seeds B §3): refresh entering or
//! drifted rows, build the clipped correlations and the instability index from the
//! cross-products, then the warm-started Lanczos top eigenvalue, with the dense solver as the
//! fallback when it does not converge.

use super::WindowState;
use super::matvec::{ReturnsMatVec, UpperMatVec};
use crate::dense_eigen::{F64_BISECTION_STEPS, dense_lambda_max};
use crate::lanczos::{Lanczos, SolveParams, pseudo_random};
use crate::returns::ReturnRing;

/// Matvec budget of the Lanczos solver before falling back to the dense solver.
const MAX_MATVECS: usize = 120;
/// Size of the fixed perturbation added to the warm start (relative to a unit vector).
const WARM_JITTER: f64 = 1e-3;
/// Recompute an asset's row when `sum² / w > DRIFT · sumsq`, i.e. when the centred sum of
/// squares `sumsq − sum²/w` has fallen below `(1 − DRIFT)·sumsq`: cancellation then costs
/// less than one bit of the cross-products' precision.
const DRIFT: f64 = 0.5;

impl WindowState {
    /// Returns `(lambda_hat, instability)` for the current active set.
    #[inline(always)]
    pub(super) fn solve(
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
