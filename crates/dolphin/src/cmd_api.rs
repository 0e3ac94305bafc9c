//! `dolphin api`: the observability server on its own, watching a run folder (and the store)
//! that another process — `dolphin serve`, or a finished backtest — writes.

use anyhow::Context;
use dolphin_api::dolphin_store::{RedisConfig, RedisMemory, SystemMemory};
use dolphin_api::{ApiConfig, Auth, default_token_file, token};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Options shared by `dolphin api` and `dolphin serve --api`.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// Address to serve on. Non-loopback addresses need the token (no `--no-auth`).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,
    /// Bearer-token file; created (mode 0600) with a fresh token if absent.
    /// Default: ~/.config/dolphin/api.token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Serve without a token (refused unless the address is loopback).
    #[arg(long)]
    pub no_auth: bool,
    /// How often to re-read the run folder and the store, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
}

#[derive(clap::Args)]
pub struct Args {
    /// The run folder to watch (`dolphin serve --out` / `dolphin backtest --out`).
    #[arg(long)]
    out: PathBuf,
    /// The store that serve writes: `redis://HOST:PORT`, or `embedded` / `none` for the run
    /// folder's files only (an embedded store lives inside the serve process; watch it with
    /// `dolphin serve --api`).
    #[arg(long, default_value = "embedded")]
    store: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// Builds the API config: token (created on first start, never printed), store, address.
pub fn config(
    server: &ServerArgs,
    run_dir: PathBuf,
    store: Option<Arc<dyn SystemMemory>>,
) -> anyhow::Result<(ApiConfig, Option<PathBuf>)> {
    let (auth, token_file) = if server.no_auth {
        (Auth::Disabled, None)
    } else {
        let f = server.token_file.clone().unwrap_or_else(default_token_file);
        let t = token::load_or_create(&f)?;
        (Auth::Token(t), Some(f))
    };
    Ok((
        ApiConfig {
            run_dir,
            store,
            bind: server.bind,
            auth,
            poll: Duration::from_millis(server.poll_ms.max(10)),
        },
        token_file,
    ))
}

/// Prints where the server listens and where its token is (never the token itself).
pub fn announce(addr: SocketAddr, token_file: Option<&PathBuf>) {
    println!("dolphin api listening on http://{addr}");
    match token_file {
        Some(f) => println!(
            "dashboard: http://{addr}/#token=<the token in {}>; API: Authorization: Bearer <token>",
            f.display()
        ),
        None => println!("dashboard: http://{addr}/ (no authentication, loopback only)"),
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let store: Option<Arc<dyn SystemMemory>> = match a.store.as_str() {
        "embedded" | "none" => None,
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let mem = RedisMemory::connect(RedisConfig::single(url))
                .with_context(|| format!("cannot reach the store at {url}"))?;
            Some(Arc::new(mem))
        }
        other => {
            anyhow::bail!("--store must be embedded, none or redis://HOST:PORT, not `{other}`")
        }
    };
    let (cfg, token_file) = config(&a.server, a.out.clone(), store)?;
    // One thread serves (answers come from a pre-serialized snapshot); file reads go to the
    // blocking pool. A second worker only added wake-ups (docs/OBSERVABILITY.md §2).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let handle = dolphin_api::spawn(cfg)?;
        announce(handle.addr, token_file.as_ref());
        shutdown_signal().await;
        eprintln!("dolphin api: stopping");
        handle.shutdown().await;
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Starts the API inside another command (`dolphin serve --api ADDR`) on its own thread,
/// watching `run_dir` and the command's own store (so an embedded store is visible too).
/// Stops when the returned value is dropped.
pub fn start_in_process(
    server: &ServerArgs,
    run_dir: PathBuf,
    store: Option<Arc<dyn SystemMemory>>,
) -> anyhow::Result<dolphin_api::ApiThread> {
    let (cfg, token_file) = config(server, run_dir, store)?;
    let t = dolphin_api::ApiThread::start(cfg)?;
    announce(t.addr, token_file.as_ref());
    Ok(t)
}
