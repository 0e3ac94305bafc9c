//! `dolphin paper`: the paper trader on live Binance data inside a NautilusTrader `LiveNode`
//! (Binance USD-M data client, sandbox execution, scanner actor, DolphinActor in live mode).

#[cfg(feature = "nautilus")]
use crate::table::render;
#[cfg(feature = "nautilus")]
use dolphin_runtime::SystemConfig;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (YAML). Default: the champion, configs/blue.yml (embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The asset panel, comma-separated Binance USD-M symbols. Default: the 16 symbols of the
    /// shipped klines.
    #[arg(long, value_delimiter = ',')]
    assets: Vec<String>,
    /// Use the Binance futures testnet for market data.
    #[arg(long)]
    testnet: bool,
    /// Redis URL of the store (default: an embedded in-process store).
    #[arg(long)]
    redis: Option<String>,
    /// Build and validate the node, print what was built, and exit without connecting.
    #[arg(long)]
    dry_run: bool,
    /// Market data from a local Binance USD-M exchange (`dolphin exchange`), e.g.
    /// http://127.0.0.1:8811, instead of Binance.
    #[arg(long)]
    exchange_url: Option<String>,
    /// Stop after this many seconds of wall time (default: run until Ctrl-C).
    #[arg(long)]
    run_for: Option<f64>,
    /// Event-time end of the data, a UTC date (its 00:00) or time `YYYY-MM-DDTHH:MM[:SS]Z`:
    /// the bar before it is the last one; an open position closes with END_OF_DATA, as at a
    /// replay's last row (SPEC §6), and the node stops. For replays of a local exchange.
    #[arg(long, value_parser = parse_end)]
    end: Option<i64>,
    /// Feed the engine's OB layer (OB-1..OB-5) from the store's shard maps
    /// `DOLPHIN_FEATURES_SHARD_00..09`, as `dolphin ob-stream --redis` writes them (needs
    /// `--redis`: the embedded store is private to this process).
    #[arg(long, requires = "redis")]
    ob_from_store: bool,
    /// Write the run's trades.jsonl, days.jsonl and summary.json (the backtest's formats) and
    /// paper.json (scan, order and latency counters) here when the node stops.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bar length in seconds, overriding the config's `bar_seconds` (SPEC D1): 60 = the
    /// exchange's 1-minute klines; 5 (the champion) or any other divisor of a day = bars built
    /// in the node from the trade stream, recorded under `--out`/bars as kline CSVs.
    #[arg(long)]
    bar_seconds: Option<u32>,
}

/// `--end`: `YYYY-MM-DD` (00:00 UTC) or `YYYY-MM-DDTHH:MM[:SS]Z`, as ms since the epoch.
pub(crate) fn parse_end(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}`: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)");
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').ok_or_else(bad)?)),
        None => (s, None),
    };
    let date: dolphin_core::UtcDate = date.parse().map_err(|_| bad())?;
    let mut ms = date.start_ms();
    if let Some(t) = time {
        let parts: Vec<&str> = t.split(':').collect();
        let field = |i: usize, max: i64| -> Result<i64, String> {
            let v: i64 = parts[i].parse().map_err(|_| bad())?;
            if parts[i].len() == 2 && (0..max).contains(&v) {
                Ok(v)
            } else {
                Err(bad())
            }
        };
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        ms += field(0, 24)? * 3_600_000 + field(1, 60)? * 60_000;
        if parts.len() == 3 {
            ms += field(2, 60)? * 1000;
        }
    }
    Ok(ms)
}

/// The 16 symbols of `data/sample/klines-1m` (data/README.md).
#[cfg(feature = "nautilus")]
pub const DEFAULT_PANEL: [&str; 16] = [
    "ADAUSDT",
    "AVAXUSDT",
    "BCHUSDT",
    "BNBUSDT",
    "BTCUSDT",
    "ENAUSDT",
    "ETCUSDT",
    "ETHUSDT",
    "LAYERUSDT",
    "LINKUSDT",
    "LTCUSDT",
    "SOLUSDT",
    "SUIUSDT",
    "XLMUSDT",
    "XMRUSDT",
    "XRPUSDT",
];

#[cfg(feature = "nautilus")]
pub fn run(a: Args) -> anyhow::Result<()> {
    use dolphin_nautilus::{PaperEnvironment, PaperOptions, build_paper_node, run_paper_node};
    let system = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let assets = if a.assets.is_empty() {
        DEFAULT_PANEL.iter().map(|s| s.to_string()).collect()
    } else {
        a.assets.clone()
    };
    let mut system = system;
    if let Some(b) = a.bar_seconds {
        anyhow::ensure!(
            b > 0 && 86_400 % b == 0,
            "--bar-seconds {b}: must divide a day (1, 5, 60, 300, ...)"
        );
        system.bar_seconds = b;
    }
    let mut opts = PaperOptions::new(system, assets);
    if opts.bar_seconds() != 60 {
        opts.record_bars = a.out.as_ref().map(|o| o.join("bars"));
    }
    if a.dry_run {
        opts.log_level = log::LevelFilter::Warn;
    }
    if a.testnet {
        opts.environment = PaperEnvironment::Testnet;
    }
    opts.exchange_url = a.exchange_url.clone();
    if let Some(s) = a.run_for {
        anyhow::ensure!(
            s > 0.0 && s.is_finite(),
            "--run-for must be a positive number of seconds"
        );
        opts.run_for = Some(std::time::Duration::from_secs_f64(s));
    }
    opts.end_ms = a.end;
    let store_label = match &a.redis {
        Some(url) => {
            let url = url.clone();
            opts.store = std::sync::Arc::new(move || {
                let cfg = dolphin_store::RedisConfig::single(&url);
                dolphin_store::RedisMemory::connect(cfg).map(|m| {
                    std::sync::Arc::new(m) as std::sync::Arc<dyn dolphin_store::SystemMemory>
                })
            });
            format!("redis {}", a.redis.as_deref().unwrap_or_default())
        }
        None => "embedded".to_string(),
    };
    let ob_label = if a.ob_from_store {
        // One connection for the provider: it follows the shards through the store's listeners.
        let memory = (opts.store)().map_err(|e| anyhow::anyhow!("--ob-from-store: {e}"))?;
        let ob = dolphin_live::StoreObProvider::connect(
            memory,
            dolphin_orderbook::provider::DEFAULT_STALENESS_MS,
            60 * 60 * 1000,
            dolphin_orderbook::MarketMultiplier::default(),
        )?;
        let label = format!("store shard maps ({} symbols so far)", ob.symbols().len());
        opts.providers = opts.providers.clone().with_ob(ob);
        label
    } else {
        "none".to_string()
    };
    let mut paper = build_paper_node(&opts)?;
    let r = &paper.report;
    let rows = [
        (
            "mode",
            if a.dry_run {
                "dry run (not connected)"
            } else {
                "paper"
            }
            .to_string(),
        ),
        ("config", opts.system.name.clone()),
        ("champion hash", r.champion_hash.clone()),
        ("trader", r.trader_id.clone()),
        (
            "market data",
            format!("Binance USD-M futures, {}", r.environment),
        ),
        ("data clients", r.data_clients.join(", ")),
        (
            "execution clients",
            format!("{} (sandbox)", r.exec_clients.join(", ")),
        ),
        ("starting balance", r.starting_balance.clone()),
        ("actors", r.actors.join(", ")),
        ("strategies", r.strategies.join(", ")),
        ("panel", format!("{} assets", opts.assets.len())),
        (
            "bars",
            if opts.bar_seconds() == 60 {
                "1-minute klines from the exchange".to_string()
            } else {
                format!("{} s, built from the trade stream", opts.bar_seconds())
            },
        ),
        ("driver bar", r.driver.clone()),
        ("store", store_label),
        ("OB provider", ob_label),
    ];
    print!("{}", render("DOLPHIN paper node", &rows));
    if a.dry_run {
        return Ok(());
    }
    run_paper_node(&mut paper, opts.run_for)?;
    let log = paper.log.borrow().clone();
    let report = crate::paper_out::PaperOutcome::of(&log, opts.system.engine.initial_capital);
    print!("{}", report.table());
    if let Some(out) = &a.out {
        report.write(out, &log)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

#[cfg(not(feature = "nautilus"))]
#[allow(dead_code)] // the flags are parsed but unused without Nautilus
pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "this dolphin was built without the `nautilus` feature (off by default); rebuild with \
         `cargo run --release -p dolphin --features nautilus -- paper ...`"
    )
}

#[cfg(test)]
mod tests {
    use super::parse_end;

    #[test]
    fn end_is_a_date_or_a_utc_time() {
        assert_eq!(parse_end("2025-05-06"), Ok(1_746_489_600_000));
        assert_eq!(parse_end("2024-08-08T23:59:30Z"), Ok(1_723_161_570_000));
        assert_eq!(parse_end("2024-08-08T23:59Z"), Ok(1_723_161_540_000));
        for bad in [
            "2024-08-08T23:59:30",
            "2024-08-08T24:00Z",
            "2024-08-08T1:00Z",
            "x",
        ] {
            let e = parse_end(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
