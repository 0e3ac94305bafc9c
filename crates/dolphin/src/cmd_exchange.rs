//! `dolphin exchange`: a local Binance USD-M futures exchange on 127.0.0.1 replaying recorded
//! depth captures and kline files over the real REST and websocket protocol, with fault
//! injection (issue 12 item 1; docs/LIVE.md).

use std::path::PathBuf;

use dolphin_core::UtcDate;
use dolphin_exchange::{ExchangeConfig, ExchangeData};

use crate::table::render;

#[derive(clap::Args)]
pub struct Args {
    /// Depth capture files (`<local_ts_ns> <json>` lines, gzip or plain), one symbol each.
    #[arg(long, value_delimiter = ',')]
    captures: Vec<PathBuf>,
    /// Directory of 1-minute kline files `SYMBOL-1m.csv.gz`.
    #[arg(long)]
    klines: Option<PathBuf>,
    /// Directory of funding files `SYMBOL-funding.csv` (premium index, fundingRate).
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Only these symbols of the kline and funding directories.
    #[arg(long, value_delimiter = ',')]
    symbols: Vec<String>,
    /// First UTC date of klines to replay (YYYY-MM-DD).
    #[arg(long)]
    from: Option<UtcDate>,
    /// Last UTC date of klines to replay (inclusive).
    #[arg(long)]
    to: Option<UtcDate>,
    /// Replay speed: event-time ms per wall ms (1 = real time; 0 = as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Listen address (default loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Fault plan, e.g. `disconnect@60,gap@90:BTCUSDT,stall@120+10,rest-429=2,rest-slow=200`.
    #[arg(long, default_value = "")]
    faults: String,
    /// Start the replay at once instead of at the first websocket subscription.
    #[arg(long)]
    no_wait: bool,
    /// Start the replay once this many distinct streams have a subscriber (e.g. the panel's
    /// kline streams), not at the first one.
    #[arg(long, default_value_t = 1)]
    wait_streams: usize,
    /// Event-time silences longer than this many seconds are skipped on the wall clock.
    #[arg(long, default_value_t = 300)]
    max_silence: i64,
    /// Websocket broadcast buffer, messages: a client further behind is disconnected (Binance
    /// drops slow consumers). Raise it for `--speed 0` replays to a client that processes
    /// every message (e.g. `dolphin ob-stream`).
    #[arg(long, default_value_t = 65_536)]
    buffer: usize,
    /// Exit when the replay has finished (otherwise keep serving until Ctrl-C).
    #[arg(long)]
    exit_at_end: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let data = ExchangeData {
        captures: a.captures.clone(),
        klines: a.klines.clone(),
        funding: a.funding.clone(),
        symbols: a.symbols.clone(),
        from_ms: a.from.map(|d| d.start_ms()),
        to_ms: a.to.map(|d| d.succ().start_ms()),
    };
    let timeline = data.load()?;
    let cfg = ExchangeConfig {
        listen: std::net::SocketAddr::new(a.host, a.port),
        speed: if a.speed > 0.0 {
            a.speed
        } else {
            f64::INFINITY
        },
        start_immediately: a.no_wait,
        wait_streams: a.wait_streams,
        max_silence_ms: a.max_silence.max(0) * 1000,
        faults: a.faults.clone(),
        buffer: a.buffer,
        ..ExchangeConfig::default()
    };
    let symbols = timeline.symbols();
    let events = timeline.events.len();
    let span = match (timeline.events.first(), timeline.events.last()) {
        (Some(f), Some(l)) => format!("{} .. {} ms", f.0, l.0),
        _ => "empty".into(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let h = dolphin_exchange::start(cfg, timeline).await?;
        let rows = [
            ("REST", h.http_url()),
            ("websocket", format!("{}/stream?streams=...", h.ws_url())),
            ("symbols", symbols.join(",")),
            ("events", events.to_string()),
            ("event time", span),
            (
                "speed",
                if a.speed > 0.0 {
                    format!("{}x", a.speed)
                } else {
                    "max".into()
                },
            ),
            (
                "faults",
                if a.faults.is_empty() {
                    "none".into()
                } else {
                    a.faults.clone()
                },
            ),
            (
                "start",
                if a.no_wait { "now" } else { "at first subscription" }.into(),
            ),
        ];
        print!("{}", render("DOLPHIN local exchange (Binance USD-M)", &rows));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                h.wait_finished().await;
                if !a.exit_at_end {
                    std::future::pending::<()>().await;
                }
            } => {}
        }
        let st = &h.shared.stats;
        use std::sync::atomic::Ordering::Relaxed;
        eprintln!(
            "exchange: {} messages sent, {} connections, {} REST requests ({} refused), {} skipped updates, {} disconnects",
            st.sent.load(Relaxed),
            st.connections.load(Relaxed),
            st.rest_requests.load(Relaxed),
            st.rest_rejected.load(Relaxed),
            st.skipped_updates.load(Relaxed),
            st.disconnects.load(Relaxed)
        );
        h.stop().await;
        anyhow::Ok(())
    })
}
