//! `dolphin sweep`: grid or seeded random search over engine / ACB / exit parameters, on all
//! cores or through Redis workers, with walk-forward folds and overfitting guards
//! (issue 17; `docs/RESEARCH.md`).

use crate::table::render;
use anyhow::Context;
use dolphin_research::folds::FoldMode;
use dolphin_research::queue::{Keys, collect, connect, publish};
use dolphin_research::sweep::{SweepState, finish, ranked_table, run_local};
use dolphin_research::{ResearchData, SweepSpec};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The sweep spec (YAML): base config, parameters, search, metric (see docs/RESEARCH.md).
    #[arg(long)]
    spec: PathBuf,
    /// Folder of day files. Default: the shipped sample.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder: results.parquet, report.json, heatmaps/, best/. Re-running resumes.
    #[arg(long, default_value = "out/sweep")]
    out: PathBuf,
    /// Walk-forward folds (overrides the spec; 0 = none).
    #[arg(long)]
    folds: Option<usize>,
    /// anchored (growing training window) or rolling (one block).
    #[arg(long)]
    fold_mode: Option<FoldMode>,
    /// Seed of a random search (overrides the spec).
    #[arg(long)]
    seed: Option<u64>,
    /// ACB indicator tables (overrides the spec's `indicators`).
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Per-symbol funding tables (overrides the spec's `funding`).
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Publish the jobs to Redis Streams at URL for `dolphin worker` processes and collect
    /// their results instead of running locally.
    #[arg(long)]
    redis: Option<String>,
    /// With --redis: give up after this many seconds without a new result.
    #[arg(long, default_value_t = 600)]
    wait_secs: u64,
    /// Worker threads for a local run (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Rows of the ranked table printed.
    #[arg(long, default_value_t = 10)]
    show: usize,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    let spec = SweepSpec::load(&a.spec)?;
    let (plan, skipped) = spec.plan_with_skipped(a.seed)?;
    if let Some(first) = skipped.first() {
        eprintln!(
            "warning: {} parameter combination(s) left out as invalid (first: {first})",
            skipped.len()
        );
    }
    let data_dir = a.data.clone().unwrap_or_else(crate::paths::sample_days);
    let indicators = a
        .indicators
        .clone()
        .or_else(|| spec.indicators.as_ref().map(|p| spec.resolve(p)));
    let funding = a
        .funding
        .clone()
        .or_else(|| spec.funding.as_ref().map(|p| spec.resolve(p)));
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("thread pool")?;
    }
    let data = ResearchData::load(&data_dir, indicators.as_deref(), funding.as_deref())?;
    let loaded = started.elapsed();
    let mut state = SweepState::open(&a.out, &spec, &data)?;
    let todo = state.todo(&plan);
    let n_todo = todo.len();
    let bar = ProgressBar::new(n_todo as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} sweep [{bar:30}] {pos}/{len} configs {per_sec} ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let run_started = Instant::now();
    let records = match &a.redis {
        None => {
            let b = bar.clone();
            run_local(&data, &todo, &move || b.inc(1))?
        }
        Some(url) => {
            let mut con = connect(url)?;
            let keys = Keys::for_data(&data.fingerprint);
            let published = publish(&mut con, &keys, &todo)?;
            bar.set_message(format!("{published} job(s) published to {}", keys.jobs));
            let b = bar.clone();
            collect(
                &mut con,
                &keys,
                &todo,
                Duration::from_secs(a.wait_secs),
                &mut |n| b.set_position(n as u64),
            )?
        }
    };
    let run_secs = run_started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    state.add(records);
    let folds = a.folds.unwrap_or(spec.folds);
    let mode = a.fold_mode.unwrap_or(spec.fold_mode);
    let report = finish(&state, &spec, &plan, &data, folds, mode)?;
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);

    println!("DOLPHIN sweep {} — ranked by {}", spec.name, spec.metric);
    print!("{}", ranked_table(&report, a.show));
    if let Some(wf) = &report.walk_forward {
        println!(
            "\nwalk-forward ({:?}, chosen by {} on the training days):",
            wf.mode, wf.score
        );
        println!(
            "{:>4}  {:>23}  {:>23}  {:>6}  {:>16}  {:>12}  {:>10}  {:>12}",
            "fold", "train", "test", "trial", "hash", "test sharpe", "test roi %", "base sharpe"
        );
        for f in &wf.folds {
            println!(
                "{:>4}  {:>23}  {:>23}  {:>6}  {:>16}  {:>12.2}  {:>10.2}  {:>12}",
                f.k,
                f.train,
                f.test,
                f.chosen_trial,
                f.chosen_hash,
                f.test_sharpe,
                f.test_roi * 100.0,
                f.base_test_sharpe.map_or("-".into(), |s| format!("{s:.2}"))
            );
        }
    }
    let f2 = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    let mut rows = vec![
        (
            "data",
            format!(
                "{} ({} days, {} .. {}, fingerprint {})",
                data.dir.display(),
                report.days,
                report.first_day,
                report.last_day,
                report.fingerprint
            ),
        ),
        (
            "configurations",
            format!(
                "{} ({} run now, {} from earlier results, {} invalid left out)",
                plan.len(),
                n_todo,
                plan.len() - n_todo,
                skipped.len()
            ),
        ),
        ("bars per config", data.bars().to_string()),
    ];
    if let Some(wf) = &report.walk_forward {
        rows.push((
            "walk-forward OOS",
            format!(
                "{} days: Sharpe {}, ROI {:+.2}% (base: Sharpe {}, ROI {})",
                wf.oos_days,
                f2(wf.oos_sharpe),
                wf.oos_roi * 100.0,
                f2(wf.base_oos_sharpe),
                wf.base_oos_roi
                    .map_or("n/a".into(), |r| format!("{:+.2}%", r * 100.0))
            ),
        ));
    }
    if let Some(d) = &report.deflated_sharpe {
        rows.push((
            "deflated Sharpe (best)",
            format!(
                "DSR {:.3} (PSR(0) {:.3}; SR {:.4}/day vs SR0 {:.4} over {} trials)",
                d.dsr, d.psr0, d.sharpe, d.expected_max_sharpe, d.trials
            ),
        ));
    }
    if let Some(p) = &report.pbo {
        rows.push((
            "PBO (CSCV)",
            format!(
                "{:.3} ({} blocks, {} combinations, median logit {:.3})",
                p.pbo, p.blocks, p.combinations, p.median_logit
            ),
        ));
    }
    rows.push(("load time", format!("{:.2} s", loaded.as_secs_f64())));
    rows.push(("run time", format!("{run_secs:.2} s for {n_todo} configs")));
    if n_todo > 0 && run_secs > 0.0 {
        rows.push((
            "throughput",
            format!(
                "{:.0} configs/min ({:.1} M bars/s)",
                n_todo as f64 / run_secs * 60.0,
                n_todo as f64 * data.bars() as f64 / run_secs / 1e6
            ),
        ));
    }
    if let Some(c) = cpu {
        rows.push(("CPU time (process)", format!("{c:.2} s")));
    }
    rows.push(("load average", load_average()));
    rows.push(("outputs", a.out.display().to_string()));
    print!("{}", render("summary", &rows));
    Ok(())
}

/// User + system CPU seconds of this process (Linux `/proc/self/stat`).
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}
