//! `dolphin worker`: takes sweep jobs from Redis Streams (consumer group, XAUTOCLAIM of jobs
//! left by dead workers) and stores their results by config hash (issue 17 item 4).

use dolphin_research::ResearchData;
use dolphin_research::queue::{WorkerOptions, run_worker};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Redis URL, e.g. redis://127.0.0.1:6379.
    #[arg(long)]
    redis: String,
    /// Folder of day files — the same files the sweep used (checked by fingerprint).
    #[arg(long)]
    data: Option<PathBuf>,
    /// ACB indicator tables (as given to the sweep).
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Per-symbol funding tables (as given to the sweep).
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Consumer name in the group (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Take over a pending job after it has been idle this long (its worker is presumed dead).
    #[arg(long, default_value_t = 60_000)]
    claim_idle_ms: u64,
    /// Stop after this many jobs.
    #[arg(long)]
    max_jobs: Option<u64>,
    /// Stop after this long without a job.
    #[arg(long)]
    exit_when_idle_ms: Option<u64>,
    /// Hold each job this long before storing its result (failure-recovery tests).
    #[arg(long, default_value_t = 0, hide = true)]
    hold_ms: u64,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let dir = a.data.clone().unwrap_or_else(crate::paths::sample_days);
    let data = ResearchData::load(&dir, a.indicators.as_deref(), a.funding.as_deref())?;
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "host".into());
    let consumer = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", host.trim(), std::process::id()));
    eprintln!(
        "worker {consumer}: {} days from {} (fingerprint {}), waiting for jobs on {}",
        data.frames.len(),
        dir.display(),
        data.fingerprint,
        a.redis
    );
    let opts = WorkerOptions {
        consumer: consumer.clone(),
        claim_idle_ms: a.claim_idle_ms,
        max_jobs: a.max_jobs,
        exit_when_idle_ms: a.exit_when_idle_ms,
        hold_ms: a.hold_ms,
    };
    let stats = run_worker(&a.redis, &data, &opts, &mut |hash, reclaimed| {
        if reclaimed {
            eprintln!("worker {consumer}: took over job {hash} from a dead worker");
        }
    })?;
    eprintln!(
        "worker {consumer}: {} job(s), {} computed, {} already done, {} taken over",
        stats.jobs, stats.computed, stats.already_done, stats.reclaimed
    );
    Ok(())
}
