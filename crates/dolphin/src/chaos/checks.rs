//! What a chaos run must show at the end (issue 14 item 3; docs/CHAOS.md): the replay
//! finished; every date's result exactly once in `days.jsonl` and in `DOLPHIN_PNL_BLUE`, equal;
//! a defined posture for every date (fail-safe days HIBERNATE); no doubled fill; the trade and
//! day logs equal to `dolphin backtest` replaying the run's own decision traces.

use anyhow::Context;
use dolphin_core::UtcDate;
use dolphin_store::SystemMemory;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

fn jsonl(p: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("{}: bad line", p.display())))
        .collect()
}

/// Everything the run needs checked.
pub struct Inputs<'a> {
    pub exe: &'a Path,
    pub serve_out: &'a Path,
    pub data: &'a Path,
    pub dates: &'a [UtcDate],
    pub store: &'a dyn SystemMemory,
}

pub fn run_all(i: &Inputs) -> Vec<Check> {
    let mut out = Vec::new();
    for f in [finished, daily_results, posture_defined, fills, equivalence] {
        match f(i) {
            Ok(mut c) => out.append(&mut c),
            Err(e) => out.push(check("check error", false, format!("{e:#}"))),
        }
    }
    out
}

fn finished(i: &Inputs) -> anyhow::Result<Vec<Check>> {
    let run: Value = serde_json::from_str(&std::fs::read_to_string(i.serve_out.join("run.json"))?)?;
    let err = &run["error"];
    let resumed = &run["trader"]["resumed"];
    let mut v = vec![check(
        "replay finished",
        err.is_null() && run["trader"]["stopped_by_signal"] == false,
        format!("error: {err}"),
    )];
    if !resumed.is_null() {
        v.push(check(
            "resume verified",
            resumed["verified"] == true,
            format!("last resume: {resumed}"),
        ));
    }
    Ok(v)
}

fn daily_results(i: &Inputs) -> anyhow::Result<Vec<Check>> {
    let days = jsonl(&i.serve_out.join("days.jsonl"))?;
    let listed: Vec<String> = days
        .iter()
        .map(|d| d["date"].as_str().unwrap_or("?").to_string())
        .collect();
    let want: Vec<String> = i.dates.iter().map(UtcDate::to_string).collect();
    let mut v = vec![check(
        "days.jsonl: every date once",
        listed == want,
        format!("{} lines for {} dates", listed.len(), want.len()),
    )];
    let pnl = i.store.get_all("DOLPHIN_PNL_BLUE")?;
    let keys: BTreeSet<&String> = pnl.keys().collect();
    let want_set: BTreeSet<&String> = want.iter().collect();
    let mut mismatched = Vec::new();
    for d in &days {
        let date = d["date"].as_str().unwrap_or("?");
        let Some(stored) = pnl.get(date) else {
            continue;
        };
        let s: Value = serde_json::from_str(stored)?;
        if s["capital"] != d["capital"] || s["pnl"] != d["pnl"] {
            mismatched.push(date.to_string());
        }
    }
    v.push(check(
        "DOLPHIN_PNL_BLUE: every date once, equal to days.jsonl",
        keys == want_set && mismatched.is_empty(),
        format!(
            "{} stored, missing {:?}, extra {:?}, different {:?}",
            keys.len(),
            want_set.difference(&keys).collect::<Vec<_>>(),
            keys.difference(&want_set).collect::<Vec<_>>(),
            mismatched
        ),
    ));
    Ok(v)
}

fn posture_defined(i: &Inputs) -> anyhow::Result<Vec<Check>> {
    let lines = jsonl(&i.serve_out.join("posture.jsonl"))?;
    let valid = ["APEX", "STALKER", "TURTLE", "HIBERNATE"];
    let dates: Vec<&str> = lines.iter().filter_map(|l| l["date"].as_str()).collect();
    let want: Vec<String> = i.dates.iter().map(UtcDate::to_string).collect();
    let undefined = lines
        .iter()
        .filter(|l| !l["posture"].as_str().is_some_and(|p| valid.contains(&p)))
        .count();
    let bad_fail_safe = lines
        .iter()
        .filter(|l| l["source"] == "fail_safe" && l["posture"] != "HIBERNATE")
        .count();
    let fail_safe = lines.iter().filter(|l| l["source"] == "fail_safe").count();
    let safer = lines.iter().filter(|l| l["posture"] != "APEX").count();
    let safety = dolphin_store::schema::read_safety(i.store);
    Ok(vec![check(
        "posture defined every date",
        dates == want && undefined == 0 && bad_fail_safe == 0 && matches!(safety, Ok(Some(_))),
        format!(
            "{} dates, {safer} below APEX, {fail_safe} fail-safe HIBERNATE; DOLPHIN_SAFETY at the end: {}",
            dates.len(),
            match &safety {
                Ok(Some(s)) => format!("{:?} Rm {}", s.posture, s.rm),
                Ok(None) => "missing".into(),
                Err(e) => format!("unreadable: {e}"),
            }
        ),
    )])
}

fn fills(i: &Inputs) -> anyhow::Result<Vec<Check>> {
    let trades = jsonl(&i.serve_out.join("trades.jsonl"))?;
    let ids: BTreeSet<String> = trades.iter().map(|t| t["trade_id"].to_string()).collect();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(i.serve_out.join("summary.json"))?)?;
    let state: Value = serde_json::from_str(
        &i.store
            .get("DOLPHIN_STATE_BLUE", "latest")?
            .context("DOLPHIN_STATE_BLUE[latest] missing")?,
    )?;
    let ok = ids.len() == trades.len()
        && state["trades"].as_u64() == Some(trades.len() as u64)
        && state["capital"] == summary["final_capital"]
        && state["finished"] == true;
    Ok(vec![check(
        "no lost or doubled fill; stored capital = final capital",
        ok,
        format!(
            "{} trades ({} distinct ids); stored state: {} trades, capital {}, finished {}; summary final capital {}",
            trades.len(),
            ids.len(),
            state["trades"],
            state["capital"],
            state["finished"],
            summary["final_capital"]
        ),
    )])
}

fn equivalence(i: &Inputs) -> anyhow::Result<Vec<Check>> {
    let o = i.serve_out;
    let bt: PathBuf = o.join("backtest");
    let first = i.dates.first().context("no dates")?.to_string();
    let last = i.dates.last().context("no dates")?.to_string();
    let p = |f: &str| o.join(f).display().to_string();
    let args = [
        "backtest".to_string(),
        "--data".into(),
        i.data.display().to_string(),
        "--from".into(),
        first,
        "--to".into(),
        last,
        "--posture-log".into(),
        p("posture.jsonl"),
        "--acb-trace".into(),
        p("acb.jsonl"),
        "--mc-trace".into(),
        p("mc.jsonl"),
        "--cb-trace".into(),
        p("cb.jsonl"),
        "--no-plot".into(),
        "--out".into(),
        bt.display().to_string(),
    ];
    let out = Command::new(i.exe)
        .args(&args)
        .output()
        .context("run dolphin backtest")?;
    if !out.status.success() {
        return Ok(vec![check(
            "backtest on the run's traces = the run",
            false,
            format!(
                "dolphin {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ),
        )]);
    }
    let mut differ = Vec::new();
    for f in ["trades.jsonl", "days.jsonl", "summary.json"] {
        if std::fs::read(o.join(f))? != std::fs::read(bt.join(f))? {
            differ.push(f);
        }
    }
    Ok(vec![check(
        "backtest on the run's traces = the run",
        differ.is_empty(),
        if differ.is_empty() {
            format!(
                "trades.jsonl, days.jsonl, summary.json byte-identical ({})",
                bt.display()
            )
        } else {
            format!("differ: {differ:?} ({})", bt.display())
        },
    )])
}
