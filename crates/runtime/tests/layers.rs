//! The risk layers wired into the backtest: ACBv6 from the real shared indicator tables and
//! a survival-stack posture trace.

use dolphin_core::Posture;
use dolphin_engine::ExitReason;
use dolphin_runtime::Providers;
use dolphin_runtime::layers::{build_acb, explain_acb, posture_trace};
use dolphin_runtime::{SystemConfig, day_files, run_backtest};
use std::path::PathBuf;

fn sample() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/sample/days"
    ))
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found (no ../shared in this clone); test skipped",
            p.display()
        );
        None
    }
}

#[test]
fn acb_days_carry_the_explained_boost_and_beta() {
    let (Some(ind), Some(fund)) = (shared("indicators"), shared("funding")) else {
        return;
    };
    let files = day_files(&sample(), None, None).unwrap();
    let mut warnings = dolphin_core::InputWarnings::new();
    let acb = build_acb(Some(&ind), Some(&fund), &files, &mut warnings).unwrap();
    assert!(warnings.is_empty());
    let explain = explain_acb(&acb, &files);
    // 2025-05-05: BTC funding settled at 2025-05-05 00:00:00 is −0.00002404 (< 0 → 0.5),
    // DVOL dated 05-04 (line 912) is 46.35 (< 55), no F&G after 2025-05-02 → signals 0.5 < 1 → boost 1.
    let d5 = explain
        .iter()
        .find(|e| e.date.to_string() == "2025-05-05")
        .unwrap();
    assert_eq!(d5.factors.unwrap().funding_btc, Some(-0.00002404));
    assert_eq!(d5.factors.unwrap().dvol_btc, Some(46.35));
    assert_eq!(d5.signals, 0.5);
    assert_eq!(d5.boost, 1.0);
    // The first day has no finite v750 in its first rows (the 750-bar window is not full).
    assert_eq!(explain[0].w750, None);
    assert_eq!(explain[0].beta, 0.0);
    assert!(explain.iter().any(|e| e.beta == 0.8) && explain.iter().any(|e| e.beta == 0.2));
    let r = run_backtest(
        &SystemConfig::blue(),
        &files,
        &Providers::none().with_acb(acb),
        &mut |_| {},
    )
    .unwrap();
    for (day, ex) in r.days.iter().zip(&explain) {
        assert_eq!(day.date, ex.date);
        assert_eq!((day.boost, day.beta), (ex.boost, ex.beta));
    }
}

#[test]
fn posture_trace_hibernates_a_day() {
    let files = day_files(&sample(), None, None).unwrap();
    let base = run_backtest(
        &SystemConfig::blue(),
        &files,
        &Providers::none(),
        &mut |_| {},
    )
    .unwrap();
    // Healthy readings, then a total failure (no store nodes) from 2025-05-07 00:00 UTC on.
    let ok = r#""hz_nodes":1,"heartbeat_age_s":1.0,"mc_status":"OK","staleness_hours":0.0,"ob_stale":false,"depth_quality":1.0,"fill_prob":1.0,"dvol_spike":false,"drawdown":0.0"#;
    let bad = ok.replace(r#""hz_nodes":1"#, r#""hz_nodes":0"#);
    let t0 = "2025-05-04"
        .parse::<dolphin_core::UtcDate>()
        .unwrap()
        .start_ms();
    let t7 = "2025-05-07"
        .parse::<dolphin_core::UtcDate>()
        .unwrap()
        .start_ms();
    let trace = format!("{{\"ts_ms\":{t0},{ok}}}\n{{\"ts_ms\":{t7},{bad}}}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    std::fs::write(&path, trace).unwrap();
    let providers =
        Providers::none().with_posture(posture_trace(&path, &mut Default::default()).unwrap());
    let r = run_backtest(&SystemConfig::blue(), &files, &providers, &mut |_| {}).unwrap();
    let postures: Vec<Posture> = r.days.iter().map(|d| d.posture).collect();
    assert_eq!(&postures[..3], &[Posture::Apex; 3]);
    assert!(postures[3..].iter().all(|p| *p == Posture::Hibernate));
    // Up to the HIBERNATE date the runs agree; from it on no trade is entered.
    let cut = "2025-05-07".parse::<dolphin_core::UtcDate>().unwrap();
    for t in &r.trades {
        assert!(t.date < cut || t.reason == ExitReason::HibernateHalt);
    }
    let before: Vec<_> = base
        .trades
        .iter()
        .filter(|t| t.date < cut && t.reason != ExitReason::EndOfData)
        .collect();
    assert!(r.trades.len() <= before.len() + 1);
    // A malformed trace names its file and line.
    std::fs::write(&path, "{\"ts_ms\":1}\nnot json\n").unwrap();
    let e = posture_trace(&path, &mut Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("trace.jsonl:1"), "{e}");
}
