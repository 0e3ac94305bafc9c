//! Survival-stack posture (seeds B §11.5, SPEC D4/D5).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four postures, from full operation to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Posture {
    /// Rm ≥ 0.90: no constraint.
    Apex,
    /// Rm ≥ 0.75: leverage ceiling capped at 2.0.
    Stalker,
    /// Rm ≥ 0.50: no new entries; leverage ceiling scaled by Rm.
    Turtle,
    /// Rm < 0.50: force-close the open position, no new entries.
    Hibernate,
}

impl Posture {
    /// The name as the store writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Posture::Apex => "APEX",
            Posture::Stalker => "STALKER",
            Posture::Turtle => "TURTLE",
            Posture::Hibernate => "HIBERNATE",
        }
    }

    /// Whether new entries are halted for the day (TURTLE and HIBERNATE).
    pub fn halts_entries(self) -> bool {
        matches!(self, Posture::Turtle | Posture::Hibernate)
    }
}

impl fmt::Display for Posture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Posture {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "APEX" => Ok(Posture::Apex),
            "STALKER" => Ok(Posture::Stalker),
            "TURTLE" => Ok(Posture::Turtle),
            "HIBERNATE" => Ok(Posture::Hibernate),
            _ => Err(format!(
                "unknown posture `{s}` (expected APEX, STALKER, TURTLE or HIBERNATE)"
            )),
        }
    }
}
