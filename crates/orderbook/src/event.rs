//! The Binance USD-M futures market-data messages as values (data/README.md "depth/"; SPEC §7):
//! `depthUpdate`, the REST depth snapshot, `bookTicker` and `trade`. Parsing lives in
//! [`crate::message`]; this file only names the fields, so that the parser's fast paths
//! (`canonical`, `scan`) and the serde path share the types without depending on each other.

use crate::decimal::Fixed;

/// One price level `[price, quantity]` (Binance diff depth / snapshot; qty 0 deletes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub price: Fixed,
    pub qty: Fixed,
}

/// A `depthUpdate` event of `<sym>@depth@<speed>` (Binance futures diff book depth; SPEC §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthUpdate {
    /// `E`: event time, ms since the epoch.
    pub event_time_ms: i64,
    /// `T`: transaction time, ms since the epoch.
    pub transaction_time_ms: i64,
    /// `U`: first update id in the event.
    pub first_update_id: u64,
    /// `u`: final update id in the event.
    pub final_update_id: u64,
    /// `pu`: final update id of the previous event of the stream.
    pub prev_final_update_id: u64,
    /// `b`: bid levels to set (qty 0 = delete).
    pub bids: Vec<Level>,
    /// `a`: ask levels to set (qty 0 = delete).
    pub asks: Vec<Level>,
}

/// A REST depth snapshot `GET /fapi/v1/depth` (SPEC §7 sync rule). It carries no symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSnapshot {
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// `E`: message output time, ms.
    pub event_time_ms: i64,
    /// `T`: transaction time, ms.
    pub transaction_time_ms: i64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A `bookTicker` event: best bid/ask with its update id (SPEC §7 check reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker {
    /// `u`: order book update id.
    pub update_id: u64,
    /// `b` / `B`: best bid price / qty.
    pub bid_price: Fixed,
    pub bid_qty: Fixed,
    /// `a` / `A`: best ask price / qty.
    pub ask_price: Fixed,
    pub ask_qty: Fixed,
    pub transaction_time_ms: i64,
    pub event_time_ms: i64,
}

/// A `trade` event (taker side from `m`; used by the fill-probability feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// `t`: trade id.
    pub trade_id: u64,
    /// `p`, `q`.
    pub price: Fixed,
    pub qty: Fixed,
    /// `m`: true when the buyer was the maker (the taker sold, hitting the bid).
    pub buyer_is_maker: bool,
    pub transaction_time_ms: i64,
    pub event_time_ms: i64,
}

/// A parsed market-data message; `symbol` borrows from the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Depth {
        symbol: &'a str,
        update: DepthUpdate,
    },
    Snapshot(DepthSnapshot),
    BookTicker {
        symbol: &'a str,
        ticker: BookTicker,
    },
    Trade {
        symbol: &'a str,
        trade: Trade,
    },
}

impl Message<'_> {
    /// Exchange event time `E` in ms (the clock of the feature sampler, SPEC §3).
    pub fn event_time_ms(&self) -> i64 {
        match self {
            Message::Depth { update, .. } => update.event_time_ms,
            Message::Snapshot(s) => s.event_time_ms,
            Message::BookTicker { ticker, .. } => ticker.event_time_ms,
            Message::Trade { trade, .. } => trade.event_time_ms,
        }
    }
}
