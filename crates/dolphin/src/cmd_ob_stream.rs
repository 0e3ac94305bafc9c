//! `dolphin ob-stream`: the OB stream service (B §16.2; issue 12; docs/LIVE.md §2) as a daemon —
//! Binance USD-M depth websocket → local books → OB features every 500 ms → the shard maps
//! `DOLPHIN_FEATURES_SHARD_00..09` of the store, with book health for the watchdog. Logs with
//! `tracing` on stderr (`RUST_LOG`, default `info`); SIGINT or SIGTERM (or `--run-for`) stop it
//! cleanly: the connection is closed, the final book health is written and printed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use dolphin_live::{ObHealthValue, ObStreamConfig, StatusCell, run_ob_stream_with_status};
use dolphin_store::{EmbeddedMemory, RedisConfig, RedisMemory, SHARD_MAPS, SystemMemory};
use tokio_util::sync::CancellationToken;

use crate::table::render;

#[derive(clap::Args)]
pub struct Args {
    /// REST base URL of the exchange, e.g. the local exchange `http://127.0.0.1:PORT`
    /// (default: the service config's, Binance `https://fapi.binance.com`).
    #[arg(long)]
    exchange_url: Option<String>,
    /// Websocket base URL (default: `--exchange-url` with `ws://` / `wss://`; for Binance
    /// `wss://fstream.binance.com`).
    #[arg(long)]
    ws_url: Option<String>,
    /// Where the features go: `embedded` (in this process; for tests and demos) or a Redis
    /// URL `redis://HOST:PORT`.
    #[arg(long, default_value = "embedded")]
    store: String,
    /// Symbols (upper case); default: the service config's, else every trading perpetual of
    /// the exchange's `exchangeInfo`.
    #[arg(long, value_delimiter = ',')]
    symbols: Vec<String>,
    /// Service settings (YAML of `ObStreamConfig`: depth_stream, trade_stream, stale_after_ms,
    /// backoff, …); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Depth stream suffix (`depth@100ms` as documented by Binance; `depth@0ms` = as recorded).
    #[arg(long)]
    depth_stream: Option<String>,
    /// Trade stream suffix (`aggTrade` or `trade`).
    #[arg(long)]
    trade_stream: Option<String>,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    run_for: Option<f64>,
}

/// The OB stream settings of `path` (YAML of `ObStreamConfig`), else the defaults.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<ObStreamConfig> {
    let Some(p) = path else {
        return Ok(ObStreamConfig::default());
    };
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_norway::from_str::<ObStreamConfig>(&text)
        .with_context(|| format!("{}: not an OB stream config", p.display()))
}

/// Builds the service settings from the flags (and the config file).
fn service_config(a: &Args) -> anyhow::Result<ObStreamConfig> {
    let mut cfg = load_config(a.config.as_deref())?;
    if let Some(u) = &a.exchange_url {
        cfg.rest_url = u.trim_end_matches('/').to_string();
        cfg.ws_url = match a.ws_url.clone() {
            Some(w) => w,
            None => ws_of(&cfg.rest_url)?,
        };
    } else if let Some(w) = &a.ws_url {
        cfg.ws_url = w.clone();
    }
    if !a.symbols.is_empty() {
        cfg.symbols = a.symbols.iter().map(|s| s.trim().to_uppercase()).collect();
    }
    if let Some(d) = &a.depth_stream {
        cfg.depth_stream = d.clone();
    }
    if let Some(t) = &a.trade_stream {
        cfg.trade_stream = t.clone();
    }
    Ok(cfg)
}

/// `http://h:p` → `ws://h:p`, `https://…` → `wss://…`.
pub(crate) fn ws_of(rest: &str) -> anyhow::Result<String> {
    if let Some(r) = rest.strip_prefix("http://") {
        Ok(format!("ws://{r}"))
    } else if let Some(r) = rest.strip_prefix("https://") {
        Ok(format!("wss://{r}"))
    } else {
        bail!("--exchange-url {rest:?}: expected http://… or https://…")
    }
}

/// Trading perpetuals listed by the exchange's `exchangeInfo`.
pub(crate) async fn listed_symbols(rest: &str) -> anyhow::Result<Vec<String>> {
    let url = format!("{rest}/fapi/v1/exchangeInfo");
    let body: serde_json::Value = reqwest::get(&url)
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))?;
    let syms: Vec<String> = body["symbols"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| {
                    s["contractType"] == "PERPETUAL"
                        && s["status"] == "TRADING"
                        && s["quoteAsset"] == "USDT"
                })
                .filter_map(|s| s["symbol"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(syms)
}

fn open_store(spec: &str) -> anyhow::Result<Arc<dyn SystemMemory>> {
    if spec == "embedded" {
        return Ok(Arc::new(EmbeddedMemory::new()));
    }
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        let mem = RedisMemory::connect(RedisConfig::single(spec))
            .with_context(|| format!("cannot reach the store at {spec}"))?;
        return Ok(Arc::new(mem));
    }
    bail!("--store {spec:?}: expected `embedded` or redis://HOST:PORT")
}

fn summary(cfg: &ObStreamConfig, store: &str, h: &ObHealthValue, written: usize) -> String {
    let rows = [
        ("exchange", cfg.rest_url.clone()),
        ("streams", cfg.stream_url()),
        ("store", store.to_string()),
        ("messages", h.messages.to_string()),
        ("feature dicts written", h.published.to_string()),
        ("symbols in the shard maps", written.to_string()),
        (
            "books synced",
            format!("{} of {}", h.books_synced, h.books_total),
        ),
        ("gaps", h.gaps.to_string()),
        ("resyncs", h.resyncs.to_string()),
        ("reconnects", h.reconnects.to_string()),
        ("bad messages", h.bad_messages.to_string()),
        ("dropped updates", h.dropped_updates.to_string()),
        ("stale samples", h.stale_samples.to_string()),
        ("REST errors", h.rest_errors.to_string()),
        (
            "bookTicker checked / mismatches",
            format!("{} / {}", h.ticker_checked, h.ticker_mismatches),
        ),
        ("last event time", h.ts.to_string()),
    ];
    render("DOLPHIN OB stream", &rows)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let mut cfg = service_config(&a)?;
    // Connect to Redis before the runtime exists (its client blocks).
    let memory = open_store(&a.store)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let health = rt.block_on(async {
        if cfg.symbols.is_empty() {
            cfg.symbols = listed_symbols(&cfg.rest_url).await?;
            if cfg.symbols.is_empty() {
                bail!("no symbols: give --symbols (the exchange lists no trading perpetual)");
            }
        }
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("OB stream config: {e}"))?;
        tracing::info!(
            rest = %cfg.rest_url,
            ws = %cfg.ws_url,
            symbols = cfg.symbols.len(),
            store = %a.store,
            "ob-stream: starting"
        );
        let token = CancellationToken::new();
        let status = StatusCell::default();
        let mut task = tokio::spawn(run_ob_stream_with_status(
            cfg.clone(),
            memory.clone(),
            token.clone(),
            status,
        ));
        let run_for = a.run_for.map(|s| Duration::from_secs_f64(s.max(0.0)));
        let why = tokio::select! {
            s = crate::signals::wait_for_signal() => s,
            _ = async {
                match run_for {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
            } => "--run-for elapsed",
            r = &mut task => {
                // The service ends on its own only on a configuration error.
                return r.context("OB stream task")?.context("OB stream service");
            }
        };
        tracing::info!("ob-stream: {why}; shutting down");
        token.cancel();
        match tokio::time::timeout(Duration::from_secs(10), &mut task).await {
            Ok(r) => r.context("OB stream task")?.context("OB stream service"),
            Err(_) => {
                task.abort();
                bail!("the OB stream service did not stop within 10 s")
            }
        }
    })?;
    if let Err(e) = memory.flush_pending() {
        tracing::warn!("ob-stream: deferred writes not flushed: {e}");
    }
    let written: usize = SHARD_MAPS
        .iter()
        .map(|m| memory.key_set(m).map_or(0, |s| s.len()))
        .sum();
    print!("{}", summary(&cfg, &a.store, &health, written));
    tracing::info!("ob-stream: stopped");
    Ok(())
}
