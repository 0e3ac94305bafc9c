//! NDAlphaEngine: the pure DOLPHIN engine. No I/O, no clock, no globals.
//!
//! One file per piece, named as the seeds name it: [`signal`] (B §4.1, OB-2),
//! [`direction_confirm`] (B §4.2), [`irp`] (B §5, OB-1), [`sizing`] (B §6, alpha layers,
//! `vd_trend`, the leverage product), [`exits`] (B §7, OB-5, the vel_div adverse turn),
//! [`fees`] (B §8: slippage, SP refunds, OB edge, settlement), [`rng`] (SPEC D11),
//! [`volatility`] (SPEC D8), [`assets`] (price histories, SPEC D10), [`day_gates`] (the
//! once-a-day ACB/MC/posture gates, SPEC D4/D5), [`engine`] (B §13: the bar loop, entries,
//! position management, snapshot/restore), the provider hooks [`acb`], [`mc`], [`ob`],
//! [`champion`] (S §17.1) and [`metrics`] (SPEC §5).

pub mod acb;
pub mod assets;
pub mod champion;
pub mod config;
pub mod day_gates;
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
#[cfg(feature = "testkit")]
pub mod synthetic;
pub mod volatility;

pub use acb::{AcbDay, AcbProvider};
pub use config::{ConfigError, EngineConfig};
pub use day_gates::{DayContext, DayGates};
pub use engine::{
    Bar, DayResult, EngineError, EngineSnapshot, NDAlphaEngine, SnapshotError, StepOutcome,
};
pub use exits::ExitReason;
pub use mc::{McForewarner, McReport, McStatus};
pub use metrics::Summary;
pub use ob::{ObMacro, ObPlacement, ObProvider, ObSignal};
pub use position::{NDPosition, NDTradeRecord};
pub use volatility::VolatilityRegimeDetector;
