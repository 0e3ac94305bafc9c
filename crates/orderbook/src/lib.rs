//! Binance USD-M futures depth streams → local order book → OB features (seeds B §9,
//! S Layer 4; SPEC §3 "OB features", §7 book sync and bookTicker check).
//!
//! Data path: [`message`] parses wire/capture lines into exact decimals, [`book`] keeps a
//! local book per symbol by the futures sync rule, [`ticker_check`] verifies it against
//! `bookTicker`, [`features`] computes the OB features on a fixed cadence, [`stream`] routes
//! messages and runs the clock, [`table`] stores features as parquet, [`provider`] answers the
//! engine's `ObProvider` (live and replay), [`capture`] turns capture files into a table and
//! [`trade_bars`] turns their trades into kline bars.

pub mod book;
pub mod book_side;
mod canonical;
pub mod capture;
pub mod decimal;
pub mod event;
pub mod features;
pub mod live_bars;
pub mod message;
pub mod provider;
mod raw;
mod scan;
pub mod stream;
pub mod table;
pub mod ticker_check;
pub mod trade_bars;

pub use book::{BandDepth, BookStats, DiffOutcome, LocalBook, SyncState};
pub use book_side::BookSide;
pub use capture::{
    CaptureError, CaptureReplay, capture_to_features, capture_to_features_with, replay_captures,
};
pub use decimal::{DecimalError, Fixed};
pub use features::{AssetFeatures, FeatureConfig, MacroFeatures};
pub use live_bars::{LiveBar, LiveBarBuilder};
pub use message::{
    BookTicker, DepthSnapshot, DepthUpdate, Level, LineError, Message, MessageError, Trade,
    parse_capture_line, parse_message, parse_message_serde,
};
pub use provider::{LiveObProvider, MarketMultiplier, ReplayObProvider};
pub use stream::{BookHealth, FeatureRow, ObStream};
pub use table::{FeatureTable, TableError};
pub use ticker_check::{BookTop, TickerCheck, TickerCheckReport};
pub use trade_bars::{TradeBar, TradeBarBuilder, TradeBarError, parse_interval, write_kline_csvs};
