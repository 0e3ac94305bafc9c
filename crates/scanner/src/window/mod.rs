//! One correlation window of the scanner, maintained incrementally (SPEC §3; issue 3 part 4).
//!
//! Invariant, for the rows `t−w+1..t` of the window and a per-asset shift `c_i` (the window
//! mean at its last refresh): with `y_ai = r_ai − c_i` (0 for a missing return)
//! `sum_i = Σ_a y_ai`, `sumsq_i = Σ_a y_ai²` and, when kept, `cross_ij = Σ_a y_ai y_aj`.
//! Each bar adds the newest row and subtracts the leaving one; every `rebuild_every` bars all
//! sums are recomputed from the stored returns, and an asset whose shift has drifted from its
//! mean (or that just entered) has its row recomputed, so the centred sums
//! `cov_ij = cross_ij − sum_i·sum_j / w` agree with the two-pass formula to ~1e-15 relative.
//!
//! This file holds the window's state and its per-bar step (membership, velocity); the sums
//! are kept in [`sums`], the eigenvalue solve is in [`solve`] with its operators in [`matvec`]
//! and the dense fallback's inputs in [`fallback`].

mod fallback;
mod matvec;
mod solve;
mod sums;

use crate::lanczos::Lanczos;
use crate::returns::ReturnRing;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanczos::pseudo_random;

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
