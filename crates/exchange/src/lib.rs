//! A local Binance USD-M futures exchange for tests and demos (issue 12 item 1; SPEC §7, §8).
//!
//! It serves, on 127.0.0.1, the real REST market-data endpoints and websocket market streams
//! from recorded data — the shared depth captures (replayed byte for byte as recorded) and
//! 1-minute kline files — at a chosen speed on **event time**, with fault injection
//! (dropped connections, sequence gaps, stalled streams, slow or failing REST, 429/418 rate
//! limits). Data path: [`timeline`] loads and merges the recordings, [`replay`] walks them and
//! derives the streams, [`server`] starts the server and routes requests, `rest` answers REST,
//! [`ws`] serves the streams, [`format`] writes Binance's message formats, [`faults`] parses
//! the fault plan. Decisions: docs/LIVE.md.

pub mod error;
pub mod faults;
pub mod format;
pub mod replay;
mod rest;
pub mod server;
pub mod timeline;
pub mod ws;

pub use error::ExchangeError;
pub use faults::{Faults, StreamFault};
pub use server::{ExchangeConfig, ExchangeData, ExchangeHandle, start};
pub use timeline::Timeline;
