//! Shared domain types of DOLPHIN.
//!
//! Everything here is plain data with no I/O: the day frame that the scanner writes and the
//! engine replays (SPEC §3), the survival-stack posture (seeds B §11), the trade direction,
//! the external ACB factors and the UTC calendar helpers used to name day files.

pub mod date;
pub mod day_frame;
pub mod direction;
pub mod external_factors;
pub mod input_warning;
pub mod median;
pub mod posture;

pub use date::{UtcDate, date_of_ms};
pub use day_frame::{
    DayFrame, DayFrameError, META_COLUMNS, SIGNAL_COLUMNS, is_reserved_column, is_valid_price,
};
pub use direction::Direction;
pub use external_factors::ExternalFactors;
pub use input_warning::{InputWarning, InputWarnings, RowUnit};
pub use median::{NanRule, median};
pub use posture::Posture;
