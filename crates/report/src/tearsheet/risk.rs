//! The tear sheet's risk-layer section (issue 13 item 4; SPEC §4 item 11; seeds B §10–§12):
//! the ACB boost and beta timeline (B §10), the posture timeline (B §11) from the watchdog
//! trace or each date's start, and the MC-Forewarner status per day (B §12).

use super::cells::{cell, date_label, num_cell};
use crate::run_dir::RunDir;
use crate::stats::RunStats;
use crate::svg::{Series, line_chart, timeline};
use dolphin_core::Posture;
use std::fmt::Write;

fn posture_color(p: Posture) -> &'static str {
    match p {
        Posture::Apex => "#2e7d32",
        Posture::Stalker => "#f9a825",
        Posture::Turtle => "#ef6c00",
        Posture::Hibernate => "#b71c1c",
    }
}

fn mc_color(s: &str) -> &'static str {
    match s {
        "OK" => "#2e7d32",
        "ORANGE" => "#ef6c00",
        "RED" => "#b71c1c",
        _ => "#9e9e9e",
    }
}

pub(super) fn render_acb(h: &mut String, run: &RunDir) {
    let pts: Vec<(f64, f64, f64)> = run
        .acb
        .iter()
        .filter_map(|a| {
            let x = match (a.ts_ms, a.date) {
                (Some(ms), _) => ms as f64 / 86_400_000.0,
                (None, Some(d)) => d.days_since_epoch() as f64,
                _ => return None,
            };
            Some((x, a.boost, a.beta))
        })
        .collect();
    if pts.is_empty() {
        h.push_str("<p id=\"acb-absent\">No ACB trace (acb.jsonl) in this run.</p>");
        return;
    }
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let boost: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let beta: Vec<f64> = pts.iter().map(|p| p.2).collect();
    let span = xs[xs.len() - 1] - xs[0];
    h.push_str(&line_chart(
        "chart-acb",
        &format!("ACB boost and beta ({} decisions)", pts.len()),
        &xs,
        &[
            Series {
                label: "boost",
                ys: &boost,
                color: "#1f5fbf",
                fill: false,
            },
            Series {
                label: "beta",
                ys: &beta,
                color: "#ef6c00",
                fill: false,
            },
        ],
        &|x| date_label(x, span.max(3.0)),
        &|v| format!("{v:.2}"),
    ));
    let _ = write!(
        h,
        "<table id=\"acb\"><tr><th>decisions</th><th>max boost</th><th>min beta</th><th>max beta</th></tr><tr>{}{}{}{}</tr></table>",
        cell(
            "acb:count",
            &pts.len().to_string(),
            &pts.len().to_string(),
            None
        ),
        num_cell(
            "acb:max_boost",
            boost.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            |v| format!("{v:.4}"),
            false
        ),
        num_cell(
            "acb:min_beta",
            beta.iter().copied().fold(f64::INFINITY, f64::min),
            |v| format!("{v:.2}"),
            false
        ),
        num_cell(
            "acb:max_beta",
            beta.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            |v| format!("{v:.2}"),
            false
        ),
    );
}

/// Bands of equal state from `(x, state)` points, the last one ending at `end`.
fn bands<'a>(
    pts: &[(f64, String)],
    end: f64,
    color: impl Fn(&str) -> &'a str,
) -> Vec<(f64, f64, String, &'a str)> {
    let mut out: Vec<(f64, f64, String, &'a str)> = Vec::new();
    for (i, (x, s)) in pts.iter().enumerate() {
        let next = pts.get(i + 1).map_or(end.max(*x), |p| p.0);
        match out.last_mut() {
            Some(b) if b.2 == *s => b.1 = next,
            _ => out.push((*x, next, s.clone(), color(s))),
        }
    }
    out
}

fn day_end(st: &RunStats) -> Option<f64> {
    st.daily
        .last()
        .map(|d| d.date.days_since_epoch() as f64 + 1.0)
}

pub(super) fn render_posture(h: &mut String, run: &RunDir, st: &RunStats) {
    let (pts, source): (Vec<(f64, String)>, &str) = if !run.posture.is_empty() {
        (
            run.posture
                .iter()
                .map(|p| {
                    (
                        p.ts_ms as f64 / 86_400_000.0,
                        p.posture.as_str().to_string(),
                    )
                })
                .collect(),
            "watchdog trace",
        )
    } else {
        (
            st.daily
                .iter()
                .map(|d| {
                    (
                        d.date.days_since_epoch() as f64,
                        d.posture.as_str().to_string(),
                    )
                })
                .collect(),
            "posture at each date's start",
        )
    };
    if pts.is_empty() {
        return;
    }
    let end = day_end(st).unwrap_or(pts[pts.len() - 1].0 + 1.0 / 24.0);
    let b = bands(&pts, end, |s| {
        s.parse::<Posture>().map_or("#9e9e9e", posture_color)
    });
    let span = b[b.len() - 1].1 - b[0].0;
    h.push_str(&timeline(
        "chart-posture",
        &format!("Posture ({source}; green APEX, yellow STALKER, orange TURTLE, red HIBERNATE)"),
        &b,
        &|x| date_label(x, span.max(3.0)),
    ));
    let mut counts = [0usize; 4];
    for p in &pts {
        if let Ok(p) = p.1.parse::<Posture>() {
            counts[p as usize] += 1;
        }
    }
    let _ = write!(
        h,
        "<table id=\"posture\"><tr><th>points</th><th>APEX</th><th>STALKER</th><th>TURTLE</th><th>HIBERNATE</th></tr><tr>{}",
        cell(
            "posture:count",
            &pts.len().to_string(),
            &pts.len().to_string(),
            None
        )
    );
    for (i, name) in ["APEX", "STALKER", "TURTLE", "HIBERNATE"]
        .iter()
        .enumerate()
    {
        h.push_str(&cell(
            &format!("posture:{name}"),
            &counts[i].to_string(),
            &counts[i].to_string(),
            None,
        ));
    }
    h.push_str("</tr></table>");
}

pub(super) fn render_mc(h: &mut String, st: &RunStats) {
    if st.daily.is_empty() {
        return;
    }
    let pts: Vec<(f64, String)> = st
        .daily
        .iter()
        .map(|d| (d.date.days_since_epoch() as f64, d.mc_status.clone()))
        .collect();
    let end = day_end(st).unwrap_or(0.0);
    let b = bands(&pts, end, mc_color);
    h.push_str(&timeline(
        "chart-mc",
        "MC-Forewarner status per day (green OK, orange ORANGE, red RED)",
        &b,
        &|x| date_label(x, 3.0),
    ));
}
