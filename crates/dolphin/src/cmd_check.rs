//! `dolphin check lookahead`: replays with the data cut after many random bars and proves that
//! nothing recorded at a bar changes when later bars are removed (issue 17 item 3).

use crate::table::render;
use dolphin_research::causal_acb::ThresholdMode;
use dolphin_research::lookahead::{LookaheadOptions, LookaheadReport, Source, check, project_scan};
use dolphin_research::replay::load_settlements;
use dolphin_research::trial::TrialConfig;
use dolphin_runtime::SystemConfig;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Look-ahead check: truncate the data at random bars and compare every recorded value.
    Lookahead(LookaheadArgs),
}

/// Which ACB threshold the check runs with.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcbMode {
    /// The causal expanding-window threshold (what live trading can know): must pass.
    Causal,
    /// SPEC §3's threshold over all loaded dates (the champion backtest): must pass too.
    AllDates,
    /// Causal must pass; the all-dates threshold is run and reported as a known look-ahead.
    Both,
    /// No ACB.
    Off,
}

#[derive(clap::Args)]
pub struct LookaheadArgs {
    /// Folder of day files. Default: the shipped sample.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Kline folder: re-scan the truncated klines (checks the scanner too) instead of reading
    /// the day files.
    #[arg(long)]
    klines: Option<PathBuf>,
    /// Configuration (YAML). Default: the champion.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Truncation points.
    #[arg(long, default_value_t = 40)]
    cuts: usize,
    /// Seed of the truncation points.
    #[arg(long, default_value_t = 17)]
    seed: u64,
    /// IRP rankings are compared on this many bars before each truncation point.
    #[arg(long, default_value_t = 32)]
    irp_window: u64,
    #[arg(long, value_enum, default_value_t = AcbMode::Both)]
    acb: AcbMode,
    /// ACB indicator tables.
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Per-symbol funding tables.
    #[arg(long)]
    funding: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.what {
        What::Lookahead(l) => lookahead(l),
    }
}

fn lookahead(a: LookaheadArgs) -> anyhow::Result<()> {
    let cfg = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let factors =
        dolphin_data::load_external_factors(a.indicators.as_deref(), a.funding.as_deref())?;
    let settlements = load_settlements(a.indicators.as_deref(), a.funding.as_deref())?;
    let frames;
    let panel;
    let (source, label) = match &a.klines {
        Some(k) => {
            panel = dolphin_data::load_kline_dir(k, None, None)?;
            (
                Source::Klines {
                    panel: &panel,
                    scan: &project_scan,
                },
                format!("klines {} (re-scanned at every cut)", k.display()),
            )
        }
        None => {
            let dir = a.data.clone().unwrap_or_else(crate::paths::sample_days);
            let files = dolphin_runtime::day_files(&dir, None, None)?;
            frames = files
                .iter()
                .map(|(_, p)| dolphin_data::read_day_file(p))
                .collect::<Result<Vec<_>, _>>()?;
            (
                Source::Days(&frames),
                format!("day files {}", dir.display()),
            )
        }
    };
    let opts = LookaheadOptions {
        cuts: a.cuts,
        seed: a.seed,
        irp_window: a.irp_window,
    };
    let modes: Vec<(ThresholdMode, bool, bool)> = match a.acb {
        AcbMode::Causal => vec![(ThresholdMode::Expanding, true, true)],
        AcbMode::AllDates => vec![(ThresholdMode::AllDates, true, true)],
        AcbMode::Both => vec![
            (ThresholdMode::Expanding, true, true),
            (ThresholdMode::AllDates, true, false),
        ],
        AcbMode::Off => vec![(ThresholdMode::AllDates, false, true)],
    };
    let mut failed = Vec::new();
    for (mode, acb_on, must_pass) in modes {
        let mut trial = TrialConfig::from_system(&cfg);
        trial.acb.enabled = acb_on;
        trial.acb.threshold = mode;
        let name = if !acb_on {
            "ACB off".to_string()
        } else {
            match mode {
                ThresholdMode::Expanding => "ACB causal (expanding w750 threshold)".into(),
                ThresholdMode::AllDates => "ACB SPEC §3 (w750 threshold over all dates)".into(),
            }
        };
        let bar = ProgressBar::new(opts.cuts as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} lookahead [{bar:30}] {pos}/{len} cuts {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(name.clone());
        let r = check(&source, &factors, &settlements, &trial, &opts, &mut |i| {
            bar.set_position(i as u64)
        })?;
        bar.finish_and_clear();
        print_report(&name, &label, &r, must_pass);
        if !r.passed() && must_pass {
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("look-ahead found with {}", failed.join(", "));
    }
    Ok(())
}

fn print_report(name: &str, label: &str, r: &LookaheadReport, must_pass: bool) {
    let verdict = match (r.passed(), must_pass) {
        (true, _) => "PASS: no value at any bar changed when later bars were removed".to_string(),
        (false, true) => format!("FAIL: look-ahead at {} truncation point(s)", r.failing_cuts),
        (false, false) => format!(
            "KNOWN LOOK-AHEAD (SPEC §3 threshold; the champion backtest keeps it): {} of {} truncation points differ",
            r.failing_cuts,
            r.cuts.len()
        ),
    };
    let rows = vec![
        ("data", label.to_string()),
        ("bars", r.bars.to_string()),
        ("truncation points", r.cuts.len().to_string()),
        ("values compared", r.values_compared.to_string()),
        ("IRP rankings compared", r.irp_rankings_compared.to_string()),
        ("trades (full data)", r.trades_full.to_string()),
        ("result", verdict),
    ];
    print!(
        "{}",
        render(&format!("DOLPHIN look-ahead check — {name}"), &rows)
    );
    for v in &r.violations {
        println!("  {v}");
    }
}
