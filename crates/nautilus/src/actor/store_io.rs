//! The actor's store I/O (B §14.2, §14.4, §14.5; S §5.2, §17): the posture read (or the
//! providers' posture source), capital continuity from `DOLPHIN_STATE_BLUE["latest_nautilus"]`,
//! the per-date results to `DOLPHIN_PNL_BLUE` and the capital state. Store failures are
//! recorded, never fatal (S §17).

use super::DolphinActor;
use dolphin_core::Posture;
use dolphin_engine::champion::champion_hash;
use dolphin_engine::{DayContext, DayResult, NDAlphaEngine};
use dolphin_store::schema::{
    DOLPHIN_FEATURES, DailyResultValue, Extra, KEY_LATEST_NAUTILUS, NautilusStateValue, from_json,
    read_safety, to_json,
};
use std::sync::Arc;

impl DolphinActor {
    /// S §5.2 step 1: connect the store (non-fatal), read the posture, and listen for sub-day
    /// ACB updates (B §14.2: the listener only parks the value; the next bar applies it).
    pub(super) fn connect_store(&mut self) {
        match (self.cfg.store)() {
            Ok(store) => self.store = Some(store),
            Err(e) => self.store_error(format!("store unavailable, running on local state: {e}")),
        }
        let (posture, rm) = self.read_posture().unwrap_or((Posture::Apex, 1.0));
        self.posture = posture;
        self.rm = rm;
        // Under a governor the sub-day ACB comes from the governor (before_bar).
        if let Some(store) = self.store.as_ref().filter(|_| self.cfg.governor.is_none()) {
            let pending = self.pending_acb.clone();
            // B §14.2: the listener runs on the store's delivery thread and only parks the value.
            let listener = Arc::new(move |e: &dolphin_store::ChangeEvent| {
                if let Err(err) = pending.on_event(e) {
                    log::warn!("DolphinActor: ignored ACB update: {err}");
                }
            });
            match store.subscribe(DOLPHIN_FEATURES, listener) {
                Ok(id) => self.acb_subscription = Some(id),
                Err(e) => self.store_error(format!("cannot listen to {DOLPHIN_FEATURES}: {e}")),
            }
        }
    }

    /// S §17 "Capital continuity": capital from `latest_nautilus` when its param hash matches.
    pub(super) fn restore_capital(&mut self, engine: &mut NDAlphaEngine) {
        let (Some(store), Some(map)) = (&self.store, &self.cfg.state_map) else {
            return;
        };
        let state = match store.get(map, KEY_LATEST_NAUTILUS) {
            Ok(Some(json)) => from_json::<NautilusStateValue>(map, KEY_LATEST_NAUTILUS, &json),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        match state {
            Ok(s) if s.param_hash == champion_hash(&self.cfg.engine) && s.capital.is_finite() => {
                engine.set_capital(s.capital);
            }
            Ok(s) => self.store_error(format!(
                "{map}[{KEY_LATEST_NAUTILUS}]: param_hash {} does not match this config; \
                 starting from initial capital",
                s.param_hash
            )),
            Err(e) => self.store_error(e.to_string()),
        }
    }

    /// B §14.4: the posture from the CAS cell, else the map; `None` without a store or on a
    /// read error (recorded).
    pub(super) fn read_posture(&mut self) -> Option<(Posture, f64)> {
        if let Some(source) = self.cfg.providers.posture() {
            let c = self
                .current_date
                .map_or_else(DayContext::default, |d| source.day_context(d));
            return Some((c.posture, c.rm));
        }
        let store = self.store.as_ref()?;
        match read_safety(store.as_ref()) {
            Ok(Some(s)) => Some((s.posture, if s.rm.is_finite() { s.rm } else { 1.0 })),
            Ok(None) => Some((Posture::Apex, 1.0)),
            Err(e) => {
                self.store_error(format!("posture read failed: {e}"));
                None
            }
        }
    }

    pub(super) fn store_error(&mut self, message: String) {
        log::warn!("DolphinActor: {message}");
        self.log.borrow_mut().store_errors.push(message);
    }

    /// B §14.5 `_write_result_to_hz` plus the capital state of S §17.6; failures are recorded,
    /// not fatal (S §17.5 writes wait in the outbox).
    pub(super) fn write_result(&mut self, r: &DayResult, capital: f64) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let date = r.date.to_string();
        let value = DailyResultValue {
            date: date.clone(),
            pnl: r.pnl,
            capital: r.capital,
            boost: r.boost,
            beta: r.beta,
            mc_status: r.mc_status.as_str().to_string(),
            trades: u64::from(r.trades),
            stale_state: self.day_stale.then_some(true),
            extra: Extra::new(),
        };
        let map = self.cfg.pnl_map.clone();
        if let Err(e) =
            to_json(&map, &date, &value).and_then(|j| store.put_or_defer(&map, &date, &j))
        {
            self.store_error(e.to_string());
        }
        if let Some(state_map) = self.cfg.state_map.clone() {
            let mut extra = Extra::new();
            extra.insert("date".into(), date.clone().into());
            extra.insert("pnl".into(), serde_json::json!(r.pnl));
            let state = NautilusStateValue {
                capital,
                param_hash: champion_hash(&self.cfg.engine),
                extra,
            };
            if let Err(e) = to_json(&state_map, KEY_LATEST_NAUTILUS, &state)
                .and_then(|j| store.put_or_defer(&state_map, KEY_LATEST_NAUTILUS, &j))
            {
                self.store_error(e.to_string());
            }
        }
    }
}
