//! `dolphin chaos`: the compressed chaos run of the supervised system (issue 14 item 3, the
//! original's TODO-4; docs/CHAOS.md). Starts a real `redis-server` and `dolphin serve` on a
//! replay paced so that the event hours fit in a few wall minutes, injects a seeded plan of
//! faults (Redis killed and restarted with loss of its last second or from an older RDB,
//! serve SIGKILLed and restarted, serve paused), records every fault and recovery in
//! `chaos.json`, prints the fault table and checks the outcome; non-zero exit on failure.

use crate::chaos::checks::{self, Check};
use crate::chaos::exchange_proc::ExchangeProc;
use crate::chaos::inject::{self, FailSafeWatch};
use crate::chaos::ob_faults::ObWatch;
use crate::chaos::plan::{FaultKind, plan};
use crate::chaos::redis_proc::RedisProc;
use crate::chaos::report::{Event, FaultRecord, print_table};
use crate::chaos::serve_proc::ServeProc;
use crate::paths::{repo_path, sample_days};
use anyhow::{Context, bail};
use dolphin_core::UtcDate;
use dolphin_store::{RedisConfig, RedisMemory, SystemMemory};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Event hours to replay (whole days: rounded up to a multiple of 24).
    #[arg(long, default_value_t = 48)]
    hours: u32,
    /// Seed of the fault plan (one seed = one plan).
    #[arg(long)]
    seed: u64,
    /// Number of faults (every kind at least once from 4 on).
    #[arg(long, default_value_t = 8)]
    faults: usize,
    /// Wall seconds the paced replay should take without faults (sets the speed).
    #[arg(long, default_value_t = 420)]
    wall: u64,
    /// Replay speed (event seconds per wall second); overrides --wall.
    #[arg(long)]
    speed: Option<f64>,
    /// Day files to replay. Default: the shipped sample.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// First date replayed. Default: the last whole days of the folder (the shipped sample's
    /// first day starts at 15:33 and has no trade).
    #[arg(long)]
    from: Option<UtcDate>,
    /// Funding tables for the ACB processor. Default: the shipped sample's.
    #[arg(long)]
    funding: Option<PathBuf>,
    /// Indicator tables for the ACB processor.
    #[arg(long)]
    indicators: Option<PathBuf>,
    /// Envelope model for the MC-Forewarner flow (envelope.json from `dolphin mc`).
    #[arg(long)]
    mc: Option<PathBuf>,
    /// Turn the MC flow on with a daily fresh envelope from the last N closed days (24 paths).
    /// Off by default: see docs/CHAOS.md (a 2-day replay's 1-day envelope is RED).
    #[arg(long, default_value_t = 0)]
    mc_refresh_days: u32,
    /// Run directory: chaos.json, serve/ (the serve run), redis/, logs/.
    #[arg(long, default_value = "out/chaos")]
    out: PathBuf,
    /// Websocket faults (alternating `ws_drop`, `feed_stall`) in the local exchange's plan;
    /// 0 = the exchange and serve's OB stream still run, without faults.
    #[arg(long, default_value_t = 2)]
    ob_faults: usize,
    /// Depth captures the local exchange replays. Default: `../shared/data/depth`'s two, else
    /// the shipped 30-second cut (data/sample/ob/depth).
    #[arg(long, value_delimiter = ',')]
    captures: Vec<PathBuf>,
    /// No store outage across a date change (with two days or more the plan has one by
    /// default: Redis down from 10 event minutes before a date change until serve has begun
    /// the new date fail-safe).
    #[arg(long)]
    no_date_change: bool,
    /// Add overlapping faults: serve SIGKILLed while Redis is down (`redis_serve_kill`).
    #[arg(long)]
    overlap: bool,
    /// No local exchange and no OB stream (serve as before the websocket faults).
    #[arg(long, conflicts_with = "ob_faults")]
    no_exchange: bool,
}

enum Phase {
    Waiting,
    Holding { until: Instant },
    Recovering { ended: Instant },
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("own executable")?;
    let data = a.replay.clone().unwrap_or_else(sample_days);
    let files = dolphin_runtime::day_files(&data, a.from, None)?;
    let n_days = a.hours.max(1).div_ceil(24) as usize;
    anyhow::ensure!(
        files.len() >= n_days,
        "{} holds {} day files from the first date; --hours {} needs {n_days}",
        data.display(),
        files.len(),
        a.hours
    );
    let first_file = if a.from.is_some() {
        0
    } else {
        files.len() - n_days
    };
    let dates: Vec<UtcDate> = files[first_file..first_file + n_days]
        .iter()
        .map(|f| f.0)
        .collect();
    let (first, last) = (dates[0], dates[n_days - 1]);
    let span_ms = n_days as i64 * 86_400_000;
    let speed = a
        .speed
        .unwrap_or(span_ms as f64 / 1000.0 / a.wall.max(1) as f64);
    let funding = a
        .funding
        .clone()
        .or_else(|| a.replay.is_none().then(|| repo_path("data/sample/funding")));
    std::fs::create_dir_all(a.out.join("logs"))?;
    // A previous run in the same folder leaves nothing behind that could pass for this one's.
    for f in ["chaos.json", "logs/serve.out"] {
        if a.out.join(f).exists() {
            std::fs::remove_file(a.out.join(f))?;
        }
    }
    let serve_out = a.out.join("serve");
    if serve_out.exists() {
        std::fs::remove_dir_all(&serve_out)?;
    }
    let redis_dir = a.out.join("redis");
    if redis_dir.exists() {
        std::fs::remove_dir_all(&redis_dir)?;
    }
    let mut redis = RedisProc::start(&redis_dir)?;
    let url = redis.url();
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--replay".into(),
        data.display().to_string(),
        "--from".into(),
        first.to_string(),
        "--to".into(),
        last.to_string(),
        "--speed".into(),
        format!("{speed}"),
        "--store".into(),
        url.clone(),
        "--out".into(),
        serve_out.display().to_string(),
    ];
    if let Some(f) = &funding {
        args.extend(["--funding".into(), f.display().to_string()]);
    }
    if let Some(f) = &a.indicators {
        args.extend(["--indicators".into(), f.display().to_string()]);
    }
    if let Some(m) = &a.mc {
        args.extend(["--mc".into(), m.display().to_string()]);
    }
    let mut services_yml = String::new();
    if a.mc_refresh_days > 0 {
        services_yml.push_str(&format!(
            "mc_refresh_days: {}\nmc_refresh_paths: 24\n",
            a.mc_refresh_days
        ));
    }
    if !a.no_exchange {
        // The captures are another market and day than the replay: their depth quality and
        // fill probability say nothing about it; Cat3 reads the book's health only.
        services_yml.push_str("ob_quality: false\n");
    }
    let date_change = !a.no_date_change && n_days >= 2;
    if date_change {
        // The store outage across a date change: each Redis call of serve gives up after
        // 200 ms instead of 2 s, so the trader reaches the date change in well under a minute.
        services_yml.push_str("store_retry_budget_ms: 200\n");
    }
    if !services_yml.is_empty() {
        let path = a.out.join("services.yml");
        std::fs::write(&path, services_yml)?;
        args.extend(["--services-config".into(), path.display().to_string()]);
    }
    let faults = plan(a.seed, a.faults, span_ms, !a.no_date_change, a.overlap);
    println!(
        "DOLPHIN chaos — seed {}, {} faults over {} event hours ({first} .. {last}) at {speed:.0}x, Redis {url}",
        a.seed,
        faults.len(),
        n_days * 24
    );
    let mut mem_cfg = RedisConfig::single(&url);
    mem_cfg.retry_budget = Duration::from_millis(300);
    mem_cfg.connect_timeout = Duration::from_millis(300);
    mem_cfg.response_timeout = Duration::from_millis(500);
    let mem = RedisMemory::connect(mem_cfg).context("driver's store connection")?;
    // The local exchange (docs/LIVE.md §1) with the websocket faults as its own plan; its
    // speed makes the recording outlast the run (1.6 × --wall of wall time).
    let mut exchange_info = serde_json::Value::Null;
    let (mut exchange, ob_plan) = if a.no_exchange {
        (None, Vec::new())
    } else {
        // The store outage across a date change adds up to a minute and a half.
        let coverage_s = a.wall * 16 / 10 + if date_change { 90 } else { 0 };
        let (x, plan, info) =
            ExchangeProc::for_run(&exe, &a.captures, a.seed, a.ob_faults, coverage_s, &a.out)?;
        exchange_info = info;
        args.extend(["--exchange-url".into(), x.url.clone()]);
        (Some(x), plan)
    };
    let mut ob_watch = ObWatch::new(&ob_plan);
    let mut polls = 0u64;
    let mut serve = ServeProc::new(exe.clone(), args, a.out.join("logs/serve.out"));
    let t0 = first.start_ms();
    let started = Instant::now();
    let wall_ms = |at: Instant| at.duration_since(started).as_millis() as u64;
    serve.start()?;

    let bar = ProgressBar::new((span_ms / 1000) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} chaos [{bar:30}] {percent:>3}% event {elapsed_precise} wall {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut records: Vec<FaultRecord> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut next = 0usize;
    let mut phase = Phase::Waiting;
    let mut fail_safe: Option<FailSafeWatch> = None;
    // The RDB fault whose snapshot has been taken (index into `faults`).
    let mut snapshot_for: Option<usize> = None;
    let mut progress: i64 = 0;
    let mut crashes = 0u32;
    let wall_limit = Duration::from_secs(a.wall.max(60) * 3 + 120);
    let serve_ok = loop {
        std::thread::sleep(Duration::from_millis(25));
        let now = Instant::now();
        if now.duration_since(started) > wall_limit {
            events.push(Event {
                wall_ms: wall_ms(now),
                what: format!("wall limit {wall_limit:?} reached: run stopped"),
            });
            break false;
        }
        if let Ok(Some(hb)) = mem.get("DOLPHIN_HEARTBEAT", "trader")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&hb)
            && let Some(ts) = v["ts"].as_f64()
        {
            progress = (ts * 1000.0) as i64 - t0;
            bar.set_position((progress.max(0) / 1000) as u64);
        }
        polls += 1;
        if let Some(x) = exchange.as_ref().filter(|_| polls.is_multiple_of(4)) {
            let health = mem
                .get(
                    dolphin_store::schema::DOLPHIN_FEATURES,
                    dolphin_live::KEY_OB_HEALTH,
                )
                .ok()
                .flatten()
                .and_then(|j| serde_json::from_str::<dolphin_live::ObHealthValue>(&j).ok());
            let active = match phase {
                Phase::Waiting => None,
                // Its whole length and its own bound count against the websocket fault's.
                _ => records.last().map(|r| {
                    (
                        format!("{} {}", r.n, r.kind.name()),
                        r.planned.hold_ms + r.bound_ms,
                    )
                }),
            };
            ob_watch.poll(
                x.offset_ms(),
                health.as_ref(),
                active,
                wall_ms(now),
                &dolphin_services::schedule::iso(t0 + progress),
            );
        }
        if let Some(st) = serve.exited()? {
            if st.success() {
                break true;
            }
            crashes += 1;
            events.push(Event {
                wall_ms: wall_ms(now),
                what: format!("serve exited with {st}; restarted (crash restart {crashes})"),
            });
            bar.set_message(format!("serve exited ({st}), restarting"));
            if crashes > 40 {
                break false;
            }
            std::thread::sleep(Duration::from_millis(500));
            serve.start()?;
            continue;
        }
        // The snapshot of the next RDB fault, `rdb_lead_ms` of event time before it (whatever
        // else is going on; retried while Redis is down).
        if let Some(j) = (next..faults.len()).find(|&j| faults[j].kind == FaultKind::RedisOldRdb)
            && snapshot_for != Some(j)
            && progress >= faults[j].at_event_ms - faults[j].rdb_lead_ms
            && redis.alive()
            && redis.snapshot().is_ok()
        {
            snapshot_for = Some(j);
            events.push(Event {
                wall_ms: wall_ms(now),
                what: format!(
                    "RDB snapshot for fault {} at event {}",
                    j + 1,
                    dolphin_services::schedule::iso(t0 + progress)
                ),
            });
        }
        match phase {
            Phase::Waiting => {
                let Some(f) = faults.get(next) else { continue };
                if progress < f.at_event_ms
                    || (f.kind == FaultKind::RedisOldRdb && snapshot_for != Some(next))
                {
                    continue;
                }
                bar.set_message(format!("fault {}: {}", next + 1, f.kind.name()));
                let detail = inject::inject(f.kind, &mut redis, &mut serve);
                if f.kind == FaultKind::RedisDateChange {
                    fail_safe = Some(FailSafeWatch::new(&serve_out));
                }
                records.push(FaultRecord {
                    n: next + 1,
                    kind: f.kind,
                    planned: f.clone(),
                    injected_at_event: dolphin_services::schedule::iso(t0 + progress),
                    injected_event_ms: progress,
                    injected_wall_ms: wall_ms(now),
                    ended_wall_ms: None,
                    recovered_wall_ms: None,
                    recovery_ms: None,
                    bound_ms: f.kind.bound_ms(),
                    ok: false,
                    detail,
                });
                phase = Phase::Holding {
                    until: now + Duration::from_millis(f.hold_ms),
                };
            }
            Phase::Holding { until } => {
                let rec = records.last_mut().expect("a fault is held");
                if let Some(w) = fail_safe.as_mut() {
                    // Held until serve has begun the new date fail-safe (or the deadline).
                    match w.poll() {
                        Some(date) => rec
                            .detail
                            .push_str(&format!("; serve began {date} fail-safe (HIBERNATE)")),
                        None if now < until => continue,
                        None => rec
                            .detail
                            .push_str("; no fail-safe day seen before the deadline"),
                    }
                    fail_safe = None;
                } else if now < until {
                    continue;
                }
                let res = inject::end(rec.kind, &mut redis, &mut serve);
                match res {
                    Ok(what) => rec.detail.push_str(&format!("; {what}")),
                    Err(e) => rec
                        .detail
                        .push_str(&format!("; ending the fault failed: {e:#}")),
                }
                let ended = Instant::now();
                rec.ended_wall_ms = Some(wall_ms(ended));
                phase = Phase::Recovering { ended };
            }
            Phase::Recovering { ended } => {
                let rec = records.last_mut().expect("a fault is recovering");
                let waited = now.duration_since(ended).as_millis() as u64;
                if progress > rec.injected_event_ms {
                    rec.recovered_wall_ms = Some(wall_ms(now));
                    rec.recovery_ms = Some(waited);
                    rec.ok = waited <= rec.bound_ms
                        && (rec.kind != FaultKind::RedisDateChange
                            || rec.detail.contains("fail-safe (HIBERNATE)"));
                } else if waited > rec.bound_ms * 2 {
                    rec.detail.push_str("; no progress within twice the bound");
                } else {
                    continue;
                }
                bar.set_message(String::new());
                next += 1;
                phase = Phase::Waiting;
            }
        }
    };
    bar.finish_and_clear();
    let wall = started.elapsed();
    for f in faults.iter().skip(records.len()) {
        events.push(Event {
            wall_ms: wall_ms(Instant::now()),
            what: format!("fault {} not reached before the run ended", f.kind.name()),
        });
    }
    let mut verdicts: Vec<Check> = Vec::new();
    verdicts.push(Check {
        name: "serve finished (exit 0)",
        ok: serve_ok,
        detail: format!("{} process starts, {crashes} crash restarts", serve.starts),
    });
    verdicts.push(Check {
        name: "every fault injected and recovered within its bound",
        ok: records.len() == faults.len() && records.iter().all(|r| r.ok),
        detail: format!(
            "{}/{} injected, {} within bound",
            records.len(),
            faults.len(),
            records.iter().filter(|r| r.ok).count()
        ),
    });
    let ob = &ob_watch.records;
    verdicts.push(Check {
        name: "websocket faults recovered within their bound (OB stream's report)",
        ok: ob.iter().all(|r| r.ok),
        detail: format!(
            "{}/{} reached, {} recovered within bound{}",
            ob.iter().filter(|r| r.injected_wall_ms.is_some()).count(),
            ob.len(),
            ob.iter().filter(|r| r.ok).count(),
            if exchange.is_none() {
                " (no exchange)"
            } else {
                ""
            }
        ),
    });
    if let Some(x) = exchange.as_mut()
        && !x.alive()
    {
        events.push(Event {
            wall_ms: wall_ms(Instant::now()),
            what: "dolphin exchange exited before the end of the run (logs/exchange.out)".into(),
        });
    }
    drop(exchange);
    if serve_ok {
        if !redis.alive() {
            redis.restart()?;
        }
        verdicts.extend(checks::run_all(&checks::Inputs {
            exe: &exe,
            serve_out: &serve_out,
            data: &data,
            dates: &dates,
            store: &mem,
        }));
    }
    let pass = verdicts.iter().all(|c| c.ok);
    let report = serde_json::json!({
        "seed": a.seed,
        "hours": n_days * 24,
        "dates": dates.iter().map(UtcDate::to_string).collect::<Vec<_>>(),
        "speed": speed,
        "redis": url,
        "wall_s": wall.as_secs_f64(),
        "pass": pass,
        "faults": records,
        "exchange": exchange_info,
        "ob_faults": ob_watch.records,
        "events": events,
        "checks": verdicts,
    });
    let mut bytes = serde_json::to_vec_pretty(&report)?;
    bytes.push(b'\n');
    dolphin_runtime::report::write_atomic(&a.out.join("chaos.json"), &bytes)?;
    print_table(&records, &ob_watch.records, &verdicts, wall, &a.out);
    if !pass {
        bail!(
            "chaos run failed (seed {}): see {}",
            a.seed,
            a.out.join("chaos.json").display()
        );
    }
    Ok(())
}
