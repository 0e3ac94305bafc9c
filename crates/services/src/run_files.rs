//! The JSONL files of a serve run directory (TEAM contract): decision traces, the watchdog's
//! `posture_trace.jsonl` and `heartbeats.jsonl`. Opened truncated at the start of a run; every
//! line is one JSON object; decision files are flushed per line (they are few and a crash must
//! not lose one), the high-volume ones when [`RunFiles::flush`] is called (each date change and
//! at the end).

use crate::error::ServiceError;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The files, by what they hold (the discriminant is the index in [`Trace::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    Acb,
    Mc,
    Cb,
    Posture,
    PostureTrace,
    Heartbeats,
}

impl Trace {
    pub const ALL: [Trace; 6] = [
        Trace::Acb,
        Trace::Mc,
        Trace::Cb,
        Trace::Posture,
        Trace::PostureTrace,
        Trace::Heartbeats,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Trace::Acb => "acb.jsonl",
            Trace::Mc => "mc.jsonl",
            Trace::Cb => "cb.jsonl",
            Trace::Posture => "posture.jsonl",
            Trace::PostureTrace => "posture_trace.jsonl",
            Trace::Heartbeats => "heartbeats.jsonl",
        }
    }

    fn flush_each_line(self) -> bool {
        !matches!(self, Trace::PostureTrace | Trace::Heartbeats)
    }
}

struct Inner {
    dir: PathBuf,
    writers: Vec<(Trace, BufWriter<File>)>,
    lines: Vec<u64>,
}

/// Shared handle to the run's JSONL files.
#[derive(Clone)]
pub struct RunFiles {
    inner: Arc<Mutex<Inner>>,
}

impl RunFiles {
    /// Creates `dir` and opens every file, truncated.
    pub fn create(dir: &Path) -> Result<Self, ServiceError> {
        Self::create_with_prefix(dir, &[])
    }

    /// Like [`create`](Self::create), but a file named in `prefix` starts with that text
    /// (whole JSON lines: a resumed run's decisions up to its resume point). The text is
    /// written to a temporary file that replaces the old one by a rename, so a process killed
    /// meanwhile leaves either the old file or the new one, never a truncated one.
    pub fn create_with_prefix(
        dir: &Path,
        prefix: &[(Trace, String)],
    ) -> Result<Self, ServiceError> {
        std::fs::create_dir_all(dir).map_err(|e| ServiceError::io("create", dir, e))?;
        let mut writers = Vec::new();
        let mut lines = vec![0; Trace::ALL.len()];
        for (i, t) in Trace::ALL.into_iter().enumerate() {
            let p = dir.join(t.file_name());
            let f = match prefix.iter().find(|(pt, _)| *pt == t) {
                Some((_, text)) => {
                    let tmp = dir.join(format!("{}.tmp", t.file_name()));
                    std::fs::write(&tmp, text).map_err(|e| ServiceError::io("write", &tmp, e))?;
                    std::fs::rename(&tmp, &p).map_err(|e| ServiceError::io("rename", &p, e))?;
                    lines[i] = text.lines().count() as u64;
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&p)
                        .map_err(|e| ServiceError::io("open", &p, e))?
                }
                None => File::create(&p).map_err(|e| ServiceError::io("create", &p, e))?,
            };
            writers.push((t, BufWriter::with_capacity(1 << 16, f)));
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                writers,
                lines,
            })),
        })
    }

    /// The run directory.
    pub fn dir(&self) -> PathBuf {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dir
            .clone()
    }

    /// Appends one JSON line to `trace`.
    pub fn append<T: Serialize>(&self, trace: Trace, value: &T) -> Result<(), ServiceError> {
        self.write_line(trace, |w| {
            serde_json::to_writer(w, value).map_err(std::io::Error::other)
        })
    }

    /// Appends one line to `trace` whose JSON text the caller wrote (without the newline).
    pub fn append_raw(&self, trace: Trace, json: &str) -> Result<(), ServiceError> {
        self.write_line(trace, |w| w.write_all(json.as_bytes()))
    }

    fn write_line(
        &self,
        trace: Trace,
        body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), ServiceError> {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let g = &mut *guard;
        let idx = trace as usize;
        g.lines[idx] += 1;
        let w = &mut g.writers[idx].1;
        let done = body(w).and_then(|()| w.write_all(b"\n")).and_then(|()| {
            if trace.flush_each_line() {
                w.flush()
            } else {
                Ok(())
            }
        });
        done.map_err(|e| ServiceError::io("write", &g.dir.join(trace.file_name()), e))
    }

    /// Lines written to `trace` so far.
    pub fn lines(&self, trace: Trace) -> u64 {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        g.lines[trace as usize]
    }

    /// Flushes every file.
    pub fn flush(&self) -> Result<(), ServiceError> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = g.dir.clone();
        for (t, w) in &mut g.writers {
            w.flush()
                .map_err(|e| ServiceError::io("write", &dir.join(t.file_name()), e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminants_index_all_and_raw_lines_equal_serialized_ones() {
        for (i, t) in Trace::ALL.iter().enumerate() {
            assert_eq!(*t as usize, i);
        }
        let dir = tempfile::tempdir().unwrap();
        let f = RunFiles::create(dir.path()).unwrap();
        f.append(Trace::Cb, &serde_json::json!({"a": 1.5})).unwrap();
        f.append_raw(Trace::Cb, r#"{"a":1.5}"#).unwrap();
        f.flush().unwrap();
        assert_eq!(f.lines(Trace::Cb), 2);
        let text = std::fs::read_to_string(dir.path().join("cb.jsonl")).unwrap();
        assert_eq!(text, "{\"a\":1.5}\n{\"a\":1.5}\n");
    }
}
