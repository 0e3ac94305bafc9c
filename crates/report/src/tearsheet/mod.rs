//! The tear sheet (issue 13 item 4; SPEC §4 item 11): one self-contained HTML file for a run
//! folder — summary, equity and underwater curves, monthly and daily returns, trade PnL
//! histogram, exits by reason, per-asset results, leverage and hold-time distributions, ACB,
//! posture and MC timelines when the run has them, the run's config and champion hash.
//!
//! Every number is written as `<td data-k="KEY" data-v="RAW">formatted</td>`: `data-v` is the
//! value at full precision (Rust's shortest round-trip form), so tools and tests can read the
//! page back exactly.
//!
//! This file holds the page and its layout; the cells and tables are in `cells`, the
//! risk-layer section (ACB, posture, MC) in `risk`.

mod cells;
mod risk;

use self::cells::{cell, date_label, group_table, hist_chart, money, num_cell, opt, pct, ratio};
use self::risk::{render_acb, render_mc, render_posture};
use crate::run_dir::RunDir;
use crate::stats::RunStats;
use crate::svg::{Series, bar_chart, esc, line_chart};
use dolphin_core::UtcDate;
use std::fmt::Write;

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;\
color:#1b1f24;max-width:960px}h1{font-size:22px}h2{font-size:17px;margin-top:28px;\
border-bottom:1px solid #ddd;padding-bottom:4px}table{border-collapse:collapse;font-size:13px;\
margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f6f8}\
td.l,th.l{text-align:left}.neg{color:#b42318}.pos{color:#067647}.warn{background:#fff4e5;\
border:1px solid #f5b971;padding:8px}pre{background:#f6f8fa;padding:10px;font-size:12px;\
overflow:auto}.chart{display:block;margin:8px 0;max-width:100%;height:auto}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}";

/// Renders the tear sheet of a run folder.
pub fn render_tearsheet(run: &RunDir) -> String {
    let st = RunStats::of(run);
    let sm = &st.summary;
    let config = run.run_str("config").unwrap_or("unknown config");
    let champion_hash = run.run_str("champion_hash").unwrap_or("n/a");
    let span = match (st.daily.first(), st.daily.last()) {
        (Some(a), Some(b)) => format!("{} .. {}", a.date, b.date),
        _ => "no days".into(),
    };
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>DOLPHIN tear sheet: {}</title><style>{CSS}</style></head><body>\
         <h1>DOLPHIN tear sheet — {} <small>({})</small></h1>\
         <p>Run folder <code>{}</code>; champion hash <code id=\"champion-hash\">{}</code></p>",
        esc(config),
        esc(config),
        esc(&span),
        esc(&run.path.display().to_string()),
        esc(champion_hash)
    );
    let mut warnings = run.warnings.clone();
    if !st.summary_mismatch.is_empty() {
        warnings.push(format!(
            "summary.json differs from its trades/days in: {}",
            st.summary_mismatch.join(", ")
        ));
    }
    if !warnings.is_empty() {
        let _ = write!(
            h,
            "<div class=\"warn\" id=\"warnings\"><b>{} warning(s)</b><ul>",
            warnings.len()
        );
        for w in &warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></div>");
    }

    // Summary.
    h.push_str("<h2>Summary</h2><table id=\"summary\">");
    let mut row = |label: &str, c: String| {
        let _ = write!(h, "<tr><th class=\"l\">{}</th>{c}</tr>", esc(label));
    };
    row(
        "initial capital",
        num_cell("initial_capital", sm.initial_capital, money, false),
    );
    row(
        "final capital",
        num_cell("final_capital", sm.final_capital, money, false),
    );
    row("ROI", num_cell("roi", sm.roi, pct, true));
    row("net PnL", num_cell("total_pnl", st.total_pnl, money, true));
    row(
        "trades",
        cell(
            "trades",
            &sm.trades.to_string(),
            &sm.trades.to_string(),
            None,
        ),
    );
    row(
        "days",
        cell("days", &sm.days.to_string(), &sm.days.to_string(), None),
    );
    let (r, t) = opt(sm.win_rate, pct);
    row("win rate", cell("win_rate", &r, &t, None));
    let (r, t) = opt(sm.profit_factor, ratio);
    row("profit factor", cell("profit_factor", &r, &t, None));
    let (r, t) = opt(sm.sharpe, |v| format!("{v:.2}"));
    row("Sharpe (daily, ×√365)", cell("sharpe", &r, &t, None));
    row(
        "max drawdown",
        num_cell("max_drawdown", -sm.max_drawdown, pct, true),
    );
    let (r, t) = opt(st.best_trade, money);
    row("best trade", cell("best_trade", &r, &t, st.best_trade));
    let (r, t) = opt(st.worst_trade, money);
    row("worst trade", cell("worst_trade", &r, &t, st.worst_trade));
    let (r, t) = opt(st.avg_trade, money);
    row("average trade", cell("avg_trade", &r, &t, st.avg_trade));
    let (r, t) = opt(st.avg_leverage, ratio);
    row("average leverage", cell("avg_leverage", &r, &t, None));
    let (r, t) = opt(st.avg_bars_held, |v| format!("{v:.1}"));
    row("average bars held", cell("avg_bars_held", &r, &t, None));
    h.push_str("</table>");

    // Equity and underwater by trade.
    let xs: Vec<f64> = (0..st.equity.len()).map(|i| i as f64).collect();
    let trade_label = |x: f64| format!("#{}", x.round() as i64);
    h.push_str("<h2>Equity and drawdown</h2>");
    h.push_str(&line_chart(
        "chart-equity",
        "Capital after each trade (USDT)",
        &xs,
        &[Series {
            label: "capital",
            ys: &st.equity,
            color: "#1f5fbf",
            fill: false,
        }],
        &trade_label,
        &|v| format!("{v:.0}"),
    ));
    let uw: Vec<f64> = st.underwater.iter().map(|v| v * 100.0).collect();
    h.push_str(&line_chart(
        "chart-underwater",
        "Underwater: drawdown from the running peak (%)",
        &xs,
        &[Series {
            label: "drawdown %",
            ys: &uw,
            color: "#b42318",
            fill: true,
        }],
        &trade_label,
        &|v| format!("{v:.2}"),
    ));
    if !st.daily.is_empty() {
        let dx: Vec<f64> = st
            .daily
            .iter()
            .map(|d| d.date.days_since_epoch() as f64 + 1.0)
            .collect();
        let mut dxs = vec![dx[0] - 1.0];
        dxs.extend(&dx);
        let mut caps = vec![st.daily[0].start_capital];
        caps.extend(st.daily.iter().map(|d| d.capital));
        let span = dxs[dxs.len() - 1] - dxs[0];
        h.push_str(&line_chart(
            "chart-daily-equity",
            "Capital at the end of each day (USDT)",
            &dxs,
            &[Series {
                label: "capital",
                ys: &caps,
                color: "#1f5fbf",
                fill: false,
            }],
            &|x| date_label(x, span.max(3.0)),
            &|v| format!("{v:.0}"),
        ));
    }

    // Monthly and daily returns.
    h.push_str(
        "<h2>Monthly returns</h2><table id=\"monthly\"><tr><th class=\"l\">month</th>\
                <th>return</th><th>net PnL</th><th>trades</th><th>days</th></tr>",
    );
    for m in &st.monthly {
        let k = format!("{:04}-{:02}", m.year, m.month);
        let _ = write!(
            h,
            "<tr><td class=\"l\">{k}</td>{}{}{}{}</tr>",
            num_cell(&format!("month:{k}:ret"), m.ret, pct, true),
            num_cell(&format!("month:{k}:pnl"), m.pnl, money, true),
            cell(
                &format!("month:{k}:trades"),
                &m.trades.to_string(),
                &m.trades.to_string(),
                None
            ),
            cell(
                &format!("month:{k}:days"),
                &m.days.to_string(),
                &m.days.to_string(),
                None
            ),
        );
    }
    h.push_str("</table>");
    h.push_str(
        "<h2>Daily returns</h2><table id=\"daily\"><tr><th class=\"l\">date</th>\
        <th>return</th><th>net PnL</th><th>capital</th><th>trades</th><th>posture</th>\
        <th>ACB boost</th><th>beta</th><th>MC</th></tr>",
    );
    for d in &st.daily {
        let k = |f: &str| format!("day:{}:{f}", d.date);
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td>{}{}{}{}<td>{}</td>{}{}<td>{}</td></tr>",
            d.date,
            num_cell(&k("ret"), d.ret, pct, true),
            num_cell(&k("pnl"), d.pnl, money, true),
            num_cell(&k("capital"), d.capital, money, false),
            cell(
                &k("trades"),
                &d.trades.to_string(),
                &d.trades.to_string(),
                None
            ),
            d.posture.as_str(),
            num_cell(&k("boost"), d.boost, |v| format!("{v:.4}"), false),
            num_cell(&k("beta"), d.beta, |v| format!("{v:.2}"), false),
            esc(&d.mc_status),
        );
    }
    h.push_str("</table>");

    // Trades.
    h.push_str("<h2>Trades</h2>");
    h.push_str(&hist_chart(
        "chart-pnl-hist",
        "Trade net PnL (USDT): number of trades per bin",
        &st.pnl_hist,
        money,
        "#5b6bbf",
    ));
    h.push_str("<h2>Exits by reason</h2>");
    h.push_str(&group_table("exit", "reason", &st.exits));
    let labels: Vec<String> = st.exits.iter().map(|r| r.key.clone()).collect();
    let counts: Vec<f64> = st.exits.iter().map(|r| r.trades as f64).collect();
    h.push_str(&bar_chart(
        "chart-exits",
        "Trades by exit reason",
        &labels,
        &counts,
        "#7a5195",
    ));
    h.push_str("<h2>Per asset</h2>");
    h.push_str(&group_table("asset", "asset", &st.assets));
    h.push_str("<h2>Distributions</h2>");
    h.push_str(&hist_chart(
        "chart-leverage-hist",
        "Leverage at entry: number of trades per bin",
        &st.leverage_hist,
        |v| format!("{v:.2}"),
        "#ef8a62",
    ));
    h.push_str(&hist_chart(
        "chart-hold-hist",
        "Bars held: number of trades per bin",
        &st.hold_hist,
        |v| format!("{v:.0}"),
        "#67a9cf",
    ));

    // Risk layers.
    h.push_str("<h2>Risk layers</h2>");
    render_acb(&mut h, run);
    render_posture(&mut h, run, &st);
    render_mc(&mut h, &st);

    // Config.
    h.push_str("<h2>Run</h2>");
    match &run.run {
        Some(v) => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
            let _ = write!(h, "<pre id=\"run-json\">{}</pre>", esc(&pretty));
        }
        None => h.push_str("<p>No run.json in this folder.</p>"),
    }
    h.push_str("<p><small>Generated by <code>dolphin report</code>; self-contained, no network.</small></p></body></html>\n");
    h
}

/// Dates of a run as `UtcDate`s (first and last), for callers naming the report.
pub fn run_span(run: &RunDir) -> Option<(UtcDate, UtcDate)> {
    Some((run.days.first()?.date, run.days.last()?.date))
}
