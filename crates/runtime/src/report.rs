//! Run outputs: `summary.json`, `trades.jsonl`, `days.jsonl` (machine-readable, byte-stable
//! for the same inputs) and `equity.png`.

use crate::backtest::BacktestResult;
use crate::plot::plot_equity;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot plot {path}: {source}")]
    Plot {
        path: PathBuf,
        source: crate::plot::PlotError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `text` to `path` via a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// One JSON object per line.
pub fn jsonl<T: serde::Serialize>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 256);
    for it in items {
        serde_json::to_writer(&mut out, it).expect("serializable");
        out.push(b'\n');
    }
    out
}

/// Writes every output of a run into `out` (created if needed).
pub fn write_outputs(out: &Path, result: &BacktestResult, plot: bool) -> Result<(), ReportError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let mut summary = serde_json::to_vec_pretty(&result.summary).expect("serializable");
    summary.push(b'\n');
    write_atomic(&out.join("summary.json"), &summary)?;
    write_atomic(&out.join("trades.jsonl"), &jsonl(&result.trades))?;
    write_atomic(&out.join("days.jsonl"), &jsonl(&result.days))?;
    if plot {
        let path = out.join("equity.png");
        plot_equity(&path, result).map_err(|source| ReportError::Plot { path, source })?;
    }
    Ok(())
}
