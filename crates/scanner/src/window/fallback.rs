//! The dense fallback inputs of one window (SPEC §3): the w × w Gram matrix of the
//! standardised returns (when w < N_w) and the two-pass correlation matrix of the active
//! assets, for the dense eigen solver when the Lanczos solver did not converge.

use super::WindowState;
use crate::correlation::two_pass_correlation;
use crate::lanczos::dot;
use crate::returns::ReturnRing;

impl WindowState {
    /// `Z Zᵀ` (w × w, row-major) for `Z = (X − 1mᵀ) D`, the window's returns of the active
    /// assets centred and scaled to unit norm: `ZᵀZ` is the correlation matrix (unclipped),
    /// so both have the same nonzero eigenvalues.
    #[inline(always)]
    pub(super) fn window_gram(&self, ring: &ReturnRing, t: usize) -> Vec<f64> {
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
    pub(super) fn window_correlation(&self, ring: &ReturnRing, t: usize) -> Vec<f64> {
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
