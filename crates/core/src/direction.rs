//! Trade direction: SHORT (champion, blue) or LONG (green).

use serde::{Deserialize, Serialize};

/// The regime direction of the engine and the side of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i8", into = "i8")]
pub enum Direction {
    Short,
    Long,
}

impl Direction {
    /// −1 for SHORT, +1 for LONG, as the seeds write it.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Short => -1.0,
            Direction::Long => 1.0,
        }
    }

    /// The opposite side.
    pub fn flip(self) -> Self {
        match self {
            Direction::Short => Direction::Long,
            Direction::Long => Direction::Short,
        }
    }

    /// −1 or 1 as an integer.
    pub fn as_i8(self) -> i8 {
        match self {
            Direction::Short => -1,
            Direction::Long => 1,
        }
    }
}

impl TryFrom<i8> for Direction {
    type Error = String;

    fn try_from(v: i8) -> Result<Self, Self::Error> {
        match v {
            -1 => Ok(Direction::Short),
            1 => Ok(Direction::Long),
            _ => Err(format!("direction must be -1 (SHORT) or 1 (LONG), got {v}")),
        }
    }
}

impl From<Direction> for i8 {
    fn from(d: Direction) -> i8 {
        d.as_i8()
    }
}
