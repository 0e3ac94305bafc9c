//! The eigenvalue scanner NG3 (SPEC §3, §6 "Scanner"; seeds B §3): close prices of N assets per
//! bar in; per window w ∈ {50, 150, 300, 750} the largest eigenvalue share
//! `lambda_hat_w = lambda_max(C_w) / N_w` of the rolling Pearson correlation matrix of log
//! returns, its bar-to-bar velocity, the instability index and `vel_div = v50 − v_slow` out.
//!
//! Fast path ([`Scanner`], [`scan_batch`]): windowed cross-products maintained incrementally
//! and a warm-started Lanczos solver for the top eigenvalue. Exact path ([`dense_reference`]):
//! two-pass correlation and a dense eigen solver per bar. Check ([`verify_bar`]): the same in
//! 320-bit arithmetic.

mod config;
mod correlation;
mod dense_eigen;
mod dense_reference;
mod error;
mod lanczos;
mod real;
mod returns;
mod scan_row;
mod scanner;
mod verify;
mod window;

pub use config::ScannerConfig;
pub use dense_reference::dense_reference;
pub use error::ScanError;
pub use real::HP_BITS;
pub use returns::log_return;
pub use scan_row::ScanRow;
pub use scanner::{PARALLEL_MIN_ASSETS, ScanStats, Scanner, scan_batch};
pub use verify::{VerifyReport, verify_bar};
pub use window::WindowStats;
