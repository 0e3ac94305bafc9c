//! Injecting and ending one serve/Redis fault of the plan (docs/CHAOS.md "Faults"), and for
//! the store outage across a date change, watching serve's log for the fail-safe day.

use crate::chaos::plan::FaultKind;
use crate::chaos::redis_proc::RedisProc;
use crate::chaos::serve_proc::ServeProc;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Does what `kind` does; the text for `chaos.json`.
pub fn inject(kind: FaultKind, redis: &mut RedisProc, serve: &mut ServeProc) -> String {
    match kind {
        FaultKind::RedisKill | FaultKind::RedisOldRdb | FaultKind::RedisDateChange => {
            redis.kill();
            "redis-server SIGKILLed".to_string()
        }
        FaultKind::ServeKill => {
            let pid = serve.pid();
            serve.kill();
            format!("serve pid {pid:?} SIGKILLed")
        }
        FaultKind::ServePause => match serve.signal("STOP") {
            Ok(()) => format!("serve pid {:?} SIGSTOPped", serve.pid()),
            Err(e) => format!("SIGSTOP failed: {e}"),
        },
        FaultKind::RedisAndServeKill => {
            redis.kill();
            let pid = serve.pid();
            serve.kill();
            format!("redis-server SIGKILLed, then serve pid {pid:?} SIGKILLed")
        }
    }
}

/// Ends the fault (restart, start again, SIGCONT).
pub fn end(
    kind: FaultKind,
    redis: &mut RedisProc,
    serve: &mut ServeProc,
) -> anyhow::Result<&'static str> {
    match kind {
        FaultKind::RedisKill | FaultKind::RedisDateChange => {
            redis.restart().map(|_| "restarted on its AOF")
        }
        FaultKind::RedisOldRdb => redis
            .restart_from_snapshot()
            .map(|_| "restarted from the older RDB snapshot"),
        FaultKind::ServeKill => serve.start().map(|_| "serve started again"),
        FaultKind::ServePause => serve.signal("CONT").map(|_| "SIGCONT"),
        FaultKind::RedisAndServeKill => serve
            .start()
            .and_then(|()| redis.restart())
            .map(|_| "serve started again, then Redis on its AOF"),
    }
}

/// Follows serve's JSON log (`OUT/serve/logs/serve.jsonl`, written line by line) from where it
/// is now, for the trader's fail-safe line ("posture unreadable: HIBERNATE for the day").
pub struct FailSafeWatch {
    path: PathBuf,
    from: u64,
    tail: String,
}

impl FailSafeWatch {
    pub fn new(serve_out: &Path) -> Self {
        let path = serve_out.join("logs/serve.jsonl");
        let from = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            from,
            tail: String::new(),
        }
    }

    /// The date of the fail-safe day once serve has logged it.
    pub fn poll(&mut self) -> Option<String> {
        let mut f = std::fs::File::open(&self.path).ok()?;
        let len = f.metadata().ok()?.len();
        if len < self.from {
            // A restarted serve truncated its log.
            self.from = 0;
        }
        f.seek(SeekFrom::Start(self.from)).ok()?;
        let mut buf = String::new();
        f.read_to_string(&mut buf).ok()?;
        self.from += buf.len() as u64;
        self.tail.push_str(&buf);
        let mut found = None;
        for line in self.tail.lines() {
            if line.contains("posture unreadable")
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            {
                found = v["fields"]["date"].as_str().map(str::to_string);
            }
        }
        // Keep only an unfinished last line.
        let keep = self.tail.rfind('\n').map_or(0, |i| i + 1);
        self.tail.drain(..keep);
        found
    }
}
