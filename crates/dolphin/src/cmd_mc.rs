//! `dolphin mc`: the MC-Forewarner's Monte Carlo (SPEC §3 "MC-Forewarner", B §12, §16.4) —
//! block-bootstrapped day sequences × perturbed configs through the engine, in parallel;
//! writes `envelope.json` (the model), `paths.jsonl` and `mc_hist.png`.

use crate::paths::sample_days;
use crate::table::{pct, render};
use anyhow::Context;
use dolphin_core::{DayFrame, Posture, UtcDate};
use dolphin_data::read_day_file;
use dolphin_risk::{
    BootstrapKind, DolphinForewarner, EnvelopeModel, McConfig, Perturbation, simulate_on_threads,
};
use dolphin_runtime::{SystemConfig, day_files, mc_plot::plot_mc_histograms};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder of day files (YYYY-MM-DD.parquet). Default: the shipped sample.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Engine configuration file (YAML). Default: the champion, configs/blue.yml (embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Number of Monte-Carlo paths.
    #[arg(long, default_value_t = 1000)]
    paths: usize,
    /// Output folder for envelope.json, paths.jsonl, mc_hist.png.
    #[arg(long, default_value = "out/mc")]
    out: PathBuf,
    /// Seed of the run (path i draws from SplitMix64 seeded by (seed, i)).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Block length in days (mean length for the stationary bootstrap).
    #[arg(long, default_value_t = 3)]
    block_len: usize,
    /// Bootstrap: moving (circular moving blocks) or stationary.
    #[arg(long, default_value = "moving", value_parser = parse_bootstrap)]
    bootstrap: BootstrapKind,
    /// Days per path. Default: the number of loaded days.
    #[arg(long)]
    horizon_days: Option<usize>,
    /// Catastrophe limit on a path's max drawdown (fraction).
    #[arg(long, default_value_t = 0.30)]
    dd_limit: f64,
    /// Relative sigma of max_leverage (and likewise the next four).
    #[arg(long, default_value_t = Perturbation::default().max_leverage)]
    sigma_max_leverage: f64,
    #[arg(long, default_value_t = Perturbation::default().fraction)]
    sigma_fraction: f64,
    #[arg(long, default_value_t = Perturbation::default().fixed_tp_pct)]
    sigma_fixed_tp_pct: f64,
    #[arg(long, default_value_t = Perturbation::default().vel_div_threshold)]
    sigma_vel_div_threshold: f64,
    #[arg(long, default_value_t = Perturbation::default().max_hold_bars)]
    sigma_max_hold_bars: f64,
    /// Surrogate kernel bandwidth in units of the sigmas.
    #[arg(long, default_value_t = 1.0)]
    bandwidth: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// First date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    from: Option<UtcDate>,
    /// Last date (inclusive), YYYY-MM-DD.
    #[arg(long)]
    to: Option<UtcDate>,
    /// Skip mc_hist.png.
    #[arg(long)]
    no_plot: bool,
}

/// Whether the day has at least one valid price of `asset`.
fn has_reference_prices(f: &DayFrame, asset: &str) -> bool {
    f.asset_index(asset)
        .is_some_and(|a| (0..f.len()).any(|r| dolphin_core::is_valid_price(f.row_prices(r)[a])))
}

fn parse_bootstrap(s: &str) -> Result<BootstrapKind, String> {
    match s {
        "moving" => Ok(BootstrapKind::Moving),
        "stationary" => Ok(BootstrapKind::Stationary),
        _ => Err(format!("`{s}`: expected `moving` or `stationary`")),
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = match &a.config {
        Some(p) => SystemConfig::load(p)?,
        None => SystemConfig::blue(),
    };
    let base = cfg.engine.clone();
    let mc = McConfig {
        paths: a.paths,
        block_len: a.block_len,
        bootstrap: a.bootstrap,
        horizon_days: a.horizon_days,
        dd_limit: a.dd_limit,
        perturbation: Perturbation {
            max_leverage: a.sigma_max_leverage,
            fraction: a.sigma_fraction,
            fixed_tp_pct: a.sigma_fixed_tp_pct,
            vel_div_threshold: a.sigma_vel_div_threshold,
            max_hold_bars: a.sigma_max_hold_bars,
        },
        seed: a.seed,
        vary_fill_seed: true,
        bandwidth: a.bandwidth,
    };
    mc.validate()?;
    let data = a.data.clone().unwrap_or_else(sample_days);
    let files = day_files(&data, a.from, a.to)?;

    // Load every day once. Days the engine cannot trade with the volatility filter on (no
    // valid price of its reference asset: the gate never opens) are skipped with a note.
    let load_started = Instant::now();
    let mut frames: Vec<DayFrame> = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    let mut warnings = dolphin_core::InputWarnings::new();
    let mut missing = dolphin_data::MissingValues::default();
    for (date, path) in &files {
        let f = read_day_file(path)?;
        // The day-file input rule (docs/INPUTS.md): a file without rows is an error.
        let checked = dolphin_data::check_day_frame(path, &f)?;
        warnings.append(checked.warnings);
        missing.add(&checked.missing);
        if base.use_vol_filter && !has_reference_prices(&f, &base.vol_reference_asset) {
            skipped.push(format!("{date} (no {} prices)", base.vol_reference_asset));
        } else {
            frames.push(f);
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "note: skipped {} day(s): {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    anyhow::ensure!(
        !frames.is_empty(),
        "no usable day files in {}",
        data.display()
    );
    let load_elapsed = load_started.elapsed();
    let bars: usize = frames.iter().map(DayFrame::len).sum();

    let bar = ProgressBar::new(mc.paths as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} mc [{bar:30}] {pos}/{len} paths {per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let sim_started = Instant::now();
    let progress = |done: usize| bar.set_position(done as u64);
    let (run, threads) = simulate_on_threads(&frames, &base, &mc, a.threads, &progress)?;
    bar.finish_and_clear();
    let sim_elapsed = sim_started.elapsed();

    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let model = EnvelopeModel::from_run(&run);
    model.save(&a.out.join("envelope.json"))?;
    let jl = a.out.join("paths.jsonl");
    dolphin_runtime::report::write_atomic(&jl, &dolphin_runtime::report::jsonl(&run.paths))
        .with_context(|| format!("writing {}", jl.display()))?;
    let s = &model.summary;
    if !a.no_plot {
        let roi: Vec<f64> = run.paths.iter().map(|p| p.final_roi).collect();
        let dd: Vec<f64> = run.paths.iter().map(|p| p.max_drawdown).collect();
        let title = format!(
            "DOLPHIN MC-Forewarner: {} paths x {} days ({}), seed {}",
            run.paths.len(),
            run.horizon_days,
            cfg.name,
            mc.seed
        );
        plot_mc_histograms(&a.out.join("mc_hist.png"), &roi, &dd, mc.dd_limit, &title)
            .map_err(|e| anyhow::anyhow!("mc_hist.png: {e}"))?;
    }

    let fw = DolphinForewarner::new(model.clone())?;
    let base_assessment = fw.assess_detail(&base);
    let decision = fw.decide(&base, Posture::Apex);
    let dist = |d: &dolphin_risk::Distribution| {
        format!(
            "{} / {} / {} / {} / {}",
            pct(Some(d.p5)),
            pct(Some(d.p25)),
            pct(Some(d.p50)),
            pct(Some(d.p75)),
            pct(Some(d.p95))
        )
    };
    let rows = [
        ("config", cfg.name.clone()),
        ("data", data.display().to_string()),
        (
            "days loaded",
            format!(
                "{} ({} .. {}), {} bars",
                frames.len(),
                frames[0].date,
                frames[frames.len() - 1].date,
                bars
            ),
        ),
        (
            "paths x horizon",
            format!(
                "{} x {} days, {:?} blocks of {}",
                run.paths.len(),
                run.horizon_days,
                mc.bootstrap,
                mc.block_len
            ),
        ),
        ("ROI P5/P25/P50/P75/P95", dist(&s.final_roi)),
        (
            "ROI mean / std",
            format!(
                "{} / {}",
                pct(Some(s.final_roi.mean)),
                pct(Some(s.final_roi.std))
            ),
        ),
        ("max DD P5/P25/P50/P75/P95", dist(&s.max_drawdown)),
        ("mean trades per path", format!("{:.1}", s.mean_trades)),
        (
            "catastrophic_probability (all)",
            format!(
                "{:.4} (DD > {})",
                s.catastrophic_probability,
                pct(Some(mc.dd_limit))
            ),
        ),
        ("envelope_score (all)", format!("{:.4}", s.envelope_score)),
        (
            "base config: cat. prob / envelope",
            format!(
                "{:.4} / {:.4}",
                base_assessment.report.catastrophic_probability,
                base_assessment.report.envelope_score
            ),
        ),
        (
            "base config: effective paths",
            format!("{:.1}", base_assessment.effective_paths),
        ),
        (
            "base config: status",
            format!(
                "{} (day_mc_scale {}, halt {})",
                decision.status.as_str(),
                decision.day_mc_scale,
                decision.regime_dd_halt
            ),
        ),
        ("threads", threads.to_string()),
        (
            "elapsed (load / simulate / total)",
            format!(
                "{:.2} s / {:.2} s / {:.2} s",
                load_elapsed.as_secs_f64(),
                sim_elapsed.as_secs_f64(),
                started.elapsed().as_secs_f64()
            ),
        ),
        crate::inputs::missing_row(&missing),
        crate::inputs::table_row(&warnings),
        ("outputs", a.out.display().to_string()),
    ];
    let mut run_info = serde_json::json!({
        "command": "mc",
        "config": cfg.name,
        "data": data.display().to_string(),
        "files": files.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>(),
        "skipped": skipped,
    });
    crate::inputs::add_to_run_json(&mut run_info, &warnings, Some(&missing));
    crate::inputs::write_run_json(&a.out.join("run.json"), &run_info)?;
    crate::inputs::print_warnings(&warnings);
    print!("{}", render("DOLPHIN MC-Forewarner", &rows));
    Ok(())
}
