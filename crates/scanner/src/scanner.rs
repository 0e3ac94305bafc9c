//! The eigenvalue scanner NG3 (SPEC §3, §6 "Scanner"): streaming `push` and batch `scan_batch`
//! share one implementation, so a live feed and a replay give the same bits.

use crate::config::ScannerConfig;
use crate::error::ScanError;
use crate::lanczos::Lanczos;
use crate::returns::ReturnRing;
use crate::scan_row::ScanRow;
use crate::window::{WindowOutput, WindowState, WindowStats};
use rayon::prelude::*;

/// From this many assets on, the four windows of a bar run in parallel (rayon): each window
/// then costs hundreds of microseconds, far above the cost of handing it to another core.
/// Below, one core does them in turn. Each window has its own state and solver work space, so
/// the bits do not depend on the split.
pub const PARALLEL_MIN_ASSETS: usize = 64;

/// Work counters of a scanner, per window (for benchmarks and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Bars pushed.
    pub bars: u64,
    /// Per window, in `ScannerConfig::windows` order.
    pub windows: [WindowStats; 4],
}

/// Streaming eigenvalue scanner over a fixed panel of `n_assets` (SPEC §3): one bar of closes
/// in, one [`ScanRow`] out. Missing prices are NaN (or ≤ 0).
#[derive(Debug, Clone)]
pub struct Scanner {
    cfg: ScannerConfig,
    ring: ReturnRing,
    windows: Vec<WindowState>,
    lanczos: Vec<Lanczos>,
    slow: usize,
}

impl Scanner {
    /// A scanner for `n_assets` columns (SPEC §3). Fails on a zero asset count or a bad config.
    pub fn new(n_assets: usize, cfg: ScannerConfig) -> Result<Self, ScanError> {
        cfg.validate()?;
        if n_assets == 0 {
            return Err(ScanError::NoAssets);
        }
        let cap = cfg.windows[3] + 1;
        let windows = cfg
            .windows
            .iter()
            .enumerate()
            .map(|(k, &w)| WindowState::new(n_assets, w, cfg.rebuild_every.unwrap_or(w), k < 2))
            .collect();
        let slow = cfg.slow_index();
        Ok(Scanner {
            ring: ReturnRing::new(n_assets, cap),
            windows,
            lanczos: vec![Lanczos::default(); 4],
            slow,
            cfg,
        })
    }

    /// Number of asset columns.
    pub fn n_assets(&self) -> usize {
        self.ring.n
    }

    /// The configuration in force.
    pub fn config(&self) -> &ScannerConfig {
        &self.cfg
    }

    /// Pushes one bar (SPEC §3, the live path) and returns its row.
    ///
    /// # Panics
    /// When `closes.len() != n_assets` (use [`Scanner::try_push`] to get an error instead).
    pub fn push(&mut self, closes: &[f64]) -> ScanRow {
        match self.try_push(closes) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Pushes one bar; errors when the bar does not have `n_assets` prices.
    pub fn try_push(&mut self, closes: &[f64]) -> Result<ScanRow, ScanError> {
        if closes.len() != self.ring.n {
            return Err(ScanError::WrongBarWidth {
                bar: self.ring.rows,
                expected: self.ring.n,
                got: closes.len(),
            });
        }
        self.ring.push(closes);
        let mut row = ScanRow::NAN;
        let mut vel = [f64::NAN; 4];
        let (ring, tol) = (&self.ring, self.cfg.tolerance);
        let mut outs: [Option<WindowOutput>; 4] = [None; 4];
        if ring.n >= PARALLEL_MIN_ASSETS {
            self.windows
                .par_iter_mut()
                .zip(self.lanczos.par_iter_mut())
                .zip(outs.par_iter_mut())
                .for_each(|((win, lz), o)| *o = Some(win.step(ring, lz, tol)));
        } else {
            for ((win, lz), o) in self
                .windows
                .iter_mut()
                .zip(&mut self.lanczos)
                .zip(&mut outs)
            {
                *o = Some(win.step(ring, lz, tol));
            }
        }
        for (k, out) in outs.into_iter().enumerate() {
            let out = out.expect("every window stepped");
            row.lambda_hat[k] = out.lambda_hat;
            row.n_assets[k] = out.n_assets;
            vel[k] = out.velocity;
            match k {
                0 => row.instability_50 = out.instability,
                1 => row.instability_150 = out.instability,
                _ => {}
            }
        }
        row.v50 = vel[0];
        row.v150 = vel[1];
        row.v300 = vel[2];
        row.v750 = vel[3];
        row.vel_div = vel[0] - vel[self.slow];
        Ok(row)
    }

    /// Work counters so far.
    pub fn stats(&self) -> ScanStats {
        let mut s = ScanStats {
            bars: self.ring.rows as u64,
            ..ScanStats::default()
        };
        for (k, w) in self.windows.iter().enumerate() {
            s.windows[k] = w.stats;
        }
        s
    }
}

/// Scans a whole row-major price panel (`closes_row_major[t·n + i]` = close of asset i at row
/// t) through the streaming scanner (SPEC §3); row t of the result equals the t-th `push`.
pub fn scan_batch(
    n_assets: usize,
    closes_row_major: &[f64],
    cfg: &ScannerConfig,
) -> Result<Vec<ScanRow>, ScanError> {
    let n_bars = panel_rows(n_assets, closes_row_major)?;
    let mut sc = Scanner::new(n_assets, cfg.clone())?;
    let mut out = Vec::with_capacity(n_bars);
    for bar in closes_row_major.chunks_exact(n_assets) {
        out.push(sc.try_push(bar)?);
    }
    Ok(out)
}

/// Number of rows of a row-major panel, checking its shape.
pub(crate) fn panel_rows(n_assets: usize, closes_row_major: &[f64]) -> Result<usize, ScanError> {
    if n_assets == 0 {
        return Err(ScanError::NoAssets);
    }
    if !closes_row_major.len().is_multiple_of(n_assets) {
        return Err(ScanError::RaggedPanel {
            len: closes_row_major.len(),
            n_assets,
            row: closes_row_major.len() / n_assets,
        });
    }
    Ok(closes_row_major.len() / n_assets)
}
