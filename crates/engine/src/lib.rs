//! NDAlphaEngine: the pure DOLPHIN engine. No I/O, no clock, no globals.
//!
//! One file per piece, named as the seeds name it: [`signal`] (B §4.1, OB-2),
//! [`direction_confirm`] (B §4.2), [`irp`] (B §5), [`sizing`] (B §6), [`exits`] (B §7),
//! [`fees`] (B §8), [`rng`] (SPEC D11), [`volatility`] (SPEC D8), [`engine`] (B §13), the
//! provider hooks [`acb`], [`mc`], [`ob`], [`champion`] (S §17.1) and [`metrics`] (SPEC §5).

pub mod acb;
pub mod champion;
pub mod config;
pub mod direction_confirm;
pub mod engine;
pub mod exits;
pub mod fees;
pub mod irp;
pub mod mc;
pub mod metrics;
pub mod ob;
pub mod position;
pub mod rng;
pub mod signal;
pub mod sizing;
pub mod synthetic;
pub mod volatility;

pub use acb::{AcbDay, AcbProvider};
pub use config::EngineConfig;
pub use engine::{Bar, DayContext, DayResult, EngineError, NDAlphaEngine, StepOutcome};
pub use exits::ExitReason;
pub use mc::{McForewarner, McReport, McStatus};
pub use metrics::Summary;
pub use ob::{ObMacro, ObPlacement, ObProvider, ObSignal};
pub use position::{NDPosition, NDTradeRecord};
pub use volatility::VolatilityRegimeDetector;
