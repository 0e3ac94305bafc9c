//! The tear sheet's cells and small tables (issue 13 item 4; SPEC §4 item 11): number
//! formats, the value cell `<td data-k="KEY" data-v="RAW">formatted</td>` (raw value at full
//! precision, sign colour), date labels, histogram charts and the per-group tables (exits by
//! reason, per asset).

use crate::stats::{GroupRow, Histogram};
use crate::svg::{bar_chart, esc};
use dolphin_core::date::date_of_ms;
use std::fmt::Write;

pub(super) fn money(v: f64) -> String {
    format!("{v:.2}")
}

pub(super) fn pct(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

pub(super) fn opt(v: Option<f64>, f: fn(f64) -> String) -> (String, String) {
    match v {
        Some(x) => (x.to_string(), f(x)),
        None => ("null".into(), "n/a".into()),
    }
}

pub(super) fn ratio(v: f64) -> String {
    format!("{v:.3}")
}

/// A value cell: `data-k`, full-precision `data-v`, the formatted text, sign colour.
pub(super) fn cell(key: &str, raw: &str, text: &str, signed: Option<f64>) -> String {
    let class = match signed {
        Some(v) if v < 0.0 => " class=\"neg\"",
        Some(v) if v > 0.0 => " class=\"pos\"",
        _ => "",
    };
    format!(
        "<td data-k=\"{}\" data-v=\"{}\"{class}>{}</td>",
        esc(key),
        esc(raw),
        esc(text)
    )
}

pub(super) fn num_cell(key: &str, v: f64, f: fn(f64) -> String, signed: bool) -> String {
    cell(key, &v.to_string(), &f(v), signed.then_some(v))
}

pub(super) fn date_label(days: f64, span: f64) -> String {
    let ms = (days * 86_400_000.0).round() as i64;
    let d = date_of_ms(ms);
    if span < 3.0 {
        let m = ms.rem_euclid(86_400_000) / 60_000;
        format!("{} {:02}:{:02}", d, m / 60, m % 60)
    } else {
        d.to_string()
    }
}

pub(super) fn hist_chart(
    id: &str,
    title: &str,
    h: &Histogram,
    f: fn(f64) -> String,
    color: &str,
) -> String {
    let labels: Vec<String> = h
        .edges
        .windows(2)
        .map(|w| format!("{}..{}", f(w[0]), f(w[1])))
        .collect();
    let values: Vec<f64> = h.counts.iter().map(|&c| c as f64).collect();
    bar_chart(id, title, &labels, &values, color)
}

pub(super) fn group_table(prefix: &str, first: &str, rows: &[GroupRow]) -> String {
    let mut s = format!(
        "<table id=\"{prefix}\"><tr><th class=\"l\">{first}</th><th>trades</th><th>win rate</th>\
         <th>net PnL</th><th>avg leverage</th><th>avg bars held</th></tr>"
    );
    for r in rows {
        let k = |f: &str| format!("{prefix}:{}:{f}", r.key);
        let _ = write!(
            s,
            "<tr><td class=\"l\">{}</td>{}{}{}{}{}</tr>",
            esc(&r.key),
            cell(
                &k("trades"),
                &r.trades.to_string(),
                &r.trades.to_string(),
                None
            ),
            num_cell(&k("win_rate"), r.wins as f64 / r.trades as f64, pct, false),
            num_cell(&k("pnl"), r.pnl, money, true),
            num_cell(&k("avg_leverage"), r.avg_leverage, ratio, false),
            num_cell(
                &k("avg_bars_held"),
                r.avg_bars_held,
                |v| format!("{v:.1}"),
                false
            ),
        );
    }
    s.push_str("</table>");
    s
}
