//! `dolphin`: the command line of DOLPHIN.

mod cmd_backtest;
mod cmd_mc;
mod cmd_ob;
mod cmd_paper;
mod cmd_scan;
mod inputs;
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Backtest(a) => cmd_backtest::run(a),
        Command::Scan(a) => cmd_scan::run(a),
        Command::Mc(a) => cmd_mc::run(a),
        Command::Ob(a) => cmd_ob::run(a),
        Command::Paper(a) => cmd_paper::run(a),
    }
}
