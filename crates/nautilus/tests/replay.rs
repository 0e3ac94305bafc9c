//! The replay on Nautilus's BacktestEngine against the standalone `dolphin backtest`
//! (SPEC D6, issue 7 item 3): the files written from both must be byte-identical, and
//! Nautilus's fills must reconcile with the engine's trade log.

use dolphin_core::UtcDate;
use dolphin_data::write_day_file;
use dolphin_engine::DayContext;
use dolphin_engine::synthetic::synthetic_days;
use dolphin_nautilus::{NautilusRun, run_nautilus_backtest};
use dolphin_runtime::{BacktestResult, SystemConfig, day_files, run_backtest, write_outputs};
use std::path::Path;

const SAMPLE_DAYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/days");

fn standalone(cfg: &SystemConfig, files: &[(UtcDate, std::path::PathBuf)]) -> BacktestResult {
    run_backtest(cfg, files, &dolphin_runtime::Providers::none(), &mut |_| {}).unwrap()
}

fn assert_same_outputs(a: &BacktestResult, run: &NautilusRun) {
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("standalone"), dir.path().join("nautilus"));
    write_outputs(&da, a, false).unwrap();
    write_outputs(&db, &run.result, false).unwrap();
    for f in ["summary.json", "trades.jsonl", "days.jsonl"] {
        let x = std::fs::read(da.join(f)).unwrap();
        let y = std::fs::read(db.join(f)).unwrap();
        assert!(x == y, "{f} differs between standalone and Nautilus");
    }
    assert_eq!(&run.result, a);
}

fn assert_reconciled(run: &NautilusRun) {
    let r = &run.reconciliation;
    assert!(r.is_clean(), "differences: {:#?}", r.differences);
    assert_eq!(r.engine_trades, run.result.trades.len());
    assert_eq!(r.orders_sent, 2 * r.engine_trades);
    assert_eq!(r.orders_filled, 2 * r.engine_trades);
    assert!(r.fills >= r.orders_filled);
}

#[test]
fn sample_days_match_the_standalone_backtest_byte_for_byte() {
    let dir = Path::new(SAMPLE_DAYS);
    if !dir.is_dir() {
        eprintln!("note: {SAMPLE_DAYS} not found; skipping");
        return;
    }
    let cfg = SystemConfig::blue();
    let files = day_files(dir, None, None).unwrap();
    let a = standalone(&cfg, &files);
    let run = run_nautilus_backtest(&cfg, &files).unwrap();
    assert!(!a.trades.is_empty(), "the sample trades");
    assert_eq!(run.log.days_begun, files.len() as u64);
    assert_eq!(run.log.ts_mismatches, 0);
    assert_eq!(run.driver, "BTCUSDT");
    assert_same_outputs(&a, &run);
    assert_reconciled(&run);
}

#[test]
fn four_hundred_assets_with_irp_run_and_match() {
    // B §17 test_16_scaling "400-asset with IRP", on generated prices, through Nautilus.
    let tmp = tempfile::tempdir().unwrap();
    let frames = synthetic_days(UtcDate::new(2026, 2, 1).unwrap(), 2, 480, 400, 11);
    for f in &frames {
        write_day_file(&tmp.path().join(format!("{}.parquet", f.date)), f).unwrap();
    }
    let cfg = SystemConfig::blue();
    assert!(
        cfg.engine.use_asset_selection,
        "IRP asset selection is on in the champion"
    );
    let files = day_files(tmp.path(), None, None).unwrap();
    let a = standalone(&cfg, &files);
    let run = run_nautilus_backtest(&cfg, &files).unwrap();
    assert_eq!(run.instruments, 400);
    assert_eq!(run.result.asset_bars, 2 * 480 * 400);
    assert!(!a.trades.is_empty(), "the generated days trade");
    let assets: std::collections::BTreeSet<&str> =
        a.trades.iter().map(|t| t.asset.as_str()).collect();
    assert!(
        assets.len() > 1 || a.trades.len() == 1,
        "IRP picks among assets: {assets:?}"
    );
    assert_same_outputs(&a, &run);
    assert_reconciled(&run);
}

#[test]
fn posture_from_the_store_reaches_the_engine_through_nautilus() {
    // B §14.4: the actor reads the posture from the store at each date; the standalone runner
    // gets the same posture through its day context. STALKER with Rm 0.8 changes the sizing.
    use dolphin_core::Posture;
    use dolphin_nautilus::{NautilusOptions, run_nautilus_frames, shared_store};
    use dolphin_store::EmbeddedMemory;
    use dolphin_store::schema::{Extra, SafetyValue, write_safety};
    use std::sync::Arc;

    let dir = Path::new(SAMPLE_DAYS);
    if !dir.is_dir() {
        eprintln!("note: {SAMPLE_DAYS} not found; skipping");
        return;
    }
    let cfg = SystemConfig::blue();
    let files = day_files(dir, None, None).unwrap();
    let ctx = DayContext {
        posture: Posture::Stalker,
        rm: 0.8,
    };
    let providers =
        dolphin_runtime::Providers::none().with_posture(move |_: dolphin_core::UtcDate| ctx);
    let a = run_backtest(&cfg, &files, &providers, &mut |_| {}).unwrap();
    let apex = standalone(&cfg, &files);
    assert_ne!(a.summary, apex.summary, "STALKER changes the run");

    let mem = EmbeddedMemory::new();
    let safety = SafetyValue {
        posture: Posture::Stalker,
        rm: 0.8,
        extra: Extra::new(),
    };
    assert!(write_safety(&mem, None, &safety).unwrap());
    let opts = NautilusOptions {
        store: shared_store(Arc::new(mem.clone())),
        ..Default::default()
    };
    let frames = files
        .iter()
        .map(|(_, p)| (p.clone(), dolphin_data::read_day_file(p).unwrap()))
        .collect();
    let run = run_nautilus_frames(&cfg, frames, &opts).unwrap();
    assert!(
        run.result
            .days
            .iter()
            .all(|d| d.posture == Posture::Stalker)
    );
    assert_same_outputs(&a, &run);
    assert_reconciled(&run);
    // Every date's result reached DOLPHIN_PNL_BLUE of the shared store.
    let keys = dolphin_store::SystemMemory::key_set(&mem, "DOLPHIN_PNL_BLUE").unwrap();
    assert_eq!(keys.len(), files.len());
}

#[test]
fn day_files_of_all_shared_klines_match_when_given() {
    // Day files of all shared klines are made by
    // `dolphin scan --klines ../shared/data/klines-1m --out DIR`; point DOLPHIN_NAUTILUS_DAYS
    // at DIR to run this check (43 days: identical files, 344/344 orders filled).
    let Some(dir) = std::env::var_os("DOLPHIN_NAUTILUS_DAYS") else {
        eprintln!("note: DOLPHIN_NAUTILUS_DAYS not set; skipping the full-data parity check");
        return;
    };
    let cfg = SystemConfig::blue();
    let files = day_files(Path::new(&dir), None, None).unwrap();
    let a = standalone(&cfg, &files);
    let run = run_nautilus_backtest(&cfg, &files).unwrap();
    assert_same_outputs(&a, &run);
    assert_reconciled(&run);
}
