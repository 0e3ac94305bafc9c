//! NDAlphaEngine: the pure DOLPHIN engine. No I/O, no clock, no globals.

pub mod acb;
pub mod config;
pub mod mc;
pub mod ob;

pub use acb::{AcbDay, AcbProvider};
pub use config::EngineConfig;
pub use mc::{McForewarner, McReport, McStatus};
pub use ob::{ObMacro, ObPlacement, ObProvider, ObSignal};
