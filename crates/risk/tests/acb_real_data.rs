//! ACBv6 scale 1 on the real shared indicators (docs/ACB.md "worked day").
//!
//! The data crate's loading rules (written elsewhere) are: funding for date D = the last
//! BTCUSDT settlement at or before D 00:00 UTC; DVOL for D = the value dated D − 1 (the close
//! of the previous UTC day's candle, known at D 00:00); Fear & Greed for D = the value dated D.
//! No taker-ratio series is shared, so `taker` is absent.

use dolphin_core::{ExternalFactors, UtcDate};
use dolphin_engine::AcbProvider;
use dolphin_risk::{AcbConfig, AdaptiveCircuitBreaker};
use std::collections::BTreeMap;
use std::path::Path;

const INDICATORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/indicators"
);

fn d(s: &str) -> UtcDate {
    s.parse().unwrap()
}

/// Factors of 2025-05-02 and 2025-05-03, copied by hand from the CSVs:
/// * funding_rate_btcusdt_8h.csv line 2734: `1746144000000,-0.00012232` (2025-05-02T00:00Z);
///   line 2737: `1746230400000,-0.00005953` (2025-05-03T00:00Z)
/// * dvol_btc_daily.csv line 909: `2025-05-01,46.11`; line 910: `2025-05-02,44.54`
/// * fear_greed_daily.csv line 2645: `2025-05-02,67` (the file ends there: no value for 05-03)
fn hand_factors() -> BTreeMap<UtcDate, ExternalFactors> {
    [
        ExternalFactors {
            date: d("2025-05-02"),
            funding_btc: Some(-0.00012232),
            dvol_btc: Some(46.11),
            fng: Some(67.0),
            taker: None,
        },
        ExternalFactors {
            date: d("2025-05-03"),
            funding_btc: Some(-0.00005953),
            dvol_btc: Some(44.54),
            fng: None,
            taker: None,
        },
    ]
    .into_iter()
    .map(|f| (f.date, f))
    .collect()
}

#[test]
fn worked_days_of_may_2025() {
    let acb =
        AdaptiveCircuitBreaker::new(AcbConfig::default(), hand_factors(), BTreeMap::new()).unwrap();
    // 2025-05-02: funding −0.00012232 < −0.0001 → 1.0; DVOL 46.11 ≤ 55 → 0; F&G 67 ≥ 40 → 0.
    let e = acb.explain(d("2025-05-02"), None);
    assert_eq!(e.signal.funding, 1.0);
    assert_eq!(e.signal.dvol, 0.0);
    assert_eq!(e.signal.fng, 0.0);
    assert_eq!(e.signals, 1.0);
    assert_eq!(e.boost, 1.0 + 0.5 * 1f64.ln_1p());
    assert_eq!(format!("{:.3}", e.boost), "1.347");
    // No w750 loaded: beta 0.
    assert_eq!(e.beta, 0.0);
    assert_eq!(acb.day(d("2025-05-02"), None).boost, e.boost);
    // 2025-05-03: funding −0.00005953 is only mildly bearish → 0.5 < 1 → boost 1.0.
    let e = acb.explain(d("2025-05-03"), None);
    assert_eq!((e.signal.funding, e.signals, e.boost), (0.5, 0.5, 1.0));
    // A date without factors: boost 1.0 (SPEC §5).
    assert_eq!(acb.day(d("2025-05-04"), None).boost, 1.0);
}

/// Finds the value on the line of `path` whose first CSV field equals `key`, with the line
/// number (1-based, header = line 1).
fn lookup(path: &Path, key: &str) -> Option<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().enumerate().find_map(|(i, l)| {
        let (k, v) = l.split_once(',')?;
        (k == key).then(|| (i + 1, v.to_string()))
    })
}

#[test]
fn cited_csv_lines_hold_the_hand_values() {
    let dir = Path::new(INDICATORS);
    if !dir.exists() {
        eprintln!("note: {INDICATORS} not found (no shared data in this clone); skipping");
        return;
    }
    let funding = dir.join("funding_rate_btcusdt_8h.csv");
    let dvol = dir.join("dvol_btc_daily.csv");
    let fng = dir.join("fear_greed_daily.csv");
    assert_eq!(
        lookup(&funding, "1746144000000"),
        Some((2734, "-0.00012232".into()))
    );
    assert_eq!(
        lookup(&funding, "1746230400000"),
        Some((2737, "-0.00005953".into()))
    );
    assert_eq!(lookup(&dvol, "2025-05-01"), Some((909, "46.11".into())));
    assert_eq!(lookup(&dvol, "2025-05-02"), Some((910, "44.54".into())));
    assert_eq!(lookup(&fng, "2025-05-02"), Some((2645, "67".into())));
    assert_eq!(lookup(&fng, "2025-05-03"), None);
}

/// Applies the loading rules to the whole CSVs (a tiny stand-in for the data crate's loader)
/// and checks the ACB on every date of May 2025: boosts are only ever 1.0 or the 1-signal
/// value, and the days where funding is very bearish are exactly the boosted ones.
#[test]
fn may_2025_from_the_csvs() {
    let dir = Path::new(INDICATORS);
    if !dir.exists() {
        eprintln!("note: {INDICATORS} not found (no shared data in this clone); skipping");
        return;
    }
    let read = |name: &str| -> Vec<(String, f64)> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(',')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect()
    };
    let funding: Vec<(i64, f64)> = read("funding_rate_btcusdt_8h.csv")
        .into_iter()
        .map(|(k, v)| (k.parse().unwrap(), v))
        .collect();
    let dvol: BTreeMap<String, f64> = read("dvol_btc_daily.csv").into_iter().collect();
    let fng: BTreeMap<String, f64> = read("fear_greed_daily.csv").into_iter().collect();
    let mut factors = BTreeMap::new();
    let mut date = d("2025-05-01");
    while date < d("2025-06-01") {
        let t0 = date.start_ms();
        let funding_btc = funding.iter().rfind(|(t, _)| *t <= t0).map(|p| p.1);
        let prev = UtcDate::from_days_since_epoch(date.days_since_epoch() - 1);
        factors.insert(
            date,
            ExternalFactors {
                date,
                funding_btc,
                dvol_btc: dvol.get(&prev.to_string()).copied(),
                fng: fng.get(&date.to_string()).copied(),
                taker: None,
            },
        );
        date = date.succ();
    }
    // The hand-built days agree with the loader stand-in.
    for (k, v) in hand_factors() {
        assert_eq!(factors[&k], v);
    }
    let acb = AdaptiveCircuitBreaker::new(AcbConfig::default(), factors.clone(), BTreeMap::new())
        .unwrap();
    let one = 1.0 + 0.5 * 1f64.ln_1p();
    let mut boosted = Vec::new();
    for (date, f) in &factors {
        let e = acb.explain(*date, None);
        assert!(e.boost == 1.0 || e.boost == one, "{date}: {}", e.boost);
        // DVOL stayed below 55 all month (max 2025-04-30..05-30 is < 55).
        assert_eq!(e.signal.dvol, 0.0, "{date}");
        let very = f.funding_btc.is_some_and(|v| v < -0.0001);
        assert_eq!(e.boost == one, very, "{date}");
        if very {
            boosted.push(date.to_string());
        }
    }
    assert_eq!(boosted, vec!["2025-05-02".to_string()]);
}
