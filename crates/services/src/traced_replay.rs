//! `dolphin backtest --acb-trace/--mc-trace/--cb-trace`: the replay of day files through the
//! trader's own stepping machine ([`TraderCore`]) with every decision taken from the traces a
//! serve run wrote, on the bar the trace says it applied to (SPEC §8: byte-identical trade and
//! day logs). The posture comes from `--posture-trace` as before (`context`).

use crate::error::ServiceError;
use crate::traces::{AcbKind, Traces};
use crate::trader_core::TraderCore;
use dolphin_core::UtcDate;
use dolphin_data::read_day_file;
use dolphin_engine::{AcbDay, DayContext, NDAlphaEngine};
use dolphin_runtime::{BacktestResult, SystemConfig};
use std::path::PathBuf;

/// Replays `files` with the decisions of `traces`; `setup` wires other providers (OB).
pub fn run_traced_backtest(
    cfg: &SystemConfig,
    files: &[(UtcDate, PathBuf)],
    context: &dyn Fn(UtcDate) -> DayContext,
    traces: &Traces,
    setup: impl FnOnce(&mut NDAlphaEngine),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BacktestResult, ServiceError> {
    let mut core = TraderCore::new(
        &cfg.engine,
        traces.acb.is_some(),
        traces.mc.is_some(),
        None,
        setup,
    )?;
    let acb = traces.acb.as_deref().unwrap_or(&[]);
    let mc = traces.mc.as_deref().unwrap_or(&[]);
    let cb = traces.cb.as_deref().unwrap_or(&[]);
    let (mut ai, mut ci) = (0usize, 0usize);
    let mut can_open = true;
    let mismatch = |what: &str, date: UtcDate, detail: String| ServiceError::Trace {
        path: PathBuf::from(format!("<{what} trace>")),
        line: 0,
        message: format!("{date}: {detail}"),
    };
    for (i, (date, path)) in files.iter().enumerate() {
        let frame = read_day_file(path)?;
        let first_bar = core.engine.global_bar_idx();
        let mut day_acb: Option<AcbDay> = None;
        if traces.acb.is_some() {
            match acb.get(ai) {
                Some(d) if d.kind == AcbKind::Day && d.date == *date => {
                    if d.applied_bar != first_bar {
                        return Err(mismatch(
                            "acb",
                            *date,
                            format!(
                                "day value applied at bar {} in the trace, the replay is at bar {first_bar} (different days?)",
                                d.applied_bar
                            ),
                        ));
                    }
                    day_acb = Some(AcbDay {
                        boost: d.boost,
                        beta: d.beta,
                    });
                    ai += 1;
                }
                other => {
                    return Err(mismatch(
                        "acb",
                        *date,
                        format!(
                            "expected the day's value next, found {:?}",
                            other.map(|d| (d.kind, d.date))
                        ),
                    ));
                }
            }
        }
        let day_mc = if traces.mc.is_some() {
            let rec = mc.iter().find(|m| m.date == *date).ok_or_else(|| {
                mismatch("mc", *date, "no MC status recorded for this date".into())
            })?;
            Some(rec.report())
        } else {
            None
        };
        core.begin_day(&frame, day_acb, day_mc, context(*date))?;
        for r in 0..frame.len() {
            let ts = frame.timestamp[r];
            let bar = core.engine.global_bar_idx();
            while let Some(d) = acb.get(ai).filter(|d| d.kind == AcbKind::Update) {
                if d.applied_bar > bar {
                    break;
                }
                if d.applied_bar != bar || d.applied_ts != ts {
                    return Err(mismatch(
                        "acb",
                        *date,
                        format!(
                            "update for bar {} (ts {}) does not fall on a replayed bar (at bar {bar}, ts {ts})",
                            d.applied_bar, d.applied_ts
                        ),
                    ));
                }
                core.apply_acb_update(d.boost, d.beta);
                ai += 1;
            }
            while let Some(c) = cb.get(ci).filter(|c| c.applied_bar <= bar) {
                can_open = c.can_open;
                ci += 1;
            }
            core.step(&frame, r, can_open)?;
        }
        core.end_day(i + 1 == files.len())?;
        progress(i + 1, files.len());
    }
    if ai < acb.len() {
        return Err(ServiceError::Trace {
            path: PathBuf::from("<acb trace>"),
            line: ai + 1,
            message: format!(
                "{} ACB decision(s) after the last replayed bar (trace from other days?)",
                acb.len() - ai
            ),
        });
    }
    Ok(core.result())
}
