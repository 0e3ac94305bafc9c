//! Sweep workers on several machines through Redis Streams (issue 17 item 4) — an existing
//! engine, not a home-made one:
//!
//! * jobs: stream `dolphin:research:jobs:{data}` (`{data}` = the data fingerprint, so a
//!   worker only ever sees jobs for the day files it has), consumer group `workers`; one entry
//!   per configuration with fields `hash`, `trial`, `config` (the trial tree as JSON);
//! * results: hash `dolphin:research:results:{data}`, field = config hash, value = the
//!   [`TrialRecord`] as JSON, written with `HSETNX` — a result is idempotent by config hash
//!   (a replay is deterministic, so a job done twice writes the same value once);
//! * `dolphin:research:runs:{data}`: executions per config hash (`HINCRBY`), for diagnosis.
//!
//! Delivery is at-least-once: a worker `XACK`s a job only after its result is stored; a job
//! left pending by a dead worker is taken over with `XAUTOCLAIM` once it has been idle for
//! `claim_idle_ms`. The sweep publishes the configurations whose results are missing and
//! collects the results hash until every one is there.

use crate::error::ResearchError;
use crate::replay::{ResearchData, TrialRecord, run_trial};
use crate::spec::PlannedTrial;
use crate::trial::TrialConfig;
use redis::{Connection, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The consumer group of the workers.
pub const GROUP: &str = "workers";

/// Key names for one data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub jobs: String,
    pub results: String,
    pub runs: String,
}

impl Keys {
    pub fn for_data(fingerprint: &str) -> Self {
        Self {
            jobs: format!("dolphin:research:jobs:{fingerprint}"),
            results: format!("dolphin:research:results:{fingerprint}"),
            runs: format!("dolphin:research:runs:{fingerprint}"),
        }
    }
}

/// Connects to `url` (`redis://host:port[/db]`).
pub fn connect(url: &str) -> Result<Connection, ResearchError> {
    let client =
        redis::Client::open(url).map_err(|e| ResearchError::Redis(format!("{url}: {e}")))?;
    client
        .get_connection()
        .map_err(|e| ResearchError::Redis(format!("cannot connect to {url}: {e}")))
}

/// Creates the stream and the group if they do not exist.
pub fn ensure_group(con: &mut Connection, keys: &Keys) -> Result<(), ResearchError> {
    let r: Result<Value, _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.jobs)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query(con);
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Which of `hashes` already have a result.
pub fn have_results(
    con: &mut Connection,
    keys: &Keys,
    hashes: &[&str],
) -> Result<Vec<Option<String>>, ResearchError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(hashes.len());
    for chunk in hashes.chunks(500) {
        let v: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&keys.results)
            .arg(chunk)
            .query(con)?;
        out.extend(v);
    }
    Ok(out)
}

/// Publishes the trials whose results are missing; returns how many were published.
pub fn publish(
    con: &mut Connection,
    keys: &Keys,
    todo: &[&PlannedTrial],
) -> Result<usize, ResearchError> {
    ensure_group(con, keys)?;
    let hashes: Vec<&str> = todo.iter().map(|t| t.hash.as_str()).collect();
    let have = have_results(con, keys, &hashes)?;
    let mut pipe = redis::pipe();
    let mut n = 0;
    for (t, h) in todo.iter().zip(have) {
        if h.is_some() {
            continue;
        }
        pipe.cmd("XADD")
            .arg(&keys.jobs)
            .arg("*")
            .arg("hash")
            .arg(&t.hash)
            .arg("trial")
            .arg(t.index)
            .arg("config")
            .arg(t.config.canonical_json())
            .ignore();
        n += 1;
    }
    pipe.query::<()>(con)?;
    Ok(n)
}

/// Collects the results of `todo` from the results hash, waiting until all are present.
/// `tick(done)` reports progress. Fails after `timeout` without any new result.
pub fn collect(
    con: &mut Connection,
    keys: &Keys,
    todo: &[&PlannedTrial],
    timeout: Duration,
    tick: &mut dyn FnMut(usize),
) -> Result<Vec<TrialRecord>, ResearchError> {
    let hashes: Vec<&str> = todo.iter().map(|t| t.hash.as_str()).collect();
    let mut got: BTreeMap<String, TrialRecord> = BTreeMap::new();
    let mut last_new = Instant::now();
    while got.len() < todo.len() {
        let missing: Vec<&str> = hashes
            .iter()
            .copied()
            .filter(|h| !got.contains_key(*h))
            .collect();
        let vals = have_results(con, keys, &missing)?;
        let before = got.len();
        for (h, v) in missing.iter().zip(vals) {
            if let Some(json) = v {
                let r: TrialRecord = serde_json::from_str(&json).map_err(|e| {
                    ResearchError::Redis(format!("result {h} in {}: {e}", keys.results))
                })?;
                got.insert(h.to_string(), r);
            }
        }
        if got.len() > before {
            last_new = Instant::now();
            tick(got.len());
        } else if last_new.elapsed() > timeout {
            return Err(ResearchError::Redis(format!(
                "no new result for {} s ({} of {} collected); are workers running (`dolphin worker --redis …`)?",
                timeout.as_secs(),
                got.len(),
                todo.len()
            )));
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(todo
        .iter()
        .map(|t| {
            let mut r = got.remove(&t.hash).expect("collected");
            r.trial = t.index;
            r
        })
        .collect())
}

/// Options of a worker.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub consumer: String,
    /// A pending job idle this long is taken over from its (dead) worker.
    pub claim_idle_ms: u64,
    /// Stop after this many jobs (`None`: never).
    pub max_jobs: Option<u64>,
    /// Stop after this long without a job (`None`: never).
    pub exit_when_idle_ms: Option<u64>,
    /// Hold each job this long before storing its result (tests of failure recovery).
    pub hold_ms: u64,
}

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub jobs: u64,
    pub computed: u64,
    pub already_done: u64,
    pub reclaimed: u64,
}

/// A job read from the stream.
#[derive(Debug, Clone)]
struct Job {
    id: String,
    fields: BTreeMap<String, String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn entries(v: &Value) -> Vec<Job> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let Value::Array(pair) = e else { return None };
            let id = text(pair.first()?)?;
            let Value::Array(kv) = pair.get(1)? else {
                return None;
            };
            let fields = kv
                .chunks(2)
                .filter_map(|c| Some((text(c.first()?)?, text(c.get(1)?)?)))
                .collect();
            Some(Job { id, fields })
        })
        .collect()
}

fn next_job(
    con: &mut Connection,
    keys: &Keys,
    o: &WorkerOptions,
) -> Result<Option<(Job, bool)>, ResearchError> {
    // Jobs of dead workers first.
    let v: Value = redis::cmd("XAUTOCLAIM")
        .arg(&keys.jobs)
        .arg(GROUP)
        .arg(&o.consumer)
        .arg(o.claim_idle_ms)
        .arg("0-0")
        .arg("COUNT")
        .arg(1)
        .query(con)?;
    if let Value::Array(parts) = &v
        && let Some(job) = parts.get(1).map(entries).and_then(|mut e| e.pop())
    {
        return Ok(Some((job, true)));
    }
    let v: Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg(&o.consumer)
        .arg("COUNT")
        .arg(1)
        .arg("BLOCK")
        .arg(500)
        .arg("STREAMS")
        .arg(&keys.jobs)
        .arg(">")
        .query(con)?;
    // RESP2: [[stream, [entries]]]; RESP3 may give a map.
    let streams: Vec<Value> = match v {
        Value::Array(s) => s,
        Value::Map(m) => m
            .into_iter()
            .map(|(k, v)| Value::Array(vec![k, v]))
            .collect(),
        _ => Vec::new(),
    };
    for s in &streams {
        if let Value::Array(sv) = s
            && let Some(job) = sv.get(1).map(entries).and_then(|mut e| e.pop())
        {
            return Ok(Some((job, false)));
        }
    }
    Ok(None)
}

/// Runs a worker on `data` until a stop condition of `o` (or forever).
pub fn run_worker(
    url: &str,
    data: &ResearchData,
    o: &WorkerOptions,
    on_job: &mut dyn FnMut(&str, bool),
) -> Result<WorkerStats, ResearchError> {
    let keys = Keys::for_data(&data.fingerprint);
    let mut con = connect(url)?;
    ensure_group(&mut con, &keys)?;
    let mut stats = WorkerStats::default();
    let mut idle_since = Instant::now();
    loop {
        if o.max_jobs.is_some_and(|m| stats.jobs >= m) {
            return Ok(stats);
        }
        let Some((job, reclaimed)) = next_job(&mut con, &keys, o)? else {
            if o.exit_when_idle_ms
                .is_some_and(|ms| idle_since.elapsed() >= Duration::from_millis(ms))
            {
                return Ok(stats);
            }
            continue;
        };
        let field = |k: &str| {
            job.fields
                .get(k)
                .cloned()
                .ok_or_else(|| ResearchError::Redis(format!("job {} has no `{k}` field", job.id)))
        };
        let hash = field("hash")?;
        let trial: u64 = field("trial")?
            .parse()
            .map_err(|e| ResearchError::Redis(format!("job {}: trial: {e}", job.id)))?;
        let config: TrialConfig = serde_json::from_str(&field("config")?)
            .map_err(|e| ResearchError::Redis(format!("job {}: config: {e}", job.id)))?;
        if config.hash() != hash {
            return Err(ResearchError::Redis(format!(
                "job {}: config hash {} does not match its config ({}); a different dolphin version published it?",
                job.id,
                hash,
                config.hash()
            )));
        }
        let exists: bool = redis::cmd("HEXISTS")
            .arg(&keys.results)
            .arg(&hash)
            .query(&mut con)?;
        if exists {
            stats.already_done += 1;
        } else {
            let record = run_trial(data, trial, &config)?;
            if o.hold_ms > 0 {
                std::thread::sleep(Duration::from_millis(o.hold_ms));
            }
            let json = serde_json::to_string(&record)
                .map_err(|e| ResearchError::Redis(format!("result {hash}: {e}")))?;
            redis::pipe()
                .cmd("HSETNX")
                .arg(&keys.results)
                .arg(&hash)
                .arg(json)
                .ignore()
                .cmd("HINCRBY")
                .arg(&keys.runs)
                .arg(&hash)
                .arg(1)
                .ignore()
                .query::<()>(&mut con)?;
            stats.computed += 1;
        }
        redis::pipe()
            .cmd("XACK")
            .arg(&keys.jobs)
            .arg(GROUP)
            .arg(&job.id)
            .ignore()
            .cmd("XDEL")
            .arg(&keys.jobs)
            .arg(&job.id)
            .ignore()
            .query::<()>(&mut con)?;
        stats.jobs += 1;
        if reclaimed {
            stats.reclaimed += 1;
        }
        on_job(&hash, reclaimed);
        idle_since = Instant::now();
    }
}
