//! The eigenvalue scanner as a Nautilus actor for the live node (S §9.1): it subscribes to the
//! kline bars of every panel asset, assembles each bar time's closes and writes the scan to
//! `DOLPHIN_FEATURES["latest_eigen_scan"]`, where the [`crate::DolphinActor`] in live mode
//! reads it. The logic is [`ScanPublisher`]; this is the wire.

use crate::config::StoreConnector;
use crate::scan_publisher::{PublisherStats, ScanPublisher};
use dolphin_store::SystemMemory;
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
        }
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
    /// convention, B §3.1).
    pub fn handle_bar(&mut self, bar: &Bar) {
        let symbol = bar.bar_type.instrument_id().symbol.to_string();
        let asset = symbol.strip_suffix("-PERP").unwrap_or(&symbol);
        let open_ms = (bar.ts_event.as_u64() / 1_000_000) as i64 - self.publisher.interval_ms();
        let close = bar.close.as_f64();
        match &self.store {
            Some(store) => {
                if let Err(e) =
                    self.publisher
                        .on_close_publish(store.as_ref(), asset, open_ms, close)
                {
                    self.store_errors += 1;
                    log::warn!("ScannerActor: scan not written: {e}");
                }
            }
            None => {
                self.publisher.on_close(asset, open_ms, close);
            }
        }
    }
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
            "ScannerActor: scans={} incomplete={} late_closes={} unknown_assets={} store_errors={}",
            st.scans,
            st.incomplete,
            st.late_closes,
            st.unknown_assets,
            self.store_errors
        );
        for bt in self.bar_types.clone() {
            self.unsubscribe_bars(bt, None, None);
        }
        self.store = None;
        Ok(())
    }
}
