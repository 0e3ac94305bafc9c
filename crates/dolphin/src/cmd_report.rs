//! `dolphin report RUN_DIR`: the HTML tear sheet of a backtest or serve output folder.

use anyhow::Context;
use dolphin_report::{RunDir, render_tearsheet};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A run folder (what `dolphin backtest --out` or `dolphin serve --out` wrote).
    run_dir: PathBuf,
    /// Where to write the tear sheet. Default: RUN_DIR/report.html.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let out = a.out.unwrap_or_else(|| a.run_dir.join("report.html"));
    let n = write_report(&a.run_dir, &out)?;
    println!("tear sheet: {} ({} warning(s))", out.display(), n);
    Ok(())
}

/// Reads `run_dir` and writes its tear sheet to `out`; returns the number of warnings.
pub fn write_report(run_dir: &Path, out: &Path) -> anyhow::Result<usize> {
    let run = RunDir::load(run_dir).context("cannot read the run folder")?;
    for w in &run.warnings {
        eprintln!("warning: {w}");
    }
    let html = render_tearsheet(&run);
    dolphin_runtime::report::write_atomic(out, html.as_bytes())?;
    Ok(run.warnings.len())
}
