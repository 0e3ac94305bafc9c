//! End-to-end OB backtest on the shipped capture sample (issue 5 "done when": a backtest with
//! OB features replayed from file runs end to end and the OB rules show in the trade log).
//! Inputs: data/sample/ob (1-second klines, day file and OB feature table derived from the
//! hftbacktest depth captures) and configs/ob-capture.yml. The worked trade is in
//! docs/OB_FEATURES.md §8.

use std::path::{Path, PathBuf};
use std::process::Command;

use dolphin_core::Direction;
use dolphin_engine::ObProvider;
use dolphin_orderbook::ReplayObProvider;
use serde_json::Value;

fn repo(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

fn dolphin(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_dolphin"))
        .args(args)
        .output()
        .expect("run dolphin");
    assert!(
        out.status.success(),
        "dolphin {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run the demo backtest (with or without `--ob`) and return its trades.
fn backtest(with_ob: bool) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    let config = repo("configs/ob-capture.yml");
    let data = repo("data/sample/ob/days");
    let ob = repo("data/sample/ob/ob_features.parquet");
    let mut args = vec![
        "backtest",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-plot",
    ];
    if with_ob {
        args.extend(["--ob", ob.to_str().unwrap()]);
    }
    dolphin(&args);
    std::fs::read_to_string(out.join("trades.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn rules(t: &Value) -> Vec<String> {
    t.get("ob_rules")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|r| r.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The worked trade (docs/OB_FEATURES.md §8): a SHORT on BTCUSDT entered at bar 168
/// (2024-08-08 23:57:04 UTC, vel_div −0.02264) on which five OB rules acted, each predicted
/// from the feature table at that bar; without `--ob` the same entry has 1/1.2 of the
/// leverage and leaves 18 bars earlier.
#[test]
fn ob_rules_act_on_the_capture_backtest_as_the_features_predict() {
    let on = backtest(true);
    let off = backtest(false);
    assert!(
        on.iter().any(|t| !rules(t).is_empty()),
        "no trade with OB rules: {on:?}"
    );
    let (t_on, t_off) = (&on[0], &off[0]);
    assert_eq!(t_on["asset"], "BTCUSDT");
    assert_eq!(t_on["direction"], -1);
    assert_eq!(t_on["entry_bar"], 168);
    assert_eq!(t_off["entry_bar"], 168);
    assert_eq!(t_on["entry_price"], 61701.3);

    // The features the engine sees at the entry bar (latest 500 ms sample at or before the
    // bar's open time 1723161424000).
    let day = dolphin_data::read_day_file(&repo("data/sample/ob/days/2024-08-08.parquet")).unwrap();
    let btc = day.assets.iter().position(|a| a == "BTCUSDT").unwrap();
    let n = day.assets.len();
    let ts = day.timestamp[168];
    assert_eq!(ts, 1_723_161_424_000);
    assert!((day.vel_div[168] - -0.022_643).abs() < 1e-6);
    let ob = ReplayObProvider::from_parquet(&repo("data/sample/ob/ob_features.parquet")).unwrap();
    let pl = ob.placement("BTCUSDT", ts).unwrap();
    let sig = ob.signal("BTCUSDT", ts).unwrap();
    let mac = ob.macro_state(ts).unwrap();
    // Hand-read values (rounded) of the BTCUSDT row at sample 1723161424000.
    assert!((pl.depth_quality - 1.3798).abs() < 1e-4);
    assert!((pl.fill_probability - 0.6492).abs() < 1e-4);
    assert!((sig.imbalance_ma5 - -0.5325).abs() < 1e-4);
    assert_eq!(sig.imbalance_persistence, 1.0);
    assert!((mac.macro_imbalance - -0.4331).abs() < 1e-4);
    assert_eq!((mac.regime_signal, mac.cascade_count), (-1, 0));
    // OB-1: 1.2 < depth_quality ≤ 1.5 → ARS +5 %.
    assert!(pl.depth_quality > 1.2 && pl.depth_quality <= 1.5);
    // OB-2: SHORT effective imbalance −imbalance_ma5 = 0.53 > 0.10 → boost.
    assert!(-sig.imbalance_ma5 > 0.10);
    // OB-3: clamp(1 − macro_imbalance, 0.85, 1.20) = clamp(1.433) = 1.20.
    assert_eq!(ob.market_multiplier(Direction::Short, ts), 1.2);
    // OB edge at exit: depth_quality > 0.5.
    // OB-5 calm: regime −1 and effective imbalance > 0.15 on bars 288..=305 (held 120..=137:
    // max hold 120 → 180), not on bar 306 (regime 0): held 138 ≥ 120 → MAX_HOLD there. No
    // other OB-5 rule fires on any managed bar (no cascade, no stress regime, no withdrawal
    // below −0.20).
    for bar in 288..306 {
        let t = day.timestamp[bar];
        let (m, s) = (ob.macro_state(t).unwrap(), ob.signal("BTCUSDT", t).unwrap());
        assert!(
            m.regime_signal == -1 && -s.imbalance_ma5 > 0.15,
            "bar {bar}"
        );
    }
    for bar in 169..=306 {
        let t = day.timestamp[bar];
        let (m, s) = (ob.macro_state(t).unwrap(), ob.signal("BTCUSDT", t).unwrap());
        assert!(m.cascade_count == 0 && m.regime_signal != 1, "bar {bar}");
        assert!(s.withdrawal_velocity >= -0.20, "bar {bar}");
    }
    assert_eq!(ob.macro_state(day.timestamp[306]).unwrap().regime_signal, 0);
    assert_eq!(
        rules(t_on),
        [
            "OB1_ARS",
            "OB2_BOOST",
            "OB3_MARKET_MULT",
            "OB5_CALM",
            "OB_EDGE"
        ]
    );

    // The run without --ob differs as those rules predict.
    assert!(rules(t_off).is_empty());
    let (lev_on, lev_off) = (
        t_on["leverage"].as_f64().unwrap(),
        t_off["leverage"].as_f64().unwrap(),
    );
    assert!(
        (lev_on / lev_off - 1.2).abs() < 1e-12,
        "{lev_on} / {lev_off}"
    );
    assert_eq!(t_on["exit_bar"], 306);
    assert_eq!(t_off["exit_bar"], 168 + 120);
    assert_eq!(
        (t_on["reason"].as_str(), t_off["reason"].as_str()),
        (Some("MAX_HOLD"), Some("MAX_HOLD"))
    );
    // SHORT exit fill = close × (1 + 0.0002): close 61658.0 at bar 306, 61706.5 at bar 288.
    assert_eq!(day.prices[306 * n + btc], 61658.0);
    assert_eq!(day.prices[288 * n + btc], 61706.5);
    assert!((t_on["exit_price"].as_f64().unwrap() - 61658.0 * 1.0002).abs() < 1e-9);
    assert!((t_off["exit_price"].as_f64().unwrap() - 61706.5 * 1.0002).abs() < 1e-9);
}

/// `dolphin ob` + `dolphin scan` on the real captures reproduce the shipped sample byte for
/// byte (data/sample/ob/README.md). Skipped when ../shared is absent.
#[test]
fn shipped_sample_regenerates_byte_for_byte() {
    let depth = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/depth"
    ));
    let (btc, eth) = (
        depth.join("btcusdt_20240808.gz"),
        depth.join("ethusdt_20240808.gz"),
    );
    if !btc.exists() || !eth.exists() {
        eprintln!("note: {} not found; skipping", depth.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (klines, days, table) = (
        dir.path().join("klines-1s"),
        dir.path().join("days"),
        dir.path().join("ob_features.parquet"),
    );
    dolphin(&[
        "ob",
        "--capture",
        btc.to_str().unwrap(),
        "--capture",
        eth.to_str().unwrap(),
        "--out",
        table.to_str().unwrap(),
        "--klines-out",
        klines.to_str().unwrap(),
        "--interval",
        "1s",
    ]);
    dolphin(&[
        "scan",
        "--klines",
        klines.to_str().unwrap(),
        "--out",
        days.to_str().unwrap(),
        "--slow-window",
        "150",
        "--to",
        "2024-08-08",
    ]);
    let shipped = repo("data/sample/ob");
    for rel in [
        "klines-1s/BTCUSDT-1s.csv",
        "klines-1s/ETHUSDT-1s.csv",
        "days/2024-08-08.parquet",
        "ob_features.parquet",
    ] {
        let made = std::fs::read(dir.path().join(rel)).unwrap();
        let want = std::fs::read(shipped.join(rel)).unwrap();
        assert!(made == want, "{rel} differs from the shipped file");
    }
    // One day file (scan also writes its run.json beside the day files).
    let day_files = std::fs::read_dir(&days)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert_eq!(day_files, 1);
}
