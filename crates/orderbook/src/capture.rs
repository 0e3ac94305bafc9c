//! `capture_to_features`: a recorded Binance capture (`<local_ts_ns> <json>` per line, gzip or
//! plain; data/README.md "depth/") → feature table + book health (SPEC §3, §7). Backs the CLI
//! command `dolphin ob --capture FILE.gz --out FILE.parquet`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::features::FeatureConfig;
use crate::message::LineError;
use crate::stream::{BookHealth, ObStream};
use crate::table::FeatureTable;

/// Why a capture could not be turned into features.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {source}")]
    Line {
        path: PathBuf,
        line: u64,
        #[source]
        source: LineError,
    },
}

/// Open a capture, transparently gunzipping when it starts with the gzip magic bytes.
pub fn open_capture(path: &Path) -> Result<Box<dyn BufRead>, CaptureError> {
    let io = |source| CaptureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let f = File::open(path).map_err(io)?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::new(f)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f))
    })
}

/// Replay a capture through the books, the SPEC §7 check and the feature engine with the
/// default [`FeatureConfig`]. Empty lines are skipped; any malformed line is an error naming
/// the file and line number.
pub fn capture_to_features(path: &Path) -> Result<(FeatureTable, BookHealth), CaptureError> {
    capture_to_features_with(path, &FeatureConfig::default())
}

/// As [`capture_to_features`] with an explicit configuration.
pub fn capture_to_features_with(
    path: &Path,
    cfg: &FeatureConfig,
) -> Result<(FeatureTable, BookHealth), CaptureError> {
    let mut reader = open_capture(path)?;
    let mut stream = ObStream::new(cfg.clone());
    let mut rows = Vec::new();
    let mut line = String::new();
    let mut line_no: u64 = 0;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| CaptureError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        stream
            .push_capture_line(&line, &mut rows)
            .map_err(|source| CaptureError::Line {
                path: path.to_path_buf(),
                line: line_no,
                source,
            })?;
    }
    Ok((FeatureTable { rows }, stream.health()))
}
