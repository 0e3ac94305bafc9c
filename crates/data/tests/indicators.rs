//! Daily external factors from indicator tables (seeds B §10.2, SPEC §3).

use dolphin_core::{ExternalFactors, UtcDate};
use dolphin_data::{DataError, load_external_factors};
use std::path::{Path, PathBuf};

fn d(s: &str) -> UtcDate {
    s.parse().unwrap()
}

fn shared(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(sub);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found, skipping the shared-data test",
            p.display()
        );
        None
    }
}

#[test]
fn shared_indicator_tables() {
    let (Some(ind), Some(fund)) = (shared("indicators"), shared("funding")) else {
        return;
    };
    let m = load_external_factors(Some(&ind), Some(&fund)).unwrap();

    // 2025-05-01, from these CSV lines:
    //   dvol_btc_daily.csv:908         2025-04-30,45.07        (value dated D-1)
    //   fear_greed_daily.csv:2644      2025-05-01,53           (value dated D)
    //   funding/BTCUSDT-funding.csv:168  1746057600000,,0.00003519  (2025-05-01T00:00:00.000Z)
    assert_eq!(
        m[&d("2025-05-01")],
        ExternalFactors {
            date: d("2025-05-01"),
            funding_btc: Some(0.000_035_19),
            dvol_btc: Some(45.07),
            fng: Some(53.0),
            taker: None,
        }
    );
    // 2025-04-30: settlement with 1 ms of jitter counts for that date:
    //   funding/BTCUSDT-funding.csv:165  1745971200001,,-0.00005181  (2025-04-30T00:00:00.001Z)
    //   fear_greed_daily.csv:2643      2025-04-30,56
    let f = m[&d("2025-04-30")];
    assert_eq!(f.funding_btc, Some(-0.000_051_81));
    assert_eq!(f.fng, Some(56.0));
    // 2025-11-12: the per-symbol file ended 2025-06-03, so funding falls back to the 8 h file;
    //   funding_rate_btcusdt_8h.csv:3316  1762905600000,0.00002462  (2025-11-12T00:00Z)
    //   dvol_btc_daily.csv has no 2025-11-11 row -> dvol None; fng ended 2025-05-02 -> None.
    let f = m[&d("2025-11-12")];
    assert_eq!(f.funding_btc, Some(0.000_024_62));
    assert_eq!(f.dvol_btc, None);
    assert_eq!(f.fng, None);
    // Range: first fng date 2018-02-01 .. 2025-11-13 (dvol dated 2025-11-12 line 1103
    // `2025-11-12,44.87`, and the 2025-11-12T08:00 settlement, apply to 2025-11-13).
    assert_eq!(*m.keys().next().unwrap(), d("2018-02-01"));
    assert_eq!(*m.keys().last().unwrap(), d("2025-11-13"));
    assert_eq!(m.len(), 2843);
    let last = m[&d("2025-11-13")];
    assert_eq!(last.dvol_btc, Some(44.87));
    //   funding_rate_btcusdt_8h.csv:3317  1762934400002,0.00000687
    assert_eq!(last.funding_btc, Some(0.000_006_87));
    // Fear & Greed gap 2018-04-14..16 (lines 73-74 jump from 2018-04-13 to 2018-04-17):
    // the date is in the map with nothing known.
    assert_eq!(
        m[&d("2018-04-15")],
        ExternalFactors::absent(d("2018-04-15"))
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const D5: i64 = 1_746_403_200_000; // 2025-05-05T00:00Z
const H8: i64 = 8 * 3_600_000;

#[test]
fn lags_preference_and_taker() {
    let ind = tempfile::tempdir().unwrap();
    let fund = tempfile::tempdir().unwrap();
    write(
        ind.path(),
        "dvol_btc_daily.csv",
        "date,value\n2025-05-04,50.5\n2025-05-05,60.5\n",
    );
    write(
        ind.path(),
        "fear_greed_daily.csv",
        "date,value\n2025-05-05,20\n",
    );
    write(
        ind.path(),
        "taker_ratio_daily.csv",
        "date,value\n2025-05-04,0.85\n",
    );
    // The 8 h file covers 2025-05-05 and 2025-05-06; the per-symbol file only 2025-05-05.
    write(
        ind.path(),
        "funding_rate_btcusdt_8h.csv",
        &format!(
            "time,rate\n{},0.0001\n{},0.0002\n{},0.0003\n",
            D5 + 3,
            D5 + H8,
            D5 + 3 * H8
        ),
    );
    write(
        fund.path(),
        "BTCUSDT-funding.csv",
        &format!(
            "calc_time,funding_interval_hours,last_funding_rate\n{},8,-0.0004\n",
            D5 + 3
        ),
    );
    let m = load_external_factors(Some(ind.path()), Some(fund.path())).unwrap();
    let keys: Vec<String> = m.keys().map(|k| k.to_string()).collect();
    // 2025-05-04: fng none, dvol dated 05-03 none, funding none... nothing known -> trimmed.
    assert_eq!(keys, ["2025-05-05", "2025-05-06", "2025-05-07"]);
    assert_eq!(
        m[&d("2025-05-05")],
        ExternalFactors {
            date: d("2025-05-05"),
            funding_btc: Some(-0.0004), // per-symbol file preferred
            dvol_btc: Some(50.5),       // dated 2025-05-04
            fng: Some(20.0),            // dated 2025-05-05
            taker: Some(0.85),          // dated 2025-05-04
        }
    );
    let f = m[&d("2025-05-06")];
    // The per-symbol file's last settlement (05-05 00:00) is still within 24 h, but the 8 h
    // file has a newer one (05-06 00:00): the newer rate is the one in force.
    assert_eq!(f.funding_btc, Some(0.0003));
    assert_eq!(f.dvol_btc, Some(60.5));
    assert_eq!((f.fng, f.taker), (None, None));
    let f = m[&d("2025-05-07")];
    assert_eq!(f.funding_btc, Some(0.0003)); // 24 h old, still within the window
    assert_eq!(f.dvol_btc, None);

    // Without the funding dir, the 8 h file alone decides 2025-05-05.
    let m = load_external_factors(Some(ind.path()), None).unwrap();
    assert_eq!(m[&d("2025-05-05")].funding_btc, Some(0.0001));
    // Only the funding dir.
    let m = load_external_factors(None, Some(fund.path())).unwrap();
    assert_eq!(m.len(), 2); // 2025-05-05 and 2025-05-06 (within 24 h)
    // Nothing at all.
    assert!(load_external_factors(None, None).unwrap().is_empty());
    // A directory given without any of the tables is an error naming it (a typo in a path
    // must not silently switch a factor off); so is a funding dir without BTCUSDT's table.
    let empty = tempfile::tempdir().unwrap();
    let e = load_external_factors(Some(empty.path()), None).unwrap_err();
    assert!(matches!(e, DataError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("dvol_btc_daily.csv"), "{e}");
    let e = load_external_factors(None, Some(empty.path())).unwrap_err();
    assert!(e.to_string().contains("no BTCUSDT-funding.csv"), "{e}");
}

/// The error of a one-table indicators dir holding `text` as `name`.
fn table_err(name: &str, text: &str) -> String {
    let ind = tempfile::tempdir().unwrap();
    write(ind.path(), name, text);
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(name), "{msg}");
    msg
}

#[test]
fn empty_header_only_and_ragged_tables_are_rejected() {
    let msg = table_err("dvol_btc_daily.csv", "");
    assert!(msg.ends_with("no data rows: the file is empty"), "{msg}");
    let msg = table_err("dvol_btc_daily.csv", "date,value\n\n");
    assert!(
        msg.ends_with("no data rows: the file holds no data line (header or blank lines only)"),
        "{msg}"
    );
    let msg = table_err(
        "dvol_btc_daily.csv",
        "date,value\n2025-05-04,50\n2025-05-05,51,7\n",
    );
    assert!(
        msg.ends_with("line 3: 3 fields, but line 1 has 2; every line needs the same fields"),
        "{msg}"
    );
    let msg = table_err("funding_rate_btcusdt_8h.csv", "time,rate\n1746316800000\n");
    assert!(msg.contains("line 2: 1 fields, but line 1 has 2"), "{msg}");
}

#[test]
fn unordered_and_out_of_range_values_are_rejected() {
    let msg = table_err(
        "fear_greed_daily.csv",
        "date,value\n2025-05-05,20\n2025-05-04,30\n",
    );
    assert!(msg.ends_with("line 3: date 2025-05-04 is earlier than date 2025-05-05 on line 2; rows must be in time order"), "{msg}");
    let msg = table_err("fear_greed_daily.csv", "date,value\n2025-05-05,120\n");
    assert!(
        msg.ends_with("line 2: value 120 must be within 0..=100"),
        "{msg}"
    );
    let msg = table_err("dvol_btc_daily.csv", "date,value\n2025-05-05,-3\n");
    assert!(msg.ends_with("line 2: value -3 must be > 0"), "{msg}");
    let msg = table_err("dvol_btc_daily.csv", "date,value\n2025-05-05,inf\n");
    assert!(
        msg.ends_with("line 2: value `inf` is not a finite number"),
        "{msg}"
    );
    let msg = table_err(
        "funding_rate_btcusdt_8h.csv",
        "time,rate\n1746345600000,0.1\n1746316800000,0.2\n",
    );
    assert!(
        msg.contains("line 3: time 1746316800000 is earlier than time 1746345600000 on line 2"),
        "{msg}"
    );
}

#[test]
fn malformed_tables_name_file_and_line() {
    let ind = tempfile::tempdir().unwrap();
    write(
        ind.path(),
        "fear_greed_daily.csv",
        "date,value\n2025-05-04,20\n2025-13-01,30\n",
    );
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    let path = ind.path().join("fear_greed_daily.csv");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 3: `2025-13-01` is not a YYYY-MM-DD date",
            path.display()
        )
    );
    write(
        ind.path(),
        "fear_greed_daily.csv",
        "date,value\n2025-05-04,20\n\n2025-05-04,21\n",
    );
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("line 4: date 2025-05-04 already given on line 2"),
        "{e}"
    );
    write(ind.path(), "fear_greed_daily.csv", "2025-05-04,abc\n");
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("line 1: value `abc` is not a finite number"),
        "{e}"
    );
    write(ind.path(), "fear_greed_daily.csv", "2025-05-04\n");
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("line 1: expected 2 fields (date,value), found 1"),
        "{e}"
    );

    std::fs::remove_file(&path).unwrap();
    write(
        ind.path(),
        "funding_rate_btcusdt_8h.csv",
        "time,rate\n1746403200000,0.1\nnoon,0.2\n",
    );
    let e = load_external_factors(Some(ind.path()), None).unwrap_err();
    assert!(matches!(&e, DataError::BadLine { line: 3, .. }), "{e}");
    assert!(
        e.to_string().contains("time `noon` is not an integer"),
        "{e}"
    );

    let e = load_external_factors(Some(&ind.path().join("missing")), None).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");
}
