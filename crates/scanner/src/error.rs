//! Errors of the scanner crate. Each variant names the field or row at fault.

use thiserror::Error;

/// Everything that can go wrong when configuring or feeding the scanner.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScanError {
    /// A [`crate::ScannerConfig`] field holds a value the scanner cannot use (SPEC §3, D2).
    #[error("scanner config field `{field}`: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    /// The panel has no asset columns.
    #[error("scanner needs at least one asset column (n_assets = 0)")]
    NoAssets,
    /// A row-major price panel whose length is not a multiple of the asset count.
    #[error(
        "price panel of {len} values is not a whole number of rows of {n_assets} assets (row {row} is partial)"
    )]
    RaggedPanel {
        len: usize,
        n_assets: usize,
        row: usize,
    },
    /// One pushed bar with the wrong number of prices.
    #[error(
        "bar {bar}: field `closes` has {got} prices, the scanner was built for {expected} assets"
    )]
    WrongBarWidth {
        bar: usize,
        expected: usize,
        got: usize,
    },
    /// A bar index outside the panel.
    #[error("bar {bar} is outside the panel of {n_bars} rows")]
    BarOutOfRange { bar: usize, n_bars: usize },
    /// `verify_bar` was given a row that does not belong to the bar.
    #[error(
        "bar {bar}: field `row.n_assets[{window_index}]` is {got}, the data give {expected} assets in window {window}"
    )]
    RowMismatch {
        bar: usize,
        window_index: usize,
        window: usize,
        got: usize,
        expected: usize,
    },
}
