//! The eigenvalue scanner as a Nautilus actor for the live node (S §9.1): it subscribes to the
//! kline bars of every panel asset, assembles each bar time's closes and writes the scan to
//! `DOLPHIN_FEATURES["latest_eigen_scan"]`, where the [`crate::DolphinActor`] in live mode
//! reads it. The logic is [`ScanPublisher`]; this is the wire. With `bar_seconds` other than
//! 60 (SPEC D1; the champion's 5 s) it subscribes to the trade stream instead and builds the
//! bars itself ([`LiveBarBuilder`], SPEC §8 "Bars"), optionally recording them
//! ([`BarRecorder`]).

use crate::bar_recorder::BarRecorder;
use crate::config::StoreConnector;
use crate::live_scan::LiveScan;
use crate::scan_inbox::{SCAN_SIGNAL, ScanInbox};
use crate::scan_publisher::{PublisherStats, ScanPublisher};
use dolphin_orderbook::{Fixed, LiveBar, LiveBarBuilder, Trade};
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, to_json};
use nautilus_common::actor::{DataActor, DataActorConfig, DataActorCore};
use nautilus_common::nautilus_actor;
use nautilus_common::timer::TimeEvent;
use nautilus_core::UnixNanos;
use nautilus_model::data::{Bar, BarType, TradeTick};
use nautilus_model::enums::AggressorSide;
use nautilus_model::identifiers::ActorId;
use std::sync::Arc;

/// Bar subscriptions sent at once; the rest follow one batch every [`SUBSCRIBE_GAP`].
/// NautilusTrader 0.57's Binance stream pool checks a connection's free capacity and takes it
/// in two steps; subscriptions handled at the same moment on two runtime threads can both see
/// the last free stream of a full connection, and one then fails ("Pool exhausted"). With
/// batches of 10 (a divisor of its 200 streams per connection) spaced in time, no batch
/// straddles a full connection while another is in flight (docs/LIVE.md §7).
pub const SUBSCRIBE_BATCH: usize = 10;
/// Wall time between two subscription batches.
pub const SUBSCRIBE_GAP: std::time::Duration = std::time::Duration::from_millis(20);
const SUBSCRIBE_TIMER: &str = "dolphin_subscribe";

/// Kline bars → live eigen scans in the store.
pub struct ScannerActor {
    core: DataActorCore,
    publisher: ScanPublisher,
    connector: StoreConnector,
    store: Option<Arc<dyn SystemMemory>>,
    bar_types: Vec<BarType>,
    /// Bar types not subscribed yet (the panel is subscribed in batches, see
    /// [`SUBSCRIBE_BATCH`]).
    to_subscribe: Vec<BarType>,
    store_errors: u64,
    /// Write each scan to `DOLPHIN_FEATURES["latest_eigen_scan"]` (off under a governor, which
    /// publishes the scan after the DolphinActor stepped it, as the replay trader does).
    store_scans: bool,
    /// The node's DolphinActor queue (every scan once, in order), when it runs in this node.
    inbox: Option<ScanInbox>,
    feed: BarFeed,
}

/// Where the scanner's bars come from (SPEC D1 `bar_seconds`).
#[derive(Debug)]
enum BarFeed {
    /// The exchange's 1-minute klines (`bar_seconds: 60`).
    Klines,
    /// Bars of `bar_seconds` built in the node from the trade stream (the champion: 5 s).
    Trades(Box<TradeFeed>),
}

#[derive(Debug)]
struct TradeFeed {
    builder: LiveBarBuilder,
    recorder: Option<BarRecorder>,
    /// Bars opening at or after this (the run's end) are not recorded.
    record_end_ms: Option<i64>,
    closed: Vec<LiveBar>,
    bars: u64,
    filled: u64,
    bad_trades: u64,
}

/// Trade-bar counters of a [`ScannerActor`] in trade mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TradeBarStats {
    /// Bars closed (all symbols).
    pub bars: u64,
    /// Of which without a trade (the close carried, SPEC §8).
    pub filled: u64,
    /// Trades whose price or size could not be read.
    pub bad_trades: u64,
    /// Bars written by the recorder.
    pub recorded: u64,
}

nautilus_actor!(ScannerActor);

impl std::fmt::Debug for ScannerActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannerActor")
            .field("assets", &self.publisher.assets())
            .field("bar_types", &self.bar_types.len())
            .field("stats", &self.publisher.stats())
            .finish()
    }
}

impl ScannerActor {
    /// An actor publishing the scans of `publisher`'s panel from `bar_types` (one per asset).
    pub fn new(
        publisher: ScanPublisher,
        bar_types: Vec<BarType>,
        connector: StoreConnector,
    ) -> Self {
        let core = DataActorCore::new(DataActorConfig {
            actor_id: Some(ActorId::from("DOLPHIN-SCANNER-001")),
            ..Default::default()
        });
        Self {
            core,
            publisher,
            connector,
            store: None,
            bar_types,
            to_subscribe: Vec::new(),
            store_errors: 0,
            store_scans: true,
            inbox: None,
            feed: BarFeed::Klines,
        }
    }

    /// Builds the panel's bars of `bar_seconds` from the trade stream (subscribing trades, not
    /// klines) and, with `record`, writes them as kline CSVs there ([`BarRecorder`]), up to
    /// the bar before `end_ms` (the node's event-time end, when it has one).
    pub fn with_trade_bars(
        mut self,
        bar_seconds: u32,
        record: Option<&std::path::Path>,
        end_ms: Option<i64>,
    ) -> Self {
        self.feed = BarFeed::Trades(Box::new(TradeFeed {
            builder: LiveBarBuilder::new(bar_seconds),
            recorder: record.map(|d| BarRecorder::new(d, bar_seconds)),
            record_end_ms: end_ms,
            closed: Vec::new(),
            bars: 0,
            filled: 0,
            bad_trades: 0,
        }));
        self
    }

    /// Trade-bar counters (`None` with kline bars).
    pub fn trade_bar_stats(&self) -> Option<TradeBarStats> {
        match &self.feed {
            BarFeed::Klines => None,
            BarFeed::Trades(f) => Some(TradeBarStats {
                bars: f.bars,
                filled: f.filled,
                bad_trades: f.bad_trades,
                recorded: f.recorder.as_ref().map_or(0, BarRecorder::written),
            }),
        }
    }

    fn subscribe_one(&mut self, bt: BarType) {
        match self.feed {
            BarFeed::Klines => self.subscribe_bars(bt, None, None),
            BarFeed::Trades(_) => self.subscribe_trades(bt.instrument_id(), None, None),
        }
    }

    fn unsubscribe_one(&mut self, bt: BarType) {
        match self.feed {
            BarFeed::Klines => self.unsubscribe_bars(bt, None, None),
            BarFeed::Trades(_) => self.unsubscribe_trades(bt.instrument_id(), None, None),
        }
    }

    /// Also queue every scan for the DolphinActor of the same node ([`ScanInbox`]).
    pub fn with_inbox(mut self, inbox: ScanInbox) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// Leave the scans' store writes to the DolphinActor's governor (`dolphin serve --live`):
    /// the services then see each scan after the step, exactly as in a replay.
    pub fn without_store_scans(mut self) -> Self {
        self.store_scans = false;
        self
    }

    /// Publisher counters.
    pub fn stats(&self) -> PublisherStats {
        self.publisher.stats()
    }

    /// Failed store writes so far (non-fatal).
    pub fn store_errors(&self) -> u64 {
        self.store_errors
    }

    /// Handles one kline bar (its instrument's symbol without `-PERP` is the asset). Nautilus
    /// stamps a bar at its close; the scan is stamped at the bar's open (the day-file
    /// convention, B §3.1), see [`bar_open_ms`].
    pub fn handle_bar(&mut self, bar: &Bar) {
        let arrived = std::time::Instant::now();
        let symbol = bar.bar_type.instrument_id().symbol.to_string();
        let asset = symbol.strip_suffix("-PERP").unwrap_or(&symbol);
        let open_ms = bar_open_ms(
            (bar.ts_event.as_u64() / 1_000_000) as i64,
            self.publisher.interval_ms(),
        );
        let close = bar.close.as_f64();
        let asset = asset.to_string();
        self.publish_close(&asset, open_ms, close, arrived, bar.ts_event);
    }

    /// Handles one trade (5-second bars, SPEC D1 / §8 "Bars"): the trade goes into the live
    /// bar builder on the trade's own time (the adapter's `ts_event` = Binance `T`); every bar
    /// it closes is recorded (when recording) and its close published like a kline's.
    pub fn handle_trade(&mut self, tick: &TradeTick) {
        let arrived = std::time::Instant::now();
        let BarFeed::Trades(feed) = &mut self.feed else {
            return;
        };
        let symbol = tick.instrument_id.symbol.to_string();
        let asset = symbol.strip_suffix("-PERP").unwrap_or(&symbol);
        let (Ok(price), Ok(qty)) = (
            Fixed::parse(&tick.price.to_string()),
            Fixed::parse(&tick.size.to_string()),
        ) else {
            feed.bad_trades += 1;
            log::warn!(
                "ScannerActor: trade {} of {asset}: price or size unreadable",
                tick.trade_id
            );
            return;
        };
        let ms = (tick.ts_event.as_u64() / 1_000_000) as i64;
        let trade = Trade {
            trade_id: tick.trade_id.as_str().parse().unwrap_or(0),
            price,
            qty,
            buyer_is_maker: tick.aggressor_side == AggressorSide::Seller,
            transaction_time_ms: ms,
            event_time_ms: ms,
        };
        let mut closed = std::mem::take(&mut feed.closed);
        feed.builder.on_trade(asset, &trade, ms, &mut closed);
        for b in &closed {
            feed.bars += 1;
            feed.filled += u64::from(b.filled);
            if let Some(r) = feed.recorder.as_mut()
                && feed.record_end_ms.is_none_or(|end| b.open_ms() < end)
            {
                r.record(b);
            }
        }
        for b in &closed {
            self.publish_close(
                &b.symbol,
                b.open_ms(),
                b.close_f64(),
                arrived,
                tick.ts_event,
            );
        }
        closed.clear();
        if let BarFeed::Trades(feed) = &mut self.feed {
            feed.closed = closed;
        }
    }

    /// One asset's close of the bar opening at `open_ms`: scans completed by it go to the store
    /// and to the DolphinActor's inbox.
    fn publish_close(
        &mut self,
        asset: &str,
        open_ms: i64,
        close: f64,
        arrived: std::time::Instant,
        ts: UnixNanos,
    ) {
        for value in self.publisher.on_close(asset, open_ms, close) {
            if let Some(store) = self.store.as_ref().filter(|_| self.store_scans) {
                let written =
                    to_json(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &value).and_then(|json| {
                        store.put_or_defer(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &json)
                    });
                if let Err(e) = written {
                    self.store_errors += 1;
                    log::warn!("ScannerActor: scan not written: {e}");
                }
            }
            if let Some(inbox) = &self.inbox {
                match LiveScan::from_value(&value, self.publisher.assets()) {
                    Ok(scan) => {
                        inbox.push(scan, arrived);
                        // The DolphinActor steps it inside this call (message bus, same thread).
                        self.publish_signal(SCAN_SIGNAL, value.scan_number.to_string(), ts);
                    }
                    Err(e) => log::error!("ScannerActor: scan {}: {e}", value.scan_number),
                }
            }
        }
    }

    /// Subscribes the next [`SUBSCRIBE_BATCH`] bar types of the panel (in panel order).
    fn subscribe_batch(&mut self) {
        for _ in 0..SUBSCRIBE_BATCH {
            let Some(bt) = self.to_subscribe.pop() else {
                break;
            };
            self.subscribe_one(bt);
        }
        if self.to_subscribe.is_empty() {
            log::info!(
                "ScannerActor: {} bar subscriptions sent",
                self.bar_types.len()
            );
        }
    }

    /// Panel assets without an instrument in the cache (the exchange does not list them) are
    /// declared absent, so they do not hold every bar time open until the next one; returns
    /// the bar types left to subscribe.
    fn drop_unlisted(&mut self) -> Vec<BarType> {
        let mut listed = Vec::with_capacity(self.bar_types.len());
        for bt in self.bar_types.clone() {
            let id = bt.instrument_id();
            if self.cache().instrument(&id).is_some() {
                listed.push(bt);
                continue;
            }
            let symbol = id.symbol.to_string();
            let asset = symbol.strip_suffix("-PERP").unwrap_or(&symbol).to_string();
            if self.publisher.set_absent(&asset) {
                log::warn!(
                    "ScannerActor: {asset} is not listed by the exchange; its column stays empty"
                );
            }
        }
        listed
    }
}

/// The open time of a bar stamped at its close `close_ms`: Binance's kline close time
/// (`T` = open + interval − 1 ms, which Nautilus's Binance adapter uses as `ts_event`) and a
/// bar stamped at open + interval (Nautilus's own aggregation) both give the open on the
/// interval grid: `⌈close / interval⌉ · interval − interval`.
pub fn bar_open_ms(close_ms: i64, interval_ms: i64) -> i64 {
    let interval = interval_ms.max(1);
    close_ms.div_euclid(interval) * interval
        + if close_ms.rem_euclid(interval) == 0 {
            0
        } else {
            interval
        }
        - interval
}

impl DataActor for ScannerActor {
    fn on_start(&mut self) -> anyhow::Result<()> {
        match (self.connector)() {
            Ok(s) => self.store = Some(s),
            Err(e) => {
                self.store_errors += 1;
                log::warn!("ScannerActor: store unavailable, scans are not published: {e}");
            }
        }
        self.bar_types = self.drop_unlisted();
        self.to_subscribe = self.bar_types.iter().rev().copied().collect();
        self.subscribe_batch();
        if !self.to_subscribe.is_empty() {
            self.clock().set_timer_ns(
                SUBSCRIBE_TIMER,
                SUBSCRIBE_GAP.as_nanos() as u64,
                None,
                None,
                None,
                None,
                None,
            )?;
        }
        Ok(())
    }

    fn on_time_event(&mut self, event: &TimeEvent) -> anyhow::Result<()> {
        if event.name.as_str() == SUBSCRIBE_TIMER {
            self.subscribe_batch();
            if self.to_subscribe.is_empty() {
                self.clock().cancel_timer(SUBSCRIBE_TIMER);
            }
        }
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        self.handle_bar(bar);
        Ok(())
    }

    fn on_trade(&mut self, tick: &TradeTick) -> anyhow::Result<()> {
        self.handle_trade(tick);
        Ok(())
    }

    fn on_stop(&mut self) -> anyhow::Result<()> {
        let st = self.publisher.stats();
        log::info!(
            "ScannerActor: scans={} incomplete={} late_closes={} unknown_assets={} absent_assets={} \
             store_errors={}",
            st.scans,
            st.incomplete,
            st.late_closes,
            st.unknown_assets,
            st.absent_assets,
            self.store_errors
        );
        if let BarFeed::Trades(f) = &mut self.feed {
            if let Some(r) = f.recorder.as_mut() {
                r.flush();
            }
            log::info!(
                "ScannerActor: trade bars={} filled={} bad_trades={} recorded={}",
                f.bars,
                f.filled,
                f.bad_trades,
                f.recorder.as_ref().map_or(0, BarRecorder::written)
            );
        }
        self.clock().cancel_timer(SUBSCRIBE_TIMER);
        let pending = std::mem::take(&mut self.to_subscribe);
        for bt in self.bar_types.clone() {
            if !pending.contains(&bt) {
                self.unsubscribe_one(bt);
            }
        }
        self.store = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::bar_open_ms;

    #[test]
    fn a_bar_stamped_at_its_close_opens_on_the_grid() {
        let open = 1_746_403_200_000; // 2025-05-05 00:00 UTC
        // Binance kline close time T = open + 59 999 ms (the adapter's ts_event).
        assert_eq!(bar_open_ms(open + 59_999, 60_000), open);
        // A bar stamped at open + interval (Nautilus's internal aggregation).
        assert_eq!(bar_open_ms(open + 60_000, 60_000), open);
        // 5-second bars.
        assert_eq!(bar_open_ms(open + 4_999, 5_000), open);
        assert_eq!(bar_open_ms(open + 5_000, 5_000), open);
        // Before the fix the open was close − interval: 1 ms before the day for the first bar.
        assert_ne!(open + 59_999 - 60_000, open);
    }
}
