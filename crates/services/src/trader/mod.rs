//! The replay trader (B §14.1, §16.5; S §5.3; SPEC §8): day files stepped on the event-time
//! clock through [`TraderCore`], with every provider wired from the store — the day's ACB
//! value and its sub-day updates through the pending-flag slot, the MC status, the posture
//! from `DOLPHIN_SAFETY` at the date change and the stale-state check after each bar — and the
//! circuit breaker (S §14) consulted before every entry. Every decision goes to its trace.
//!
//! Per date: tick the supervisor at D 00:00 (ACB and MC publish, the watchdog evaluates), wait
//! (bounded) for the ACB publication, read MC and posture, `begin_day`. Per bar at `t`: tick
//! the supervisor when anything is due at or before `t` (and wait for any ACB publication it
//! made to reach the slot), apply a pending ACB value, step, publish the scan, persist state on
//! a position change, check for stale state. A stop request ends the run after the current bar.

use crate::error::ServiceError;
use crate::mc_flow::{KEY_MC_FOREWARNER, McPublication};
use crate::pending_acb::PendingAcb;
use crate::persistence::{TraderState, save_state, write_day_once};
use crate::run_files::{RunFiles, Trace};
use crate::schedule::EventMs;
use crate::service::BusEvent;
use crate::supervisor::Supervisor;
use crate::traces::{AcbDecision, AcbKind, CbDecision, McDecisionRecord, PostureDecision, Source};
use crate::trader_core::{HEALTHY_MC, TraderCore};
use dolphin_core::{DayFrame, Posture, UtcDate};
use dolphin_data::{DataError, read_day_file};
use dolphin_engine::{AcbDay, DayContext, McReport, McStatus};
use dolphin_risk::CircuitBreakerManager;
use dolphin_store::SystemMemory;
use dolphin_store::schema::{DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, POSTURE_CELL, read_safety};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The trader's name in heartbeats and `services.json`.
pub const TRADER: &str = "trader";

/// Where a resumed run stood, and whether the re-run reached the same state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResumeCheck {
    pub ts_ms: EventMs,
    pub capital: f64,
    pub trades: usize,
    pub position: Option<u32>,
    pub verified: bool,
}

/// What the trader did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TraderStats {
    pub stopped_by_signal: bool,
    pub stale_state_events: u64,
    pub acb_kept_previous: u64,
    pub mc_kept_previous: u64,
    pub pnl_written: u64,
    pub pnl_already_present: u64,
    pub state_writes: u64,
    pub store_errors: u64,
    pub resumed: Option<ResumeCheck>,
}

/// The replay trader.
pub struct ReplayTrader {
    pub core: TraderCore,
    store: Arc<dyn SystemMemory>,
    files: RunFiles,
    pending: PendingAcb,
    breaker: CircuitBreakerManager,
    can_open: bool,
    mc_enabled: bool,
    last_mc: Option<McReport>,
    acb_wait: Duration,
    day_timeout: Duration,
    load_retries: u32,
    run_id: String,
    resume: Option<TraderState>,
    speed: f64,
    day_posture_raw: Option<String>,
    day_posture: Posture,
    day_stale: bool,
    day_start_capital: f64,
    scan_json: String,
    pub stats: TraderStats,
}

impl ReplayTrader {
    /// A trader over `core`, listening for ACB values; `resume` is the state a previous run of
    /// the same replay left (its position is re-reached and checked).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        core: TraderCore,
        sup: &Supervisor,
        mc_enabled: bool,
        run_id: String,
        resume: Option<TraderState>,
        speed: f64,
    ) -> Result<Self, ServiceError> {
        let ctx = &sup.ctx;
        let pending = PendingAcb::subscribe(ctx.store.clone())?;
        Ok(Self {
            store: ctx.store.clone(),
            files: ctx.files.clone(),
            pending,
            breaker: CircuitBreakerManager::new(ctx.cfg.circuit_breaker.clone())?,
            can_open: true,
            mc_enabled,
            last_mc: None,
            acb_wait: Duration::from_millis(ctx.cfg.acb_wait_ms),
            day_timeout: Duration::from_millis(ctx.cfg.trader.retry.timeout_ms),
            load_retries: ctx.cfg.trader.retry.retries,
            run_id,
            resume,
            speed,
            day_posture_raw: None,
            day_posture: Posture::Apex,
            day_stale: false,
            day_start_capital: core.engine.capital(),
            scan_json: String::with_capacity(1024),
            core,
            stats: TraderStats::default(),
        })
    }

    /// Replays `files` in order; returns when done or when `stop` is set (after the bar).
    pub async fn run(
        &mut self,
        sup: &mut Supervisor,
        files: &[(UtcDate, PathBuf)],
        stop: Arc<AtomicBool>,
    ) -> Result<(), ServiceError> {
        let wall0 = Instant::now();
        let mut t_first: Option<EventMs> = None;
        let mut next = files.first().map(|(_, p)| spawn_read(p.clone()));
        for (i, (date, path)) in files.iter().enumerate() {
            let frame = self.load(sup, next.take(), path).await?;
            next = files.get(i + 1).map(|(_, p)| spawn_read(p.clone()));
            self.begin_day(sup, &frame, *date).await?;
            let day_wall = Instant::now();
            let mut since_metrics = 0u64;
            for r in 0..frame.len() {
                if stop.load(Ordering::Relaxed) {
                    self.stats.stopped_by_signal = true;
                    break;
                }
                let t = frame.timestamp[r];
                if self.speed > 0.0 {
                    let t0 = *t_first.get_or_insert(t);
                    let target =
                        wall0 + Duration::from_secs_f64((t - t0) as f64 / 1000.0 / self.speed);
                    tokio::time::sleep_until(target.into()).await;
                }
                since_metrics += 1;
                if sup.due(t) {
                    sup.tick(t).await?;
                    self.after_tick(sup).await;
                    metrics::counter!("dolphin_bars_processed_total").increment(since_metrics);
                    since_metrics = 0;
                    if day_wall.elapsed() > self.day_timeout {
                        return Err(ServiceError::Timeout {
                            service: format!("{TRADER} (day {date})"),
                            ms: self.day_timeout.as_millis() as u64,
                        });
                    }
                }
                self.step_bar(sup, &frame, r)?;
            }
            metrics::counter!("dolphin_bars_processed_total").increment(since_metrics);
            if self.stats.stopped_by_signal {
                // The day is not over: its result is not written; the state (with any open
                // position) is, so a restart continues from here.
                self.persist(frame.timestamp.last().copied().unwrap_or(0), *date)?;
                break;
            }
            self.end_day(sup, *date, path, i + 1 == files.len())?;
        }
        Ok(())
    }

    async fn load(
        &mut self,
        sup: &mut Supervisor,
        pending: Option<std::thread::JoinHandle<Result<DayFrame, DataError>>>,
        path: &std::path::Path,
    ) -> Result<DayFrame, ServiceError> {
        let mut res = match pending {
            Some(h) => h
                .join()
                .map_err(|_| ServiceError::service(TRADER, "day reader panicked"))?,
            None => read_day_file(path),
        };
        let mut attempt = 0;
        loop {
            match res {
                Ok(f) => return Ok(f),
                Err(e) if attempt < self.load_retries => {
                    attempt += 1;
                    sup.member_error(TRADER, true, &e.to_string());
                    tracing::warn!(file = %path.display(), error = %e, "day load failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    res = read_day_file(path);
                }
                Err(e) => {
                    sup.member_error(TRADER, false, &e.to_string());
                    return Err(e.into());
                }
            }
        }
    }

    async fn begin_day(
        &mut self,
        sup: &mut Supervisor,
        frame: &DayFrame,
        date: UtcDate,
    ) -> Result<(), ServiceError> {
        let t = date.start_ms();
        sup.tick(t).await?;
        self.after_tick(sup).await;
        let first_ts = frame.timestamp.first().copied().unwrap_or(t);
        let bar = self.core.engine.global_bar_idx();

        // ACB (SPEC §8): the value published for this date, else the previous one.
        let published = self
            .pending
            .take()
            .filter(|p| p.date().as_deref() == Some(date.to_string().as_str()));
        let acb = match &published {
            Some(p) => AcbDay {
                boost: p.value.boost,
                beta: p.value.beta,
            },
            None => {
                self.stats.acb_kept_previous += 1;
                tracing::warn!(%date, "no ACB value for the date in time: keeping the previous one");
                AcbDay {
                    boost: self.core.engine.day_base_boost(),
                    beta: self.core.engine.day_beta(),
                }
            }
        };
        self.files.append(
            Trace::Acb,
            &AcbDecision {
                kind: AcbKind::Day,
                date,
                boost: acb.boost,
                beta: acb.beta,
                published_ms: published.as_ref().and_then(|p| p.ts_ms()),
                applied_ts: first_ts,
                applied_bar: bar,
                source: if published.is_some() {
                    Source::Store
                } else {
                    Source::KeptPrevious
                },
                seq: published.as_ref().map_or(0, |p| p.seq),
                explain: published
                    .as_ref()
                    .map(|p| serde_json::to_value(&p.value.extra).unwrap_or_default())
                    .unwrap_or_default(),
            },
        )?;

        // MC status (B §16.4).
        let mc = if self.mc_enabled {
            let publication = self
                .store
                .get(DOLPHIN_FEATURES, KEY_MC_FOREWARNER)
                .ok()
                .flatten()
                .and_then(|j| serde_json::from_str::<McPublication>(&j).ok())
                .filter(|p| p.date == date);
            let (report, source, published_ms) = match &publication {
                Some(p) => (p.report(), Source::Store, Some(p.ts_ms)),
                None => {
                    self.stats.mc_kept_previous += 1;
                    (
                        self.last_mc.unwrap_or(HEALTHY_MC),
                        Source::KeptPrevious,
                        None,
                    )
                }
            };
            self.last_mc = Some(report);
            self.files.append(
                Trace::Mc,
                &McDecisionRecord {
                    date,
                    status: McStatus::classify(&report, self.core.engine.config()),
                    catastrophic_probability: report.catastrophic_probability,
                    envelope_score: report.envelope_score,
                    published_ms,
                    applied_ts: first_ts,
                    applied_bar: bar,
                    source,
                },
            )?;
            Some(report)
        } else {
            None
        };

        // Posture (B §14.1 step 3): the CAS cell, else the map; APEX without any.
        let raw = self.store.cell_get(POSTURE_CELL).ok().flatten();
        let safety = read_safety(self.store.as_ref()).ok().flatten();
        let (posture, rm, source) = match &safety {
            Some(s) => (s.posture, s.rm, Source::Store),
            None => (Posture::Apex, 1.0, Source::KeptPrevious),
        };
        self.day_posture_raw = raw;
        self.day_posture = posture;
        self.day_stale = false;
        self.files.append(
            Trace::Posture,
            &PostureDecision {
                date,
                posture,
                rm,
                applied_ts: first_ts,
                applied_bar: bar,
                source,
            },
        )?;

        self.day_start_capital = self.core.engine.capital();
        self.breaker.begin_day(self.day_start_capital)?;
        self.core
            .begin_day(frame, Some(acb), mc, DayContext { posture, rm })?;
        Ok(())
    }

    /// Waits for every ACB publication made in the tick to reach the slot (lock-step).
    async fn after_tick(&mut self, sup: &mut Supervisor) {
        for ev in sup.take_events() {
            if let BusEvent::AcbPublished { seq, date } = ev
                && !self.pending.wait_for(seq, self.acb_wait).await
            {
                self.stats.store_errors += 1;
                tracing::warn!(seq, %date, "ACB publication did not reach the trader in time");
            }
        }
    }

    fn step_bar(
        &mut self,
        sup: &mut Supervisor,
        frame: &DayFrame,
        r: usize,
    ) -> Result<(), ServiceError> {
        let t = frame.timestamp[r];
        let date = frame.date;
        let bar = self.core.engine.global_bar_idx();
        if let Some(p) = self.pending.take()
            && p.date().as_deref() == Some(date.to_string().as_str())
        {
            self.core.apply_acb_update(p.value.boost, p.value.beta);
            self.files.append(
                Trace::Acb,
                &AcbDecision {
                    kind: AcbKind::Update,
                    date,
                    boost: p.value.boost,
                    beta: p.value.beta,
                    published_ms: p.ts_ms(),
                    applied_ts: t,
                    applied_bar: bar,
                    source: Source::Store,
                    seq: p.seq,
                    explain: serde_json::to_value(&p.value.extra).unwrap_or_default(),
                },
            )?;
        }
        let allowed = self.breaker.can_open();
        if allowed != self.can_open {
            self.can_open = allowed;
            let status = self.breaker.status();
            self.files.append(
                Trace::Cb,
                &CbDecision {
                    can_open: allowed,
                    reasons: status.reasons,
                    applied_ts: t,
                    applied_bar: bar,
                },
            )?;
        }
        let out = self.core.step(frame, r, allowed)?;
        self.publish_scan(frame, r);
        sup.notify(BusEvent::Scan {
            ts: t,
            date,
            v750: frame.v750_vel[r],
        });
        if let Some(id) = out.exited {
            if let Some(tr) = self
                .core
                .engine
                .trade_history()
                .iter()
                .rev()
                .find(|x| x.trade_id == id)
            {
                self.breaker
                    .record_trade(tr.pnl, self.core.engine.capital())?;
                metrics::counter!("dolphin_exits_total", "reason" => tr.reason.as_str())
                    .increment(1);
            }
        }
        if out.entered.is_some() {
            metrics::counter!("dolphin_entries_total").increment(1);
        }
        if out.entered.is_some() || out.exited.is_some() {
            self.persist(t, date)?;
            sup.notify(BusEvent::PositionChanged);
        }
        // S §5.3 ⑧: the posture changed while the day runs (it applies at the next date).
        if !self.day_stale
            && let Ok(now) = self.store.cell_get(POSTURE_CELL)
            && now != self.day_posture_raw
        {
            let posture_now = now
                .as_deref()
                .and_then(|j| serde_json::from_str::<dolphin_store::schema::SafetyValue>(j).ok())
                .map_or(Posture::Apex, |v| v.posture);
            if posture_now != self.day_posture {
                self.day_stale = true;
                self.stats.stale_state_events += 1;
                tracing::warn!(%date, ?posture_now, day = ?self.day_posture, "[STALE_STATE] posture changed during the day");
            }
            self.day_posture_raw = now;
        }
        if let Some(s) = &self.resume
            && s.ts_ms == t
        {
            let e = &self.core.engine;
            let verified = e.capital().to_bits() == s.capital.to_bits()
                && e.trade_history().len() == s.trades
                && e.position().map(|p| p.trade_id) == s.position.as_ref().map(|p| p.trade_id);
            self.stats.resumed = Some(ResumeCheck {
                ts_ms: t,
                capital: s.capital,
                trades: s.trades,
                position: s.position.as_ref().map(|p| p.trade_id),
                verified,
            });
            if !verified {
                return Err(ServiceError::Resume(format!(
                    "at {} the re-run has capital {} and {} trades, the stored state {} and {}",
                    crate::schedule::iso(t),
                    e.capital(),
                    e.trade_history().len(),
                    s.capital,
                    s.trades
                )));
            }
            tracing::info!(at = %crate::schedule::iso(t), "resumed: the stored position and capital were re-reached");
            self.resume = None;
        }
        Ok(())
    }

    /// `DOLPHIN_FEATURES["latest_eigen_scan"]` (S §10) for the bar just stepped.
    fn publish_scan(&mut self, frame: &DayFrame, r: usize) {
        let s = &mut self.scan_json;
        s.clear();
        s.push_str("{\"vel_div\":");
        push_f64(s, frame.vel_div[r]);
        let _ = write!(
            s,
            ",\"scan_number\":{},\"timestamp\":{},\"asset_prices\":{{",
            frame.scan_number[r], frame.timestamp[r]
        );
        let mut first = true;
        for (a, p) in frame.assets.iter().zip(frame.row_prices(r)) {
            if p.is_finite() && *p > 0.0 {
                if !first {
                    s.push(',');
                }
                first = false;
                let _ = write!(s, "\"{a}\":{p}");
            }
        }
        s.push_str("}}");
        if self
            .store
            .put(DOLPHIN_FEATURES, KEY_LATEST_EIGEN_SCAN, &self.scan_json)
            .is_err()
        {
            self.stats.store_errors += 1;
        }
    }

    fn persist(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        let state = TraderState::of(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
        );
        self.stats.state_writes += 1;
        save_state(self.store.as_ref(), &state)
    }

    fn end_day(
        &mut self,
        sup: &mut Supervisor,
        date: UtcDate,
        path: &std::path::Path,
        last: bool,
    ) -> Result<(), ServiceError> {
        let day = self.core.end_day(last)?;
        if write_day_once(self.store.as_ref(), &day, self.day_stale)? {
            self.stats.pnl_written += 1;
        } else {
            self.stats.pnl_already_present += 1;
        }
        let t = date.succ().start_ms() - 1;
        self.persist(t, date)?;
        sup.notify(BusEvent::DayClosed {
            date,
            path: path.to_path_buf(),
        });
        self.files.flush()?;
        Ok(())
    }

    /// Marks the stored state finished (a later start of the same replay starts afresh).
    pub fn finish(&mut self, t: EventMs, date: UtcDate) -> Result<(), ServiceError> {
        let mut state = TraderState::of(
            &self.core.engine,
            date,
            self.day_start_capital,
            t,
            &self.run_id,
            self.core.start_capital(),
        );
        state.finished = !self.stats.stopped_by_signal;
        save_state(self.store.as_ref(), &state)
    }
}

fn push_f64(s: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(s, "{v}");
    } else {
        s.push_str("null");
    }
}

fn spawn_read(path: PathBuf) -> std::thread::JoinHandle<Result<DayFrame, DataError>> {
    std::thread::spawn(move || read_day_file(&path))
}
