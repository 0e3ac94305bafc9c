//! Input warnings: the record of a defect in an input that DOLPHIN accepts on purpose (issue 14
//! item 1; SPEC D10 and §6 make some defects data, e.g. a missing price). Every such defect is
//! counted, named in a warning line, shown in the summary table and written to `run.json` as
//! `warnings: [{file, row, field, what}]` (capped at [`InputWarnings::CAP`] entries) with
//! `warnings_total`. Defects that are not accepted are errors instead. The list of classes and
//! what happens to each is docs/INPUTS.md.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the `row` of a warning counts (only for the printed line; `run.json` keeps the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowUnit {
    /// A 1-based line of a text file (CSV, JSONL, capture), as an editor shows it.
    #[default]
    Line,
    /// A 0-based row of a table (parquet day file or feature table), as in the error messages.
    Row,
    /// The n-th (1-based) record of a sequence that has no lines of its own (e.g. NPZ scans).
    Item,
}

/// One accepted defect: where it is and what was done with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputWarning {
    /// The file (or directory) the defect is in.
    pub file: String,
    /// Line, row or item (see [`RowUnit`]); `None` when the defect concerns the whole file.
    pub row: Option<u64>,
    /// The field or column concerned.
    pub field: String,
    /// What is wrong and how it was taken.
    pub what: String,
    /// How `row` counts (not written to `run.json`).
    #[serde(skip)]
    pub unit: RowUnit,
}

impl InputWarning {
    /// A warning about `field` at `row` of `file`.
    pub fn new(
        file: impl fmt::Display,
        unit: RowUnit,
        row: Option<u64>,
        field: impl Into<String>,
        what: impl Into<String>,
    ) -> Self {
        InputWarning {
            file: file.to_string(),
            row,
            field: field.into(),
            what: what.into(),
            unit,
        }
    }
}

impl fmt::Display for InputWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match (self.row, self.unit) {
            (Some(r), RowUnit::Line) => write!(f, ":{r}")?,
            (Some(r), RowUnit::Row) => write!(f, ": row {r}")?,
            (Some(r), RowUnit::Item) => write!(f, ": #{r}")?,
            (None, _) => {}
        }
        write!(f, ": {}: {}", self.field, self.what)
    }
}

/// The warnings of a run: the first [`InputWarnings::CAP`] kept, all counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputWarnings {
    kept: Vec<InputWarning>,
    total: u64,
}

impl InputWarnings {
    /// Warnings kept in full (`run.json` and the printed lines); the rest are only counted.
    pub const CAP: usize = 100;

    /// No warnings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one warning.
    pub fn push(&mut self, w: InputWarning) {
        self.total += 1;
        if self.kept.len() < Self::CAP {
            self.kept.push(w);
        }
    }

    /// Records all warnings of `other` after these (its uncounted ones still count).
    pub fn append(&mut self, other: InputWarnings) {
        let dropped = other.total - other.kept.len() as u64;
        for w in other.kept {
            self.push(w);
        }
        self.total += dropped;
    }

    /// Number of warnings recorded, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The warnings kept in full, in the order recorded.
    pub fn kept(&self) -> &[InputWarning] {
        &self.kept
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(i: u64) -> InputWarning {
        InputWarning::new("a.csv", RowUnit::Line, Some(i), "close", "x")
    }

    #[test]
    fn capped_but_counted() {
        let mut a = InputWarnings::new();
        for i in 0..150 {
            a.push(w(i));
        }
        assert_eq!(a.total(), 150);
        assert_eq!(a.kept().len(), InputWarnings::CAP);
        assert_eq!(a.kept()[99].row, Some(99));
        let mut b = InputWarnings::new();
        b.push(w(1000));
        b.append(a);
        assert_eq!(b.total(), 151);
        assert_eq!(b.kept().len(), InputWarnings::CAP);
        assert_eq!(b.kept()[0].row, Some(1000));
    }

    #[test]
    fn printed_forms() {
        assert_eq!(w(7).to_string(), "a.csv:7: close: x");
        let r = InputWarning::new("d.parquet", RowUnit::Row, Some(3), "BTCUSDT", "y");
        assert_eq!(r.to_string(), "d.parquet: row 3: BTCUSDT: y");
        let f = InputWarning::new("dir", RowUnit::Line, None, "file", "z");
        assert_eq!(f.to_string(), "dir: file: z");
    }
}
