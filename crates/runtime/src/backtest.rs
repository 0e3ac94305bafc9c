//! The replay backtest (`dolphin backtest`): day files in date order through one
//! [`NDAlphaEngine`], with a per-day governance context, collecting trades and day results.

use crate::config::SystemConfig;
use crate::providers::Providers;
use dolphin_core::UtcDate;
use dolphin_data::{DataError, list_day_files, read_day_file};
use dolphin_engine::{DayResult, EngineError, NDAlphaEngine, NDTradeRecord, Summary};
use std::path::{Path, PathBuf};

/// Where a backtest stopped and why. Results up to the failing day are kept in `partial`.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("no day files (YYYY-MM-DD.parquet) in {dir}{range}")]
    NoDays { dir: PathBuf, range: String },
    #[error("{file}: {source}")]
    Engine { file: PathBuf, source: EngineError },
    #[error("{source} (results of the {} day(s) before it were kept)", .partial.days.len())]
    Stopped {
        source: Box<BacktestError>,
        partial: Box<BacktestResult>,
    },
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestResult {
    pub summary: Summary,
    pub trades: Vec<NDTradeRecord>,
    pub days: Vec<DayResult>,
    /// Rows processed.
    pub bars: u64,
    /// Asset-bars processed (rows × asset columns).
    pub asset_bars: u64,
}

/// Progress of a run, reported after each day.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub day: &'a DayResult,
}

/// Lists the day files of a run, with a clear error when there are none.
pub fn day_files(
    dir: &Path,
    from: Option<UtcDate>,
    to: Option<UtcDate>,
) -> Result<Vec<(UtcDate, PathBuf)>, BacktestError> {
    let files = list_day_files(dir, from, to)?;
    if files.is_empty() {
        let range = match (from, to) {
            (None, None) => String::new(),
            (f, t) => format!(
                " between {} and {}",
                f.map_or("the start".to_string(), |d| d.to_string()),
                t.map_or("the end".to_string(), |d| d.to_string())
            ),
        };
        return Err(BacktestError::NoDays {
            dir: dir.to_path_buf(),
            range,
        });
    }
    Ok(files)
}

/// Runs the engine over `files` in order. `providers` are installed into the fresh engine
/// (ACB, MC, OB) and give each date's posture and Rm. The last day closes an open position
/// with END_OF_DATA. On a bad file the run stops, keeping what was done.
pub fn run_backtest(
    cfg: &SystemConfig,
    files: &[(UtcDate, PathBuf)],
    providers: &Providers,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<BacktestResult, BacktestError> {
    let mut engine =
        NDAlphaEngine::new(cfg.engine.clone()).map_err(|source| BacktestError::Engine {
            file: PathBuf::from("<config>"),
            source,
        })?;
    providers.install(&mut engine);
    let mut days = Vec::with_capacity(files.len());
    let (mut bars, mut asset_bars) = (0u64, 0u64);
    let total = files.len();
    // Read the next file on a helper thread while the engine runs the current one.
    let mut next = files.first().map(|(_, p)| spawn_read(p.clone()));
    for (i, (date, path)) in files.iter().enumerate() {
        let frame = next
            .take()
            .expect("a read is pending")
            .join()
            .expect("reader thread");
        next = files.get(i + 1).map(|(_, p)| spawn_read(p.clone()));
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                return Err(stopped(
                    BacktestError::Data(e),
                    &engine,
                    days,
                    bars,
                    asset_bars,
                ));
            }
        };
        let last = i + 1 == total;
        match engine.process_day(&frame, providers.day_context(*date), last) {
            Ok(day) => {
                bars += frame.len() as u64;
                asset_bars += (frame.len() * frame.n_assets()) as u64;
                days.push(day);
                progress(Progress {
                    done: i + 1,
                    total,
                    day: days.last().expect("just pushed"),
                });
            }
            Err(source) => {
                let e = BacktestError::Engine {
                    file: path.clone(),
                    source,
                };
                return Err(stopped(e, &engine, days, bars, asset_bars));
            }
        }
    }
    Ok(finish(&engine, days, bars, asset_bars))
}

fn spawn_read(path: PathBuf) -> std::thread::JoinHandle<Result<dolphin_core::DayFrame, DataError>> {
    std::thread::spawn(move || read_day_file(&path))
}

fn finish(
    engine: &NDAlphaEngine,
    days: Vec<DayResult>,
    bars: u64,
    asset_bars: u64,
) -> BacktestResult {
    let trades = engine.trade_history().to_vec();
    BacktestResult {
        summary: Summary::compute(engine.config().initial_capital, &trades, &days),
        trades,
        days,
        bars,
        asset_bars,
    }
}

fn stopped(
    source: BacktestError,
    engine: &NDAlphaEngine,
    days: Vec<DayResult>,
    bars: u64,
    asset_bars: u64,
) -> BacktestError {
    BacktestError::Stopped {
        source: Box::new(source),
        partial: Box::new(finish(engine, days, bars, asset_bars)),
    }
}
