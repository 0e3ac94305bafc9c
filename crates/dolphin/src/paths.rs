//! Default paths: the shipped sample data, found from the working directory or the checkout.

use std::path::PathBuf;

/// Resolves a repository-relative path: as given if it exists from the working directory,
/// else relative to the checkout this binary was built from.
pub fn repo_path(rel: &str) -> PathBuf {
    let p = PathBuf::from(rel);
    if p.exists() {
        return p;
    }
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel);
    if built.exists() { built } else { p }
}

/// The shipped sample day files.
pub fn sample_days() -> PathBuf {
    repo_path("data/sample/days")
}

/// The shipped sample klines.
pub fn sample_klines() -> PathBuf {
    repo_path("data/sample/klines-1m")
}
