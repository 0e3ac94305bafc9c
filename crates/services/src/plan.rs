//! The dry run of `dolphin serve` (S §15.5): load the config, check the champion hash, probe
//! the store, validate every day file and every service's inputs, and return the start plan in
//! the order of B §16.6 — without starting anything.

use crate::acb_processor::AcbProcessor;
use crate::error::ServiceError;
use crate::mc_flow::McFlow;
use crate::serve::{Mode, PlanRow, ServeOptions, check_champion, connect_store, replay_files};
use crate::store_probe::StoreProbe;
use crate::trader::TRADER;
use crate::watchdog::Watchdog;

/// S §15.5 dry run: load config, check the champion hash, probe the store, validate every
/// day file and every service's inputs; returns the plan. Fails naming the first cause.
pub fn dry_run(opts: &ServeOptions) -> Result<Vec<PlanRow>, ServiceError> {
    check_champion(&opts.config)?;
    opts.services.validate()?;
    connect_store(&opts.store, &opts.services)?;
    let mut data_line = "the NautilusTrader paper node (dolphin paper) on live market data, \
         every decision through the services' governor; event time = its bars' ts_event"
        .to_string();
    if let Mode::Replay { dir, from, to, .. } = &opts.mode {
        let files = replay_files(dir, *from, *to)?;
        let mut rows = 0usize;
        for (_, p) in &files {
            let f = dolphin_data::read_day_file(p)?;
            f.check_shape()
                .map_err(|e| ServiceError::DryRun(format!("{}: {e}", p.display())))?;
            rows += f.len();
        }
        data_line = format!(
            "{} day files ({} .. {}), {rows} rows, in {}",
            files.len(),
            files[0].0,
            files[files.len() - 1].0,
            dir.display()
        );
    }
    let factors =
        dolphin_data::load_external_factors(opts.indicators.as_deref(), opts.funding.as_deref())?;
    if let Some(m) = &opts.mc {
        dolphin_risk::DolphinForewarner::load(m)?;
    }
    Ok(plan_rows(opts, &data_line, factors.len()))
}

fn plan_rows(opts: &ServeOptions, data_line: &str, factor_dates: usize) -> Vec<PlanRow> {
    let s = &opts.services;
    let cad = |c: &str| {
        crate::schedule::Cadence::parse(c)
            .map(|c| c.describe())
            .unwrap_or_else(|e| e.to_string())
    };
    let mc_on = s.mc.enabled && (opts.mc.is_some() || s.mc_refresh_days > 0);
    vec![
        PlanRow {
            service: StoreProbe::NAME.into(),
            enabled: true,
            cadence: cad(&s.store_probe.cadence),
            retry: s.store_probe.retry,
            inputs: vec![format!("store {}", opts.store.describe())],
        },
        PlanRow {
            service: crate::factors_http::FactorPoller::NAME.into(),
            enabled: s.factors.enabled,
            cadence: cad(&s.factors.cadence),
            retry: s.factors.retry,
            inputs: vec![format!(
                "funding {}, dvol {}, fear&greed {}",
                s.factor_urls.funding, s.factor_urls.dvol, s.factor_urls.fear_greed
            )],
        },
        PlanRow {
            service: AcbProcessor::NAME.into(),
            enabled: true,
            cadence: format!("date change + {} + on new data", cad(&s.acb.cadence)),
            retry: s.acb.retry,
            inputs: vec![format!(
                "indicators {}, funding {} ({factor_dates} dates with factors)",
                opts.indicators
                    .as_ref()
                    .map_or("none".into(), |p| p.display().to_string()),
                opts.funding
                    .as_ref()
                    .map_or("none".into(), |p| p.display().to_string())
            )],
        },
        PlanRow {
            service: "ob_stream".into(),
            enabled: opts.ob_task.is_some(),
            cadence: match &opts.ob_task {
                Some(_) => "its own websocket clock; the slot checks it every 1m".into(),
                None => cad(&s.ob_stream.cadence),
            },
            retry: s.ob_stream.retry,
            inputs: match &opts.ob_task {
                Some(t) => vec![
                    t.describe.clone(),
                    format!(
                        "Cat3 stale after {} ms of wall time without a message",
                        s.ob_stale_wall_ms
                    ),
                ],
                None => vec![
                    "slot for the OB stream service (crates/live); off without --exchange-url"
                        .into(),
                ],
            },
        },
        PlanRow {
            service: Watchdog::NAME.into(),
            enabled: s.watchdog.enabled,
            cadence: format!("{} + on sensor change", cad(&s.watchdog.cadence)),
            retry: s.watchdog.retry,
            inputs: vec!["heartbeats, scans, MC status, state and daily results".into()],
        },
        PlanRow {
            service: McFlow::NAME.into(),
            enabled: mc_on,
            cadence: cad(&s.mc.cadence),
            retry: s.mc.retry,
            inputs: vec![format!(
                "envelope {}; refresh from the last {} days",
                opts.mc
                    .as_ref()
                    .map_or("none".into(), |p| p.display().to_string()),
                s.mc_refresh_days
            )],
        },
        PlanRow {
            service: TRADER.into(),
            enabled: true,
            cadence: "every bar (event time)".into(),
            retry: s.trader.retry,
            inputs: vec![data_line.to_string()],
        },
    ]
}
