//! `dolphin`: the command line of DOLPHIN.

mod chaos;
mod cmd_api;
mod cmd_backtest;
mod cmd_chaos;
mod cmd_check;
mod cmd_exchange;
mod cmd_mc;
mod cmd_ob;
mod cmd_ob_stream;
mod cmd_paper;
mod cmd_report;
mod cmd_scan;
mod cmd_serve;
mod cmd_sweep;
mod cmd_top;
mod cmd_worker;
mod inputs;
mod ob_task;
#[cfg(feature = "nautilus")]
mod paper_out;
mod paths;
#[cfg(feature = "nautilus")]
mod serve_live;
mod signals;
mod table;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dolphin",
    version,
    about = "DOLPHIN: short-biased systematic trading on Binance USDT perpetuals"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay day files through the engine and write summary, trades, days and an equity plot.
    Backtest(cmd_backtest::Args),
    /// Turn Binance kline CSVs into day files with the eigenvalue scanner.
    Scan(cmd_scan::Args),
    /// Monte-Carlo envelope of the engine (MC-Forewarner): envelope.json, paths.jsonl, mc_hist.png.
    Mc(cmd_mc::Args),
    /// Raw Binance depth capture -> local order books -> OB feature table (parquet).
    Ob(cmd_ob::Args),
    /// The OB stream service as a daemon: depth websocket -> local books -> OB features every
    /// 500 ms -> the store's shard maps (SIGINT/SIGTERM stop it cleanly).
    ObStream(cmd_ob_stream::Args),
    /// Paper trading on live Binance data in a NautilusTrader LiveNode (`--dry-run` builds and
    /// validates it without connecting).
    Paper(cmd_paper::Args),
    /// HTML tear sheet of a backtest or serve output folder (self-contained, no network).
    Report(cmd_report::Args),
    /// HTTP API, live dashboard and Prometheus /metrics over a run folder (and its store).
    Api(cmd_api::Args),
    /// Terminal UI over the API: capital, posture, ACB, MC, position, trades, heartbeats.
    Top(cmd_top::Args),
    /// The supervised system: ACB processor, watchdog, MC flow and the trader on one
    /// event-time clock (`--replay DIR` or `--live`; `--dry-run` prints the plan).
    Serve(cmd_serve::Args),
    /// A local Binance USD-M exchange on 127.0.0.1 replaying captures and klines (REST +
    /// websocket streams) with fault injection, for tests and demos.
    Exchange(cmd_exchange::Args),
    /// Parameter sweep (grid / seeded random) with walk-forward folds, deflated Sharpe and PBO.
    Sweep(cmd_sweep::Args),
    /// Chaos run: serve on a paced replay with a real Redis while a seeded plan of faults
    /// kills and restarts Redis and serve and pauses serve; checks that nothing was lost.
    Chaos(cmd_chaos::Args),
    /// Sweep worker: takes jobs from Redis Streams and stores results by config hash.
    Worker(cmd_worker::Args),
    /// Checks: `check lookahead` truncates the data at random bars and compares every value.
    Check(cmd_check::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Backtest(a) => cmd_backtest::run(a),
        Command::Scan(a) => cmd_scan::run(a),
        Command::Mc(a) => cmd_mc::run(a),
        Command::Ob(a) => cmd_ob::run(a),
        Command::ObStream(a) => cmd_ob_stream::run(a),
        Command::Paper(a) => cmd_paper::run(a),
        Command::Report(a) => cmd_report::run(a),
        Command::Api(a) => cmd_api::run(a),
        Command::Top(a) => cmd_top::run(a),
        Command::Serve(a) => cmd_serve::run(a),
        Command::Exchange(a) => cmd_exchange::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::Worker(a) => cmd_worker::run(a),
        Command::Check(a) => cmd_check::run(a),
        Command::Chaos(a) => cmd_chaos::run(a),
    }
}
