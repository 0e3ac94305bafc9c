//! The external-factor producer against a local HTTP fake (axum, on a loopback port) that
//! serves the real tables in the exchanges' formats: it must give, date by date, exactly the
//! factors the table loader derives under the "known at D 00:00" rules (SPEC §8).

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use dolphin_core::UtcDate;
use dolphin_services::ServicesConfig;
use dolphin_services::config::FactorUrls;
use dolphin_services::factors_http::FactorPoller;
use dolphin_services::run_files::RunFiles;
use dolphin_services::service::Ctx;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn csv_rows(p: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn day_ms(d: &str) -> i64 {
    d.parse::<UtcDate>().unwrap().start_ms()
}

/// Serves Binance fundingRate, Deribit DVOL and alternative.me Fear & Greed from tables.
async fn fake(funding: PathBuf, indicators: Option<PathBuf>) -> String {
    let funding_rows = Arc::new(csv_rows(&funding));
    let dvol = Arc::new(
        indicators
            .as_ref()
            .map(|d| csv_rows(&d.join("dvol_btc_daily.csv")))
            .unwrap_or_default(),
    );
    let fng = Arc::new(
        indicators
            .as_ref()
            .map(|d| csv_rows(&d.join("fear_greed_daily.csv")))
            .unwrap_or_default(),
    );
    let app = Router::new()
        .route(
            "/fapi/v1/fundingRate",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let rows = funding_rows.clone();
                async move {
                    assert_eq!(q["symbol"], "BTCUSDT");
                    let end: i64 = q["endTime"].parse().unwrap();
                    let limit: usize = q["limit"].parse().unwrap();
                    let sel: Vec<Value> = rows
                        .iter()
                        .filter(|r| r[0].parse::<i64>().unwrap() <= end)
                        .map(|r| json!({"symbol": "BTCUSDT", "fundingTime": r[0].parse::<i64>().unwrap(), "fundingRate": r[2], "markPrice": "0"}))
                        .collect();
                    let n = sel.len();
                    Json(Value::Array(sel[n.saturating_sub(limit)..].to_vec()))
                }
            }),
        )
        .route(
            "/api/v2/public/get_volatility_index_data",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let rows = dvol.clone();
                async move {
                    let (a, b): (i64, i64) = (
                        q["start_timestamp"].parse().unwrap(),
                        q["end_timestamp"].parse().unwrap(),
                    );
                    let data: Vec<Value> = rows
                        .iter()
                        .map(|r| (day_ms(&r[0]), r[1].parse::<f64>().unwrap()))
                        .filter(|(t, _)| *t >= a && *t <= b)
                        .map(|(t, v)| json!([t, v, v, v, v]))
                        .collect();
                    Json(json!({"result": {"data": data, "continuation": null}}))
                }
            }),
        )
        .route(
            "/fng/",
            get(move || {
                let rows = fng.clone();
                async move {
                    let data: Vec<Value> = rows
                        .iter()
                        .rev()
                        .map(|r| json!({"value": r[1], "value_classification": "", "timestamp": (day_ms(&r[0]) / 1000).to_string()}))
                        .collect();
                    Json(json!({"name": "Fear and Greed Index", "data": data}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_factors_equal_the_table_rules_date_by_date() {
    let funding_dir = root().join("data/sample/funding");
    let shared = root().join("../shared/data/indicators");
    let indicators = shared.is_dir().then_some(shared);
    if indicators.is_none() {
        eprintln!("note: DVOL and Fear & Greed skipped: ../shared/data/indicators is absent");
    }
    let base = fake(funding_dir.join("BTCUSDT-funding.csv"), indicators.clone()).await;
    let urls = FactorUrls {
        funding: format!("{base}/fapi/v1/fundingRate"),
        premium_index: String::new(),
        dvol: if indicators.is_some() {
            format!("{base}/api/v2/public/get_volatility_index_data")
        } else {
            String::new()
        },
        fear_greed: if indicators.is_some() {
            format!("{base}/fng/")
        } else {
            String::new()
        },
    };
    let tmp = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        store: Arc::new(dolphin_store::EmbeddedMemory::new()),
        cfg: Arc::new(ServicesConfig::default()),
        engine: Arc::new(dolphin_engine::EngineConfig::champion()),
        files: RunFiles::create(tmp.path()).unwrap(),
        pid: 1,
    };
    let t0 = day_ms("2025-05-03");
    let poller = FactorPoller::start(&ctx, t0, &urls).unwrap();
    let tables =
        dolphin_data::load_external_factors(indicators.as_deref(), Some(&funding_dir)).unwrap();
    // The sample's dates (funding known), plus April dates where Fear & Greed exists.
    let mut dates: Vec<&str> = vec![
        "2025-05-03",
        "2025-05-04",
        "2025-05-05",
        "2025-05-06",
        "2025-05-07",
        "2025-05-08",
        "2025-05-09",
        "2025-05-10",
        "2025-05-11",
    ];
    if indicators.is_some() {
        dates.extend(["2025-05-01", "2025-05-02"]);
    }
    let funding_only = dolphin_data::load_external_factors(None, Some(&funding_dir)).unwrap();
    let mut funding_seen = 0;
    for d in dates {
        let date: UtcDate = d.parse().unwrap();
        let polled = poller.poll(date).await.unwrap();
        let mut want = tables
            .get(&date)
            .copied()
            .unwrap_or(dolphin_core::ExternalFactors::absent(date));
        if indicators.is_none() {
            want.dvol_btc = None;
            want.fng = None;
        }
        // The poller's funding comes from the exchange's fundingRate endpoint only (served
        // from `funding_dir`), never from the 8-hourly indicator table.
        want.funding_btc = funding_only.get(&date).and_then(|f| f.funding_btc);
        want.taker = None;
        assert_eq!(polled, want, "{d}");
        funding_seen += usize::from(polled.funding_btc.is_some());
    }
    assert!(funding_seen >= 8);
    // A hand-checked value: at 2025-05-05 00:00 the newest settlement is the one stamped
    // 1746403200000 (00:00:00.000 of that day) in the shipped table.
    let f = poller.poll("2025-05-05".parse().unwrap()).await.unwrap();
    let row = csv_rows(&funding_dir.join("BTCUSDT-funding.csv"))
        .into_iter()
        .find(|r| r[0] == "1746403200000")
        .unwrap();
    assert_eq!(f.funding_btc, Some(row[2].parse::<f64>().unwrap()));
}
