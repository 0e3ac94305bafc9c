//! The eigenvalue scanner as a Nautilus actor for the live node (S §9.1): it subscribes to the
//! kline bars of every panel asset, assembles each bar time's closes and writes the scan to
//! `DOLPHIN_FEATURES["latest_eigen_scan"]`, where the [`crate::DolphinActor`] in live mode
//! reads it. The logic is [`ScanPublisher`]; this is the wire.

use crate::config::StoreConnector;
use crate::live_scan::LiveScan;
use crate::scan_inbox::{SCAN_SIGNAL, ScanInbox};
use crate::scan_publisher::{PublisherStats, ScanPublisher};
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, to_json};
use nautilus_common::actor::{DataActor, DataActorConfig, DataActorCore};
use nautilus_common::nautilus_actor;
use nautilus_model::data::{Bar, BarType};
use nautilus_model::identifiers::ActorId;
use std::sync::Arc;

/// Kline bars → live eigen scans in the store.
pub struct ScannerActor {
    core: DataActorCore,
    publisher: ScanPublisher,
    connector: StoreConnector,
    store: Option<Arc<dyn SystemMemory>>,
    bar_types: Vec<BarType>,
    store_errors: u64,
    /// The node's DolphinActor queue (every scan once, in order), when it runs in this node.
    inbox: Option<ScanInbox>,
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
            store_errors: 0,
            inbox: None,
        }
    }

    /// Also queue every scan for the DolphinActor of the same node ([`ScanInbox`]).
    pub fn with_inbox(mut self, inbox: ScanInbox) -> Self {
        self.inbox = Some(inbox);
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
        for value in self.publisher.on_close(asset, open_ms, close) {
            if let Some(store) = &self.store {
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
                        self.publish_signal(
                            SCAN_SIGNAL,
                            value.scan_number.to_string(),
                            bar.ts_event,
                        );
                    }
                    Err(e) => log::error!("ScannerActor: scan {}: {e}", value.scan_number),
                }
            }
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
        for bt in self.bar_types.clone() {
            self.subscribe_bars(bt, None, None);
        }
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        self.handle_bar(bar);
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
        for bt in self.bar_types.clone() {
            self.unsubscribe_bars(bt, None, None);
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
