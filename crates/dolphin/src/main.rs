//! `dolphin`: the command line of DOLPHIN.

mod cmd_backtest;
mod cmd_check;
mod cmd_mc;
mod cmd_ob;
mod cmd_paper;
mod cmd_scan;
mod cmd_sweep;
mod cmd_worker;
mod paths;
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
    /// Paper trading on live Binance data in a NautilusTrader LiveNode (`--dry-run` builds and
    /// validates it without connecting).
    Paper(cmd_paper::Args),
    /// Parameter sweep (grid / seeded random) with walk-forward folds, deflated Sharpe and PBO.
    Sweep(cmd_sweep::Args),
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
        Command::Paper(a) => cmd_paper::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::Worker(a) => cmd_worker::run(a),
        Command::Check(a) => cmd_check::run(a),
    }
}
