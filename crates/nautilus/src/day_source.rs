//! Where the actor finds a date's day file in replay mode (B §14.3 `_load_parquet_data`).

use dolphin_core::{DayFrame, UtcDate};
use dolphin_data::{DataError, read_day_file};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The replay data of the actor: the day frame of a date, `None` when there is none
/// (B §14.3; S §5.3 ④ "if _day_data empty → return").
pub trait DaySource {
    /// The frame of `date`, or `None` when the source has no data for it.
    fn day(&mut self, date: UtcDate) -> Result<Option<DayFrame>, DataError>;
}

/// Day files on disk, read when their date begins (B §14.3).
#[derive(Debug, Clone, Default)]
pub struct DayFiles {
    files: BTreeMap<UtcDate, PathBuf>,
}

impl DayFiles {
    /// From `(date, path)` pairs as `dolphin_runtime::day_files` lists them.
    pub fn new(files: &[(UtcDate, PathBuf)]) -> Self {
        Self {
            files: files.iter().cloned().collect(),
        }
    }
}

impl DaySource for DayFiles {
    fn day(&mut self, date: UtcDate) -> Result<Option<DayFrame>, DataError> {
        self.files.get(&date).map(|p| read_day_file(p)).transpose()
    }
}

/// Frames already in memory (generated data, or files the runner has read to build bars).
/// A frame is handed over once: the actor owns it for its day.
#[derive(Debug, Clone, Default)]
pub struct DayFrames {
    frames: BTreeMap<UtcDate, DayFrame>,
}

impl DayFrames {
    /// Keyed by each frame's own date.
    pub fn new(frames: impl IntoIterator<Item = DayFrame>) -> Self {
        Self {
            frames: frames.into_iter().map(|f| (f.date, f)).collect(),
        }
    }
}

impl DaySource for DayFrames {
    fn day(&mut self, date: UtcDate) -> Result<Option<DayFrame>, DataError> {
        Ok(self.frames.remove(&date))
    }
}
